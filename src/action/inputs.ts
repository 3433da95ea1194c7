/**
 * What the Action gets from the runner: inputs as INPUT_* variables and the
 * GITHUB_* environment, checked with zod so a misconfigured workflow fails
 * with a message instead of a stack trace.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const Bool = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s === '' ? undefined : /^(true|yes|1|on)$/i.test(s)));

export const ActionEnv = z.object({
  INPUT_PATH: z.string().default('.'),
  INPUT_BASE: z.string().optional(),
  'INPUT_FAIL-ON': z.enum(['error', 'warning', 'never']).default('error'),
  INPUT_COMMENT: Bool,
  'INPUT_SARIF-FILE': z.string().default('joch.sarif'),
  'INPUT_GITHUB-TOKEN': z.string().optional(),
  GITHUB_WORKSPACE: z.string().min(1),
  GITHUB_EVENT_PATH: z.string().optional(),
  GITHUB_STEP_SUMMARY: z.string().optional(),
  GITHUB_OUTPUT: z.string().optional(),
  GITHUB_REPOSITORY: z.string().regex(/^[^/]+\/[^/]+$/, 'must be owner/name').optional(),
  GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  GITHUB_SERVER_URL: z.string().url().default('https://github.com'),
  GITHUB_SHA: z.string().optional(),
});

export interface ActionInputs {
  /** Folder of the Joch records in the repository, relative to the workspace. */
  readonly path: string;
  readonly workspace: string;
  /** Commit to compare against: the input, else the pull request's base. */
  readonly base?: string | undefined;
  readonly failOn: 'error' | 'warning' | 'never';
  /** Post (or update) one review comment on the pull request. */
  readonly comment: boolean;
  readonly sarifFile: string;
  readonly token?: string | undefined;
  readonly repository?: string | undefined;
  readonly pullRequest?: number | undefined;
  readonly apiUrl: string;
  readonly summaryFile?: string | undefined;
  readonly outputFile?: string | undefined;
}

interface PullRequestEvent {
  readonly pull_request?: { readonly number?: number; readonly base?: { readonly sha?: string } };
}

export function readInputs(env: Readonly<Record<string, string | undefined>>): ActionInputs {
  const parsed = ActionEnv.safeParse(stripEmpty(env));
  if (!parsed.success) {
    throw new Error(`the Action is misconfigured: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  const event = readEvent(e.GITHUB_EVENT_PATH);
  const pr = event.pull_request;
  return {
    path: e.INPUT_PATH,
    workspace: e.GITHUB_WORKSPACE,
    base: e.INPUT_BASE || pr?.base?.sha,
    failOn: e['INPUT_FAIL-ON'],
    comment: e.INPUT_COMMENT ?? pr !== undefined,
    sarifFile: e['INPUT_SARIF-FILE'],
    token: e['INPUT_GITHUB-TOKEN'],
    repository: e.GITHUB_REPOSITORY,
    pullRequest: pr?.number,
    apiUrl: e.GITHUB_API_URL.replace(/\/$/, ''),
    summaryFile: e.GITHUB_STEP_SUMMARY,
    outputFile: e.GITHUB_OUTPUT,
  };
}

/** The runner passes unset inputs as empty strings. */
function stripEmpty(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

function readEvent(file: string | undefined): PullRequestEvent {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PullRequestEvent;
  } catch {
    return {};
  }
}
