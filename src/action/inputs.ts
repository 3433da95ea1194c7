/**
 * What the Action gets from the runner: inputs as INPUT_* variables (the
 * runner keeps an input's hyphens and upper-cases it) and the GITHUB_*
 * environment. A bad value is reported in one line that names the input and
 * what it accepts, never as a stack trace.
 */
import { readFileSync } from 'node:fs';

/** A misconfigured step: the message is the whole report. */
export class InputError extends Error {}

const FAIL_ON = ['error', 'warning', 'never'] as const;
const FAIL_ON_RISK = ['high', 'medium', 'never'] as const;
const BOOLEAN = ['true', 'false'] as const;

export type FailOn = (typeof FAIL_ON)[number];
export type FailOnRisk = (typeof FAIL_ON_RISK)[number];

export interface ActionInputs {
  /** Files or folders of Joch records relative to the workspace; undefined: joch.yaml's paths, else the records found. */
  readonly path?: string | undefined;
  readonly workspace: string;
  /** Commit to compare against: the input, else the pull request's base. */
  readonly base?: string | undefined;
  readonly failOn: FailOn;
  /** Escalations at or above this severity fail the step. */
  readonly failOnRisk: FailOnRisk;
  /** A base commit that cannot be read fails the step (the review would otherwise be silently incomplete). */
  readonly failOnMissingBase: boolean;
  /** Post (or update) one review comment on the pull request. */
  readonly comment: boolean;
  readonly sarifFile: string;
  readonly token?: string | undefined;
  readonly repository?: string | undefined;
  readonly pullRequest?: number | undefined;
  /** The commit reviewed: the pull request's head, else GITHUB_SHA. */
  readonly headSha?: string | undefined;
  /** Whether the pull request comes from a fork (its token cannot write comments). */
  readonly fromFork: boolean;
  readonly apiUrl: string;
  readonly serverUrl: string;
  /** Link to this run, for the comment's "full summary" note. */
  readonly runUrl?: string | undefined;
  /** docs/codes.md of the action's own repository at its ref, for the SARIF rules' helpUri. */
  readonly helpUrl?: string | undefined;
  readonly summaryFile?: string | undefined;
  readonly outputFile?: string | undefined;
}

interface PullRequestEvent {
  readonly pull_request?: {
    readonly number?: number;
    readonly base?: { readonly sha?: string; readonly repo?: { readonly full_name?: string } };
    readonly head?: { readonly sha?: string; readonly repo?: { readonly full_name?: string } };
  };
}

type Env = Readonly<Record<string, string | undefined>>;

/** The runner passes an unset input as an empty string. */
function input(env: Env, name: string): string | undefined {
  const v = env[`INPUT_${name.toUpperCase()}`]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = input(env, name);
  if (v === undefined) return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new InputError(`input ${name}: "${v}" is not allowed; use one of ${allowed.join(', ')}`);
}

function flag(env: Env, name: string): boolean | undefined {
  const v = input(env, name);
  return v === undefined ? undefined : oneOf(env, name, BOOLEAN, 'false') === 'true';
}

function url(env: Env, name: string, fallback: string): string {
  const v = env[name] || fallback;
  if (!/^https?:\/\/[^\s]+$/.test(v)) throw new InputError(`${name}: "${v}" is not an http(s) URL`);
  return v.replace(/\/$/, '');
}

export function readInputs(env: Env): ActionInputs {
  const workspace = env.GITHUB_WORKSPACE;
  if (!workspace) throw new InputError('GITHUB_WORKSPACE is not set: run joch as a step of a GitHub Actions job, after actions/checkout');
  const repository = env.GITHUB_REPOSITORY || undefined;
  if (repository !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(repository)) throw new InputError(`GITHUB_REPOSITORY: "${repository}" is not owner/name`);
  const failOn = oneOf(env, 'fail-on', FAIL_ON, 'error');
  const failOnRisk = oneOf(env, 'fail-on-risk', FAIL_ON_RISK, 'never');
  const failOnMissingBase = flag(env, 'fail-on-missing-base') ?? true;
  const comment = flag(env, 'comment');
  const pr = readEvent(env.GITHUB_EVENT_PATH).pull_request;
  const serverUrl = url(env, 'GITHUB_SERVER_URL', 'https://github.com');
  const headRepo = pr?.head?.repo?.full_name;
  return {
    path: input(env, 'path'),
    workspace,
    base: input(env, 'base') ?? pr?.base?.sha,
    failOn,
    failOnRisk,
    failOnMissingBase,
    comment: comment ?? pr !== undefined,
    sarifFile: input(env, 'sarif-file') ?? 'joch.sarif',
    token: input(env, 'github-token'),
    repository,
    pullRequest: pr?.number,
    headSha: pr?.head?.sha ?? (env.GITHUB_SHA || undefined),
    fromFork: headRepo !== undefined && repository !== undefined && headRepo !== repository,
    apiUrl: url(env, 'GITHUB_API_URL', 'https://api.github.com'),
    serverUrl,
    runUrl: repository && env.GITHUB_RUN_ID ? `${serverUrl}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
    helpUrl: env.GITHUB_ACTION_REPOSITORY && env.GITHUB_ACTION_REF ? `${serverUrl}/${env.GITHUB_ACTION_REPOSITORY}/blob/${env.GITHUB_ACTION_REF}/docs/codes.md` : undefined,
    summaryFile: env.GITHUB_STEP_SUMMARY || undefined,
    outputFile: env.GITHUB_OUTPUT || undefined,
  };
}

function readEvent(file: string | undefined): PullRequestEvent {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError(`GITHUB_EVENT_PATH: cannot read ${file}`);
  }
  try {
    return JSON.parse(text) as PullRequestEvent;
  } catch {
    throw new InputError(`GITHUB_EVENT_PATH: ${file} is not JSON`);
  }
}
