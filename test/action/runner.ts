/**
 * Runs the Action the way the Actions runner runs `uses: owner/joch@ref`:
 * the repository's files as a commit would hold them (no node_modules), the
 * `main` of action.yml started with node, the runner's variables, and a
 * workspace checked out from a real Git server the way actions/checkout
 * does it: the merge commit of refs/pull/N/merge, one commit deep unless
 * asked for full depth.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
export const FLEET = path.join(REPO_ROOT, 'examples/fleet');

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.x', GIT_CONFIG_NOSYSTEM: '1' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** For git talking to the test's own HTTP server: a synchronous call would block the server it waits on. */
async function gitAsync(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } });
  return stdout.trim();
}

/** The files a commit of this repository holds (tracked, and new files not ignored), copied without node_modules. */
export function downloadAction(): { dir: string; main: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'joch-action-download-'));
  const files = git(REPO_ROOT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z').split('\0').filter(Boolean);
  for (const f of files) {
    const from = path.join(REPO_ROOT, f);
    try {
      cpSync(from, path.join(dir, f));
    } catch {
      // Deleted in the working tree but still in the index: not part of the next commit.
    }
  }
  try {
    const action = parse(readFileSync(path.join(dir, 'action.yml'), 'utf8')) as { runs: { using: string; main: string } };
    return { dir, main: path.join(dir, action.runs.main) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export type Edits = Readonly<Record<string, string | ((before: string) => string) | null>>;

export interface PullRequest {
  readonly number: number;
  readonly base: string;
  readonly head: string;
  readonly merge: string;
}

/**
 * A bare repository on a Git smart-HTTP server holding main (the example
 * fleet) and, per pull request, refs/pull/N/head and refs/pull/N/merge as
 * GitHub keeps them.
 */
export class Origin {
  private constructor(
    readonly root: string,
    readonly server: GitHttpServer,
    private readonly author: string,
    readonly main: string,
  ) {}

  /** `from`: the folder main starts as (default the example fleet). */
  static async start(extra: Edits = {}, from = FLEET): Promise<Origin> {
    const root = mkdtempSync(path.join(tmpdir(), 'joch-action-origin-'));
    const bare = path.join(root, 'agents.git');
    git(root, 'init', '-q', '--bare', '-b', 'main', bare);
    const author = path.join(root, 'author');
    cpSync(from, author, { recursive: true });
    git(author, 'init', '-q', '-b', 'main');
    applyEdits(author, extra);
    git(author, 'add', '-A');
    git(author, 'commit', '-q', '-m', 'base');
    git(author, 'push', '-q', bare, 'main');
    const server = await startGitHttpServer({ root });
    return new Origin(root, server, author, git(author, 'rev-parse', 'HEAD'));
  }

  get url(): string {
    return this.server.url('agents.git');
  }

  /** A pull request from a branch off main with these edits, with its merge commit. */
  pullRequest(number: number, edits: Edits): PullRequest {
    const a = this.author;
    git(a, 'checkout', '-q', '-B', `pr-${number}`, this.main);
    applyEdits(a, edits);
    git(a, 'add', '-A');
    git(a, 'commit', '-q', '--allow-empty', '-m', `pull request ${number}`);
    const head = git(a, 'rev-parse', 'HEAD');
    git(a, 'checkout', '-q', '--detach', this.main);
    git(a, 'merge', '-q', '--no-ff', '-m', `Merge ${head} into ${this.main}`, head);
    const merge = git(a, 'rev-parse', 'HEAD');
    const bare = path.join(this.root, 'agents.git');
    git(a, 'push', '-q', bare, `${head}:refs/pull/${number}/head`, `${merge}:refs/pull/${number}/merge`);
    git(a, 'checkout', '-q', 'main');
    return { number, base: this.main, head, merge };
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function applyEdits(dir: string, edits: Edits): void {
  for (const [file, edit] of Object.entries(edits)) {
    const full = path.join(dir, file);
    if (edit === null) {
      rmSync(full, { force: true });
      continue;
    }
    mkdirSync(path.dirname(full), { recursive: true });
    const before = typeof edit === 'function' ? readFileSync(full, 'utf8') : '';
    const after = typeof edit === 'function' ? edit(before) : edit;
    if (typeof edit === 'function' && after === before) throw new Error(`edit of ${file} changed nothing`);
    writeFileSync(full, after);
  }
}

/** The workspace as actions/checkout leaves it for a pull_request event. */
export async function checkout(origin: Origin, pr: PullRequest, depth: 'shallow' | 'full'): Promise<string> {
  const ws = mkdtempSync(path.join(tmpdir(), 'joch-action-ws-'));
  await gitAsync(ws, 'init', '-q');
  await gitAsync(ws, 'remote', 'add', 'origin', origin.url);
  if (depth === 'full') await gitAsync(ws, 'fetch', '-q', '--no-tags', '--prune', 'origin', '+refs/heads/*:refs/remotes/origin/*');
  const shallow = depth === 'shallow' ? ['--depth=1'] : [];
  await gitAsync(ws, 'fetch', '-q', '--no-tags', '--prune', ...shallow, 'origin', `+${pr.merge}:refs/remotes/pull/${pr.number}/merge`);
  await gitAsync(ws, 'checkout', '-q', '--force', `refs/remotes/pull/${pr.number}/merge`);
  return ws;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: string;
  readonly outputs: Record<string, string>;
  readonly sarifFile: string;
}

export interface RunOptions {
  readonly workspace: string;
  readonly pr?: PullRequest | undefined;
  readonly inputs?: Readonly<Record<string, string>>;
  readonly apiUrl?: string | undefined;
  readonly token?: string | undefined;
}

/** Starts the Action's main with the runner's variables; resolves when it exits. */
export async function runAction(main: string, options: RunOptions): Promise<RunResult> {
  const runner = mkdtempSync(path.join(tmpdir(), 'joch-action-runner-'));
  let child: ChildProcess | undefined;
  try {
    const event = path.join(runner, 'event.json');
    const pr = options.pr;
    writeFileSync(
      event,
      JSON.stringify(
        pr
          ? {
              action: 'synchronize',
              number: pr.number,
              pull_request: {
                number: pr.number,
                base: { ref: 'main', sha: pr.base, repo: { full_name: 'acme/agents' } },
                head: { ref: `pr-${pr.number}`, sha: pr.head, repo: { full_name: 'acme/agents' } },
              },
              repository: { full_name: 'acme/agents' },
            }
          : { ref: 'refs/heads/main', repository: { full_name: 'acme/agents' } },
      ),
    );
    const summary = path.join(runner, 'summary.md');
    const output = path.join(runner, 'output.txt');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    const inputs = { 'fail-on': 'error', 'fail-on-risk': 'never', 'fail-on-missing-base': 'true', 'sarif-file': 'joch.sarif', 'github-token': options.token ?? '', path: '', base: '', comment: '', ...options.inputs };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: runner,
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: options.workspace,
      GITHUB_EVENT_NAME: pr ? 'pull_request' : 'push',
      GITHUB_EVENT_PATH: event,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      GITHUB_REPOSITORY: 'acme/agents',
      GITHUB_SHA: pr?.merge ?? git(options.workspace, 'rev-parse', 'HEAD'),
      GITHUB_RUN_ID: '4242',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: options.apiUrl ?? 'http://127.0.0.1:9',
      GITHUB_ACTION_REPOSITORY: 'acme/joch',
      GITHUB_ACTION_REF: 'v1',
      // The runner keeps an input's hyphens: `fail-on` arrives as INPUT_FAIL-ON.
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    };
    child = spawn(process.execPath, [main], { cwd: options.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = child;
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number>((resolve, reject) => {
      proc.on('error', reject);
      proc.on('close', (c) => resolve(c ?? -1));
    });
    const outputs = Object.fromEntries(
      readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { code, stdout, stderr, summary: readFileSync(summary, 'utf8'), outputs, sarifFile: path.join(options.workspace, 'joch.sarif') };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(runner, { recursive: true, force: true });
  }
}

/** The `::error`/`::warning` annotations of a run, as `level code file:line`. */
export function annotations(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => /^::(error|warning) file=([^,]+),line=(\d+),.*?title=(JOCH\d+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[4]} ${m[2]}:${m[3]}`);
}
