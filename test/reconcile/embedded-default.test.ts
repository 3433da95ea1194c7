/**
 * The README's main command on a fresh machine: `joch sync --once` with no
 * options, in a throwaway clone of this repository. It syncs the bundled
 * example fleet into the local branch `joch/rendered` with a status commit on
 * `joch/status`, in seconds, touching neither the checkout nor this
 * repository's own refs; run again, it commits nothing.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/joch.js');
let clone: string;

function git(args: string[], cwd = clone): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function joch(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: clone, encoding: 'utf8', env: { ...process.env, KUBECONFIG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  clone = mkdtempSync(path.join(tmpdir(), 'joch-fresh-clone-'));
  rmSync(clone, { recursive: true });
  git(['clone', '-q', '--no-hardlinks', ROOT, clone], tmpdir());
  // The example fleet as it is in this checkout (the same as HEAD's in CI, where the tree is clean).
  rmSync(path.join(clone, 'examples/fleet'), { recursive: true, force: true });
  cpSync(path.join(ROOT, 'examples/fleet'), path.join(clone, 'examples/fleet'), { recursive: true });
  git(['add', '-A', 'examples/fleet']);
  if (git(['status', '--porcelain'])) git(['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'example fleet']);
});

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe('joch sync --once with no options (the embedded default)', () => {
  it('renders the example fleet to joch/rendered with a status commit on joch/status, and commits nothing when run again', () => {
    const ownRefs = git(['for-each-ref', '--format=%(refname) %(objectname)'], ROOT);
    const head = git(['rev-parse', 'HEAD']);
    const first = joch(['sync', '--once']);
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(first.stdout).toMatch(/^joch sync: applied [0-9a-f]{12} from .* \(branch \S+, root examples\/fleet\)/);
    expect(first.stdout).toContain('git log --stat joch/status');
    expect(first.stdout).toContain('git show joch/rendered:objects/');

    const summary = parse(git(['show', 'joch/status:summary.yaml'])) as Record<string, unknown>;
    expect(summary).toMatchObject({ phase: 'Synced', observedRevision: head, lastApplied: { revision: head }, source: { root: 'examples/fleet' } });
    const rendered = git(['ls-tree', '-r', '--name-only', 'joch/rendered']).split('\n');
    expect(rendered.filter((f) => f.startsWith('objects/')).length).toBeGreaterThan(50);
    expect(rendered.filter((f) => f.startsWith('crds/')).length).toBeGreaterThan(10);
    expect(git(['log', '--format=%s', 'joch/status'])).toMatch(/^joch: Synced [0-9a-f]{12} \(\d+ ok\) \[skip ci\]$/);
    expect(git(['ls-tree', '-r', '--name-only', 'joch/status']).split('\n')).toEqual(expect.arrayContaining(['summary.yaml', 'agbom/state.json']));
    git(['fsck', '--no-dangling']);

    // The checkout is as it was: same HEAD, clean tree, the cache inside .git.
    expect(git(['rev-parse', 'HEAD'])).toBe(head);
    expect(git(['status', '--porcelain'])).toBe('');
    expect(existsSync(path.join(clone, '.git', 'joch'))).toBe(true);
    // And this repository's own refs were never touched.
    expect(git(['for-each-ref', '--format=%(refname) %(objectname)'], ROOT)).toBe(ownRefs);

    const again = joch(['sync', '--once']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('joch/status already up to date');
    expect(git(['rev-list', '--count', 'joch/status'])).toBe('1');
    expect(git(['rev-list', '--count', 'joch/rendered'])).toBe('1');
  }, 90_000);
});
