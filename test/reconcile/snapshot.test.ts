/**
 * The pipeline's snapshot entry (what the loop runs on a Git revision) gives
 * what the local-path entry gives for the same files: the same diagnostics at
 * the same places and the same compiled objects, with or without the cache
 * kept between cycles; joch.yaml is read from the snapshot.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCompile } from '../../src/pipeline/compile.js';
import { runValidate } from '../../src/pipeline/index.js';
import { runSnapshot, SnapshotCache } from '../../src/pipeline/snapshot.js';
import { readLocalSourceSync } from '../../src/source/local.js';
import type { Snapshot } from '../../src/source/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FLEET = path.join(ROOT, 'examples/fleet');

function fleetSnapshot(): Snapshot {
  return readLocalSourceSync({ root: FLEET, maxFileBytes: 5 * 1024 * 1024, cwd: ROOT }).snapshot;
}

const brief = (d: { code: string; file: string; line: number; column: number; message: string }) => `${d.code} ${d.file}:${d.line}:${d.column} ${d.message}`;

function withFile(s: Snapshot, file: string, text: string | null): Snapshot {
  const files = s.files.filter((f) => f.path !== file);
  if (text !== null) files.push({ path: file, bytes: Buffer.from(text) });
  return { ...s, files };
}

describe('runSnapshot', () => {
  it('matches runValidate and runCompile on the example fleet, cached or not', async () => {
    const snapshot = fleetSnapshot();
    expect(snapshot.files.some((f) => f.path === 'joch.yaml')).toBe(true);
    const validate = await runValidate({ paths: ['examples/fleet'], cwd: ROOT });
    const compile = await runCompile({ paths: ['examples/fleet'], cwd: ROOT });
    const cache = new SnapshotCache();
    for (const run of [runSnapshot({ snapshot }), runSnapshot({ snapshot, cache }), runSnapshot({ snapshot, cache })]) {
      expect(run.diagnostics.map(brief)).toEqual(compile.diagnostics.map(brief));
      expect(run.set.resources.map((r) => r.key)).toEqual(validate.set.resources.map((r) => r.key));
      expect(run.refused).toBe(compile.refused);
      expect(JSON.stringify(run.output?.objects.map((o) => o.object))).toBe(JSON.stringify(compile.output?.objects.map((o) => o.object)));
    }
  });

  it('after a change, the cached run equals a fresh one: new errors found, old ones gone', () => {
    const base = fleetSnapshot();
    const cache = new SnapshotCache();
    runSnapshot({ snapshot: base, cache });
    const broken = withFile(base, 'research/research.yaml', 'apiVersion: joch.dev/v1alpha1\nkind: Agent\nmetadata: [oops\n');
    const cached = runSnapshot({ snapshot: broken, cache });
    const fresh = runSnapshot({ snapshot: broken });
    expect(cached.refused).toBe(true);
    expect(cached.diagnostics.map(brief)).toEqual(fresh.diagnostics.map(brief));
    expect(cached.diagnostics.some((d) => d.file === 'examples/fleet/research/research.yaml' && d.severity === 'error')).toBe(true);
    const back = runSnapshot({ snapshot: base, cache });
    expect(back.diagnostics.map(brief)).toEqual(runSnapshot({ snapshot: base }).diagnostics.map(brief));
  });

  it('reads joch.yaml from the snapshot: its paths and exclude select the files, its errors are placed', () => {
    const base = fleetSnapshot();
    const narrowed = withFile(base, 'joch.yaml', 'defaultNamespace: platform\npaths: [platform]\nexclude: ["**/secrets.yaml"]\n');
    const run = runSnapshot({ snapshot: narrowed, compile: false });
    const files = new Set(run.snapshot.files.map((f) => f.path));
    expect([...files].every((f) => f.startsWith('platform/'))).toBe(true);
    expect(files.has('platform/secrets.yaml')).toBe(false);
    expect(files.has('joch.yaml')).toBe(false);

    const bad = runSnapshot({ snapshot: withFile(base, 'joch.yaml', 'defaultNamespace: platform\nunknownKey: 1\n'), compile: false });
    expect(bad.diagnostics.filter((d) => d.code === 'JOCH001').map((d) => `${d.file}:${d.line}`)).toEqual(['examples/fleet/joch.yaml:2']);
    expect(bad.refused).toBe(true);
  });
});
