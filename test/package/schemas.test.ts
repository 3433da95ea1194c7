/**
 * The schemas that are generated rather than written (joch.yaml, policy
 * tests, any kind by `kind`): the committed files are what the generator
 * produces, and each accepts and rejects what the code that reads those
 * files accepts and rejects.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedSchemas } from '../../scripts/generate-schemas.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { kindInfo } from '../../src/model/kinds.js';
import { PolicyTestSchema } from '../../src/policy/testing.js';
import { newCompiler, SCHEMA_BASE } from '../../src/schema/registry.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let ajv: Ajv2020;

beforeAll(() => {
  ajv = newCompiler();
});

function validator(file: string) {
  const v = ajv.getSchema(`${SCHEMA_BASE}${file}`);
  if (!v) throw new Error(`no schema ${file}`);
  return v;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** Every document of a file that parses to a mapping. */
function documents(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .flatMap((d) => ('errors' in d && d.errors.length === 0 ? [d.toJS() as unknown] : []))
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null && !Array.isArray(d));
}

describe('generated schema files', () => {
  it.each([...generatedSchemas().keys()])('%s is up to date (npm run schemas rewrites it)', (file) => {
    expect(readFileSync(path.join(ROOT, 'schemas', file), 'utf8')).toBe(generatedSchemas().get(file));
  });

  it('every schema modeline in the examples names a schema file that exists', () => {
    const modelines = yamlFiles(path.join(ROOT, 'examples')).flatMap((f) => {
      const m = /^# yaml-language-server: \$schema=(\S+)/m.exec(readFileSync(f, 'utf8'));
      return m?.[1] ? [{ f, target: path.resolve(path.dirname(f), m[1]) }] : [];
    });
    expect(modelines.map((m) => path.basename(m.target))).toContain('joch-config.schema.json');
    for (const { f, target } of modelines) expect(statSync(target, { throwIfNoEntry: false })?.isFile(), `${f} -> ${target}`).toBe(true);
  });
});

describe('joch-config.schema.json', () => {
  const cases: [string, unknown][] = [
    ['the example fleet', documents(path.join(ROOT, 'examples/fleet/joch.yaml'))[0]],
    ['a fixture', documents(path.join(ROOT, 'test/fixtures/policy/severity/joch.yaml'))[0]],
    ['the empty file', {}],
    ['every key', { apiVersion: 'joch.dev/v1alpha1', kind: 'Project', paths: ['a'], exclude: ['b/**'], defaultNamespace: 'team-a', severity: { JOCH401: 'off' }, limits: { maxFileBytes: 10, maxAliasCount: 0, maxDocumentsPerFile: 1 }, policy: { productionEnvironments: ['live'], approverRoles: ['cab'] } }],
    ['an unknown key', { pathz: ['a'] }],
    ['an unknown key in limits', { limits: { maxFiles: 3 } }],
    ['a namespace that is not a DNS label', { defaultNamespace: 'Team_A' }],
    ['a severity for something that is not a code', { severity: { E401: 'off' } }],
    ['a severity level that does not exist', { severity: { JOCH401: 'fatal' } }],
    ['no paths', { paths: [] }],
    ['a negative limit', { limits: { maxAliasCount: -1 } }],
    ['a fractional limit', { limits: { maxFileBytes: 1.5 } }],
    ['another kind', { kind: 'Agent' }],
  ];

  it.each(cases)('agrees with the zod schema joch.yaml is read with: %s', (_name, value) => {
    expect(value).toBeDefined();
    const zod = ConfigSchema.safeParse(value).success;
    expect(validator('joch-config.schema.json')(value)).toBe(zod);
  });

  it('accepts the valid cases and rejects the others (the comparison is not vacuous)', () => {
    const verdicts = cases.map(([, v]) => ConfigSchema.safeParse(v).success);
    expect(verdicts.filter(Boolean)).toHaveLength(4);
  });
});

