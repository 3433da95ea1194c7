/**
 * The base commit of the review, made present in the checkout. actions/checkout
 * fetches one commit by default (the merge commit of refs/pull/N/merge), so the
 * base is usually absent: it is fetched by its id, one commit deep, from the
 * workspace's own remote (the credentials actions/checkout left in the local
 * Git configuration apply). Uses the runner's git, which GitHub's images carry.
 */
import { execFile, spawn } from 'node:child_process';
import ignore from 'ignore';
import { DEFAULT_MAX_FILE_BYTES, IGNORE_FILE, YAML_FILE, type Snapshot, type SourceFile, type UnreadEntry } from '../source/types.js';

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

export type RevisionFiles = { readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly reason: string };

/** What a revision's snapshot needs besides the manifests: the configuration and the ignore file. */
function wanted(file: string): boolean {
  const name = file.slice(file.lastIndexOf('/') + 1);
  return YAML_FILE.test(name) || name === IGNORE_FILE;
}

/**
 * The YAML files (and ignore file) under `root` at commit `sha`, read with
 * the runner's git straight from the object store: one `ls-tree` and one
 * `cat-file --batch`, no clone. For a 300-agent fleet this is a tenth of a
 * second where reading the revision through a scratch clone took seconds.
 */
export async function readRevisionFiles(workspace: string, sha: string, root: string): Promise<RevisionFiles> {
  const dir = root.replace(/\\/g, '/').replace(/^\.\/?/, '').replace(/\/$/, '');
  // -l gives each blob's size, so a file over the limit is never loaded.
  const tree = await git(workspace, ['ls-tree', '-r', '-l', '-z', '--full-tree', sha, '--', dir || '.']);
  if (tree.code !== 0) return { ok: false, reason: `cannot list the files of ${sha}: ${tree.stderr.split('\n').pop() ?? ''}` };
  let entries: { path: string; oid: string }[] = [];
  let unread: UnreadEntry[] = [];
  for (const line of tree.stdout.split('\0')) {
    const m = /^(\d+) (\w+) ([0-9a-f]+) +(-|\d+)\t(.+)$/s.exec(line);
    if (!m) continue;
    const [, mode = '', , oid = '', size = '', full = ''] = m;
    const rel = dir && full.startsWith(`${dir}/`) ? full.slice(dir.length + 1) : full;
    // A link (120000) is not followed out of the revision, a submodule (160000) has no blob: both are reported, as `joch sync` reports them.
    if (mode === '120000' || mode === '160000') unread.push({ path: rel, reason: mode === '120000' ? 'symlink' : 'submodule' });
    else if (!wanted(rel)) continue;
    else if (Number(size) > DEFAULT_MAX_FILE_BYTES) unread.push({ path: rel, reason: 'oversize', size: Number(size), limit: DEFAULT_MAX_FILE_BYTES });
    else entries.push({ path: rel, oid });
  }
  // The revision's own .jochignore leaves files out, as it does in a checkout and for `joch sync`; its bytes are read once, first.
  const ignoreEntry = entries.find((e) => e.path === IGNORE_FILE);
  const read: SourceFile[] = [];
  if (ignoreEntry) {
    const text = await catBlobs(workspace, [ignoreEntry.oid]);
    if (!text.ok) return text;
    const bytes = text.contents[0] ?? new Uint8Array();
    read.push({ path: IGNORE_FILE, bytes });
    const rules = ignore().add(Buffer.from(bytes).toString('utf8'));
    entries = entries.filter((e) => e !== ignoreEntry && !rules.ignores(e.path));
    unread = unread.filter((e) => !rules.ignores(e.path));
  }
  const blobs = await catBlobs(workspace, entries.map((e) => e.oid));
  if (!blobs.ok) return blobs;
  const time = await git(workspace, ['show', '-s', '--format=%ct', sha]);
  const files: SourceFile[] = [...read, ...entries.map((e, i) => ({ path: e.path, bytes: blobs.contents[i]! }))];
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  unread.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ok: true, snapshot: { root: workspace, displayPrefix: dir, revision: sha, commitTime: Number(time.stdout) || undefined, files, unread } };
}

/** Blob contents in request order, through one `git cat-file --batch`. */
function catBlobs(workspace: string, oids: readonly string[]): Promise<{ ok: true; contents: Uint8Array[] } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: workspace, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) => resolve({ ok: false, reason: `git cat-file: ${e.message}` }));
    child.on('close', (code) => {
      if (code !== 0) return resolve({ ok: false, reason: `git cat-file exited with ${code}: ${stderr.trim()}` });
      const out = Buffer.concat(chunks);
      const contents: Uint8Array[] = [];
      let at = 0;
      for (const oid of oids) {
        const eol = out.indexOf(0x0a, at);
        const header = out.subarray(at, eol).toString('latin1').split(' ');
        if (header[0] !== oid || header[1] !== 'blob') return resolve({ ok: false, reason: `git cat-file: object ${oid} is missing from the checkout` });
        const size = Number(header[2]);
        contents.push(out.subarray(eol + 1, eol + 1 + size));
        at = eol + 1 + size + 1;
      }
      resolve({ ok: true, contents });
    });
    child.stdin.end(oids.length ? `${oids.join('\n')}\n` : '');
  });
}
