/**
 * The base commit of the review, made present in the checkout. actions/checkout
 * fetches one commit by default (the merge commit of refs/pull/N/merge), so the
 * base is usually absent: it is fetched by its id, one commit deep, from the
 * workspace's own remote (the credentials actions/checkout left in the local
 * Git configuration apply). Uses the runner's git, which GitHub's images carry.
 */
import { execFile } from 'node:child_process';

export type BaseCommit =
  | { readonly ok: true; readonly sha: string; readonly fetched: boolean }
  | { readonly ok: false; readonly reason: string };

interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function git(cwd: string, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve) => {
    // GIT_TERMINAL_PROMPT=0: a missing credential must fail, never wait for a password.
    execFile('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout).trim(), stderr: String(stderr).trim() });
    });
  });
}

async function commitOf(workspace: string, rev: string): Promise<string | undefined> {
  const r = await git(workspace, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  return r.code === 0 && r.stdout ? r.stdout : undefined;
}

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;

/**
 * Resolves `rev` (a commit id or a branch or tag name) to a commit present in
 * the workspace, fetching it from `origin` when it is not.
 */
export async function ensureBase(workspace: string, rev: string): Promise<BaseCommit> {
  const here = (await commitOf(workspace, rev)) ?? (FULL_SHA.test(rev) ? undefined : await commitOf(workspace, `origin/${rev}`));
  if (here) return { ok: true, sha: here, fetched: false };
  if (rev.startsWith('-')) return { ok: false, reason: `base "${rev}" is not a commit id, branch or tag` };
  const fetch = await git(workspace, ['fetch', '--no-tags', '--no-recurse-submodules', '--depth=1', 'origin', rev]);
  if (fetch.code !== 0) {
    const why = fetch.stderr.split('\n').filter(Boolean).pop() ?? `git fetch exited with ${fetch.code}`;
    return { ok: false, reason: `the base ${rev} is not in the checkout and could not be fetched from origin (${why})` };
  }
  const fetched = FULL_SHA.test(rev) ? await commitOf(workspace, rev) : await commitOf(workspace, 'FETCH_HEAD');
  return fetched ? { ok: true, sha: fetched, fetched: true } : { ok: false, reason: `git fetched ${rev} but it is not a commit` };
}
