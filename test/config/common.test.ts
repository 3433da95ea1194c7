/**
 * The zod-free reading of a common joch.yaml must be zod's, exactly: the same
 * value, defaults and key order included, and never a configuration zod
 * refuses. Where it does not answer, zod decides (and explains).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commonConfig, DEFAULT_CONFIG } from '../../src/config/common.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { pick, rng } from '../support/random.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Candidate values per key: the first two valid, then values zod refuses and the edges between. */
const VALUES: Record<string, readonly unknown[]> = {
  apiVersion: ['joch.dev/v1alpha1', 'joch.dev/v1', null, 1],
  kind: ['Project', 'Agent', null],
  paths: [['.'], ['platform', 'teams/a'], [], [''], ['a', 3], 'platform', null, [null]],
  exclude: [[], ['**/fixtures/**'], [''], 'x', null, ['a', 'b']],
  defaultNamespace: ['platform', 'default', 'Platform', '-a', 'a'.repeat(63), 'a'.repeat(64), '', 7, null, 'a-b-1'],
  severity: [{}, { JOCH401: 'off' }, { JOCH401: 'warning', JOCH708: 'error' }, { JOCH40: 'off' }, { JOCH401: 'loud' }, { joch401: 'info' }, null, [], { JOCH999: 'info' }],
  limits: [{}, { maxFileBytes: 1024 }, { maxAliasCount: 0 }, { maxAliasCount: -1 }, { maxDocumentsPerFile: 0 }, { maxFileBytes: 1.5 }, { maxFileBytes: 2 ** 60 }, { maxFileBytes: '1' }, { other: 1 }, null, { maxAliasCount: 5, maxDocumentsPerFile: 9, maxFileBytes: 10 }, { maxFileBytes: Infinity }, { maxAliasCount: -0 }],
  policy: [{}, { approverRoles: ['release-manager'] }, { productionEnvironments: ['live'], approverRoles: [] }, { approverRoles: [''] }, { other: [] }, null, { approverRoles: 'x' }],
  // Outside the common subset: zod always decides these.
  workloads: [{}, { podSecurity: 'warn' }],
  clusters: [{ east: { context: 'east' } }],
  defaultCluster: ['east'],
  unknownKey: [1],
};

function randomConfig(r: () => number): Record<string, unknown> {
  const keys = Object.keys(VALUES).filter(() => r() < 0.35);
  // Key order must not matter: zod's output follows its schema.
  keys.sort(() => r() - 0.5);
  const valueOf = (k: string) => {
    const candidates = VALUES[k] as unknown[];
    return structuredClone(r() < 0.6 ? candidates[Math.floor(r() * 2) % candidates.length] : pick(r, candidates));
  };
  return Object.fromEntries(keys.map((k) => [k, valueOf(k)]));
}

describe('a common joch.yaml without zod', () => {
  it('writes out the defaults zod gives an empty configuration', () => {
    expect(JSON.stringify(DEFAULT_CONFIG)).toBe(JSON.stringify(ConfigSchema.parse({})));
    expect(isDeepStrictEqual(DEFAULT_CONFIG, ConfigSchema.parse({}))).toBe(true);
  });

  it("answers exactly as zod does, or leaves the configuration to zod", () => {
    const r = rng(20261207);
    let answered = 0;
    let validCommon = 0;
    for (let n = 0; n < 5000; n++) {
      const value = randomConfig(r);
      const zod = ConfigSchema.safeParse(structuredClone(value));
      const common = commonConfig(value);
      if (common !== undefined) {
        answered++;
        expect(zod.success, JSON.stringify(value)).toBe(true);
        expect(JSON.stringify(common), JSON.stringify(value)).toBe(JSON.stringify(zod.data));
        expect(isDeepStrictEqual(common, zod.data), JSON.stringify(value)).toBe(true);
      }
      const onlyCommonKeys = Object.keys(value).every((k) => !['workloads', 'clusters', 'defaultCluster', 'unknownKey'].includes(k));
      if (zod.success && onlyCommonKeys) {
        validCommon++;
        // Every valid configuration of the subset is answered: zod is loaded only for the others.
        expect(common, JSON.stringify(value)).toBeDefined();
      }
    }
    expect(answered).toBeGreaterThan(300);
    expect(validCommon).toBe(answered);
  });

  it("reads the example fleet's and the scaffold's joch.yaml", () => {
    for (const file of ['examples/fleet/joch.yaml', 'templates/init/joch.yaml']) {
      const value: unknown = parse(readFileSync(path.join(ROOT, file), 'utf8').replace(/\{\{team\}\}/g, 'team-a'));
      expect(commonConfig(value), file).toEqual(ConfigSchema.parse(value));
    }
  });
});