describe('policy-test.schema.json', () => {
  const files = yamlFiles(ROOT).filter((f) => path.basename(f) === 'joch-test.yaml' && !f.includes('node_modules'));

  it.each(files.map((f) => [path.relative(ROOT, f), f]))('agrees with the zod schema of policy tests: %s', (_rel, file) => {
    const [doc] = documents(file);
    expect(validator('policy-test.schema.json')(doc)).toBe(PolicyTestSchema.safeParse(doc).success);
  });

  it('accepts the example fleet’s tests and rejects a misspelt case key', () => {
    const ok = files.filter((f) => f.includes('examples/fleet')).map((f) => documents(f)[0]);
    expect(ok.length).toBeGreaterThan(0);
    for (const doc of ok) expect(validator('policy-test.schema.json')(doc)).toBe(true);
    const [malformed] = documents(path.join(ROOT, 'test/fixtures/policy/tests/malformed/joch-test.yaml'));
    const validate = validator('policy-test.schema.json');
    expect(validate(malformed)).toBe(false);
    expect(validate.errors?.some((e) => e.keyword === 'additionalProperties' && (e.params as { additionalProperty?: string }).additionalProperty === 'capabilty')).toBe(true);
  });
});

describe('joch.schema.json, any kind by apiVersion and kind', () => {
  const isJoch = (d: Record<string, unknown>): boolean => typeof d.apiVersion === 'string' && /^([a-z0-9-]+\.)*joch\.dev\//.test(d.apiVersion);

  it('accepts every document of the example fleet, files of several kinds included', () => {
    const validate = validator('joch.schema.json');
    const files = yamlFiles(path.join(ROOT, 'examples/fleet')).filter((f) => !/joch(-test)?\.yaml$/.test(f));
    const multiKind = files.filter((f) => new Set(documents(f).map((d) => d.kind)).size > 1);
    expect(multiKind.length).toBeGreaterThan(0);
    let count = 0;
    for (const file of files) {
      for (const doc of documents(file)) {
        count++;
        expect(validate(doc), `${path.relative(ROOT, file)} ${String(doc.kind)}: ${JSON.stringify(validate.errors?.[0])}`).toBe(true);
      }
    }
    expect(count).toBeGreaterThan(50);
  });

  it('decides every conformance example of a catalog kind as that kind’s own schema does', () => {
    const validate = validator('joch.schema.json');
    const verdicts = { accepted: 0, rejected: 0 };
    for (const file of yamlFiles(path.join(ROOT, 'test/fixtures/conformance'))) {
      for (const doc of documents(file).filter(isJoch)) {
        const info = kindInfo(String(doc.kind));
        if (!info) continue;
        const own = validator(info.schemaFile)(doc);
        expect(validate(doc), `${path.basename(file)} ${info.kind}`).toBe(own);
        verdicts[own ? 'accepted' : 'rejected']++;
      }
    }
    expect(verdicts.accepted).toBeGreaterThan(40);
  });

  it('rejects a bad document with the error of its kind, at its place', () => {
    const validate = validator('joch.schema.json');
    const agent = { apiVersion: 'joch.dev/v1alpha1', kind: 'Agent', metadata: { name: 'a' }, spec: { framework: { adapter: 'x' }, tols: [] } };
    expect(validate(agent)).toBe(false);
    expect(validate.errors?.some((e) => e.schemaPath.startsWith('agent.schema.json') || e.instancePath.startsWith('/spec'))).toBe(true);
    const tool = { apiVersion: 'tools.joch.dev/v1alpha1', kind: 'Tool', metadata: { name: 't' }, spec: {} };
    expect(validate(tool)).toBe(validator('tool.schema.json')(tool));
    expect(validate(tool)).toBe(false);
  });

  it('rejects an unknown Joch kind and a document without a kind, and leaves other API groups alone', () => {
    const validate = validator('joch.schema.json');
    expect(validate({ apiVersion: 'joch.dev/v1alpha1', kind: 'Agnet', metadata: { name: 'a' } })).toBe(false);
    expect(validate({ apiVersion: 'joch.dev/v1alpha1', metadata: { name: 'a' } })).toBe(false);
    expect(validate({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 'many' } })).toBe(true);
  });
});
