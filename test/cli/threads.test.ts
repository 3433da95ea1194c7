/**
 * `joch validate` on worker threads, as installed (bin/joch.js, dist/): the
 * same bytes on stdout as on one thread, positions included, and a small
 * repository never starts a worker.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/joch.js');
const exec = promisify(execFile);

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'joch-threads-'));
  generateFleet(dir, 150);
  // Mistakes spread through the repository, so their diagnostics come from different threads.
  writeFileSync(path.join(dir, 'team-000/zz-broken.yaml'), 'apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: broken\nspec:\n  bogus: [1\n');
  writeFileSync(path.join(dir, 'team-001/agents/aa-typo.yaml'), 'apiVersion: joch.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: typo\n  namespace: team-001\nspec:\n  modle: x\n');
  writeFileSync(path.join(dir, 'team-002/mm-secret.yaml'), 'apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: leak\n  annotations:\n    url: "https://user:pa55word-very-secret@example.com/x"\n');
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function validate(threads: string | undefined, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  // CI unset: under CI the progress lines are printed plainly, ahead of the timings the tests read.
  const env = { ...process.env, JOCH_THREADS: threads, NO_COLOR: '1', CI: '', ...extraEnv };
  if (threads === undefined) delete env.JOCH_THREADS;
  return exec(process.execPath, [BIN, 'validate', ...args, '--timings'], { cwd: ROOT, env, maxBuffer: 1 << 28 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('joch validate on worker threads', () => {
  it.each([
    ['json', ['-o', 'json']],
    ['text', []],
    ['schema only, sarif', ['--checks', 'schema', '-o', 'sarif']],
  ])('prints the single-threaded output byte for byte (%s)', async (_name, args) => {
    const one = await validate('1', [dir, ...args]);
    const three = await validate('3', [dir, ...args]);
    expect(one.stderr).not.toMatch(/threads/);
    // How much the workers check depends on how soon they start (the main thread takes back what they have not answered when it runs out of work); test/schema/parallel.test.ts has them check everything.
    expect(three.stderr).toMatch(/files \(3 threads, \d+ by workers\) \d+ ms/);
    expect(three.code).toBe(1);
    expect(three.code).toBe(one.code);
    expect(three.stdout).toBe(one.stdout);
    // The mistakes are there, at their lines, and the secret value is not.
    expect(three.stdout).toContain('zz-broken.yaml');
    expect(three.stdout).toContain('aa-typo.yaml');
    expect(three.stdout).not.toContain('pa55word-very-secret');
  }, 120_000);

  it.each([
    ['schema, json', ['--checks', 'schema', '-o', 'json']],
    ['schema, text', ['--checks', 'schema']],
    ['schema and secrets, sarif', ['--checks', 'schema,secrets', '-o', 'sarif']],
    ['secrets only, text', ['--checks', 'secrets']],
  ])('without the cache, per-file checks print what the full pipeline prints, on one thread and on three (%s)', async (_name, args) => {
    // The full pipeline (with the cache, which needs the assembled documents) is the reference.
    const full = await validate('1', [dir, ...args]);
    expect(full.stderr).toMatch(/ load \d+ ms, validate \d+ ms/);
    const one = await validate('1', [dir, ...args], { JOCH_NO_CACHE: '1' });
    const three = await validate('3', [dir, ...args], { JOCH_NO_CACHE: '1' });
    // Neither assembled a manifest set: the files were reduced to findings where they were checked.
    expect(one.stderr).toMatch(/^timings: source \d+ ms, files \d+ ms, report/);
    expect(three.stderr).toMatch(/^timings: source \d+ ms, files \(3 threads, \d+ by workers\) \d+ ms, report/);
    for (const r of [one, three]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(full.stdout);
    }
    expect(full.stdout).toContain('mm-secret.yaml');
    expect(full.stdout).not.toContain('pa55word-very-secret');
  }, 120_000);

  it('keeps a small repository on the main thread', async () => {
    const r = await validate(undefined, ['examples/fleet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^timings: source/);
    expect(r.stderr).not.toMatch(/threads/);
  }, 60_000);
});
