/**
 * Input that used to crash or hang the loader: an alias that refers to its
 * own ancestor, a folder that cannot be read. Each is a located error, exit 1,
 * and every command finishes.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, type JsonReport } from '../support/repo.js';
import { everyChannel, fleetWith, ROOT } from './channels.js';

const TOOL = 'apiVersion: joch.dev/v1alpha1\nkind: Tool\n';

describe('an alias that refers to its own ancestor', () => {
  it.each([
    ['an alias of the mapping it is in', `${TOOL}metadata:\n  name: cycle\nspec: &c\n  type: http\n  self: *c\n`, 7, 9],
    ['a merge key of the mapping it is in', `${TOOL}metadata:\n  name: cycle\nspec: &s\n  type: http\n  <<: *s\n`, 7, 7],
    ['labels that are their own metadata', `${TOOL}metadata: &m\n  name: cycle\n  labels: *m\nspec:\n  type: http\n`, 5, 11],
  ])('%s is a located error in every command', async (_name, text, line, column) => {
    const root = fleetWith({ 'platform/cycle.yaml': text });
    const runs = await everyChannel(root);
    for (const run of runs) {
      expect(run.code, `${run.channel}: ${run.stderr}`).toBe(1);
      expect(run.output, run.channel).not.toMatch(/Maximum call stack|internal error|\n\s+at .*:\d+:\d+\)?\n/);
    }
    const json = JSON.parse(runs.find((r) => r.channel === 'validate json')?.stdout ?? '') as JsonReport;
    expect(json.diagnostics).toContainEqual(expect.objectContaining({ code: 'JOCH103', file: 'platform/cycle.yaml', line, column, severity: 'error' }));
  });

  it('an alias repeated outside its anchor (no cycle) still loads', async () => {
    const root = fleetWith({
      'platform/shared.yaml': `${TOOL}metadata:\n  name: shared\n  labels: &l\n    team: a\n  annotations: *l\nspec:\n  type: http\n  endpoint: https://example.com/api\n`,
    });
    const run = (await everyChannel(root)).find((r) => r.channel === 'validate json');
    const json = JSON.parse(run?.stdout ?? '') as JsonReport;
    // Loaded: the schema pass saw its values (an endpoint must be a mapping), and no alias error.
    const here = json.diagnostics.filter((d) => d.file === 'platform/shared.yaml');
    expect(here.map((d) => d.code)).not.toContain('JOCH103');
    expect(here).toContainEqual(expect.objectContaining({ path: 'spec.endpoint', line: 10 }));
  });
});

describe('a folder that cannot be read', () => {
  it('is a located error (JOCH110), and the other files are still read', () => {
    const root = fleetWith({});
    const locked = path.join(root, 'platform', 'locked');
    mkdirSync(locked);
    writeFileSync(path.join(locked, 'x.yaml'), 'kind: Tool\n');
    chmodSync(locked, 0o000);
    // Permissions do not stop the superuser: read as an unprivileged user then, through the built CLI.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (process.getuid?.() === 0) chmodSync(root, 0o755);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/joch.js'), 'validate', '-o', 'json'], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '' }, ...asUser });
    chmodSync(locked, 0o755);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const json = JSON.parse(r.stdout) as JsonReport;
    expect(json.diagnostics.filter((d) => d.severity === 'error')).toEqual([
      expect.objectContaining({ code: 'JOCH110', file: 'platform/locked', line: 1, column: 1, message: expect.stringContaining('EACCES') }),
    ]);
    expect(json.summary.resources).toBeGreaterThan(50);
  });
});

describe('an exception that escapes a command', () => {
  it('is one line on stderr with exit 2; --debug or JOCH_DEBUG=1 shows the stack', async () => {
    const root = fleetWith({ 'not-a-folder': 'x' });
    // An output folder under a file: the write fails below the command, where nothing expects it.
    const plain = await cli(['compile', '--output-dir', 'not-a-folder/out'], root);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^joch compile: internal error: ENOTDIR: .*run again with --debug for the stack trace.*\n$/);
    expect(plain.stderr.split('\n')).toHaveLength(2);
    for (const debug of [await cli(['compile', '--output-dir', 'not-a-folder/out', '--debug'], root), await cli(['compile', '--output-dir', 'not-a-folder/out'], root, { env: { JOCH_DEBUG: '1' } })]) {
      expect(debug.code).toBe(2);
      expect(debug.stderr).toMatch(/^joch compile: internal error: ENOTDIR[^\n]*\nError: ENOTDIR[^\n]*\n\s+at /);
    }
  });
});
