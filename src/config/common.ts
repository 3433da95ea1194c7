/**
 * joch.yaml without zod, for the configurations most repositories write:
 * only `apiVersion`, `kind`, `paths`, `exclude`, `defaultNamespace`,
 * `severity`, `limits` and `policy`, every value valid. Loading zod and
 * building the schema cost more than the rest of a small `joch validate`;
 * these checks are a few comparisons. The answer is the one zod gives, key
 * order included (test/config/common.test.ts compares them on thousands of
 * configurations); anything else (another key, a value zod would refuse) is
 * `undefined`, and schema.ts decides and explains.
 */
import type { Config } from './schema.js';

/** `ConfigSchema.parse({})`, written out (a test checks it against zod's). */
export const DEFAULT_CONFIG: Config = {
  paths: ['.'],
  exclude: [],
  defaultNamespace: 'default',
  severity: {},
  limits: { maxFileBytes: 5 * 1024 * 1024, maxAliasCount: 100, maxDocumentsPerFile: 10_000 },
  policy: { productionEnvironments: [], approverRoles: [] },
  workloads: { podSecurity: 'enforce', executionDeadlineSeconds: 3600, environments: {}, teams: {} },
};

const COMMON_KEYS = new Set(['apiVersion', 'kind', 'paths', 'exclude', 'defaultNamespace', 'severity', 'limits', 'policy']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CODE = /^JOCH\d{3}$/;
const SEVERITIES = new Set(['off', 'info', 'warning', 'error']);

/** Not in the common subset, or not valid: zod decides. */
class NotCommon extends Error {}

const refuse = (): never => {
  throw new NotCommon();
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** An object with only `allowed` keys (zod's strictObject), else refused. */
function strict(v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(v)) refuse();
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) refuse();
  return obj;
}

function nonEmptyStrings(v: unknown, fallback: readonly string[], min = 0): string[] {
  if (v === undefined) return [...fallback];
  if (!Array.isArray(v) || v.length < min) refuse();
  return (v as unknown[]).map((s) => (typeof s === 'string' && s.length >= 1 ? s : refuse()));
}

function integer(v: unknown, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : refuse();
}

/** `ConfigSchema.parse(value)` when the value is a valid configuration of the common subset; `undefined` otherwise. */
export function commonConfig(value: unknown): Config | undefined {
  try {
    return readCommon(value);
  } catch (e) {
    if (e instanceof NotCommon) return undefined;
    throw e;
  }
}

function readCommon(value: unknown): Config {
  const v = strict(value, [...COMMON_KEYS]);
  const out: Record<string, unknown> = {};
  if (v.apiVersion !== undefined) out.apiVersion = v.apiVersion === 'joch.dev/v1alpha1' ? v.apiVersion : refuse();
  if (v.kind !== undefined) out.kind = v.kind === 'Project' ? v.kind : refuse();
  out.paths = nonEmptyStrings(v.paths, DEFAULT_CONFIG.paths, 1);
  out.exclude = nonEmptyStrings(v.exclude, DEFAULT_CONFIG.exclude);
  const ns = v.defaultNamespace;
  out.defaultNamespace = ns === undefined ? DEFAULT_CONFIG.defaultNamespace : typeof ns === 'string' && DNS_LABEL.test(ns) && ns.length <= 63 ? ns : refuse();
  out.severity = severities(v.severity);
  const limits = strict(v.limits === undefined ? {} : v.limits, ['maxFileBytes', 'maxAliasCount', 'maxDocumentsPerFile']);
  out.limits = {
    maxFileBytes: integer(limits.maxFileBytes, DEFAULT_CONFIG.limits.maxFileBytes, 1),
    maxAliasCount: integer(limits.maxAliasCount, DEFAULT_CONFIG.limits.maxAliasCount, 0),
    maxDocumentsPerFile: integer(limits.maxDocumentsPerFile, DEFAULT_CONFIG.limits.maxDocumentsPerFile, 1),
  };
  const policy = strict(v.policy === undefined ? {} : v.policy, ['productionEnvironments', 'approverRoles']);
  out.policy = {
    productionEnvironments: nonEmptyStrings(policy.productionEnvironments, []),
    approverRoles: nonEmptyStrings(policy.approverRoles, []),
  };
  const w = DEFAULT_CONFIG.workloads;
  out.workloads = { podSecurity: w.podSecurity, executionDeadlineSeconds: w.executionDeadlineSeconds, environments: {}, teams: {} };
  return out as Config;
}

function severities(v: unknown): Record<string, 'off' | 'info' | 'warning' | 'error'> {
  if (v === undefined) return {};
  if (!isPlainObject(v)) refuse();
  const out: Record<string, 'off' | 'info' | 'warning' | 'error'> = {};
  for (const [code, level] of Object.entries(v as Record<string, unknown>)) {
    if (!CODE.test(code) || typeof level !== 'string' || !SEVERITIES.has(level)) refuse();
    out[code] = level as 'off' | 'info' | 'warning' | 'error';
  }
  return out;
}
