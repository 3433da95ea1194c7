import { describe, expect, it } from 'vitest';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { jochCrds } from '../../src/compile/index.js';
import { convert, structuralKindSchema, type StructuralSchema } from '../../src/compile/structural.js';
import { JOCH_GROUPS, KINDS } from '../../src/model/kinds.js';
import { loadSchemas, type JsonSchema } from '../../src/schema/index.js';
import { get } from './helpers.js';

const ALLOWED = new Set([
  'type', 'description', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength',
  'minItems', 'maxItems', 'minProperties', 'maxProperties', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
]);

/** The structural-schema rules of apiextensions v1, as far as a walk can check them; returns the violations. */
function structuralProblems(node: StructuralSchema, at: string, out: string[] = []): string[] {
  const free = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  for (const k of Object.keys(node)) if (!ALLOWED.has(k)) out.push(`${at}: keyword ${k}`);
  if (!node.type && !free) out.push(`${at}: no type`);
  if (node.properties && node.additionalProperties) out.push(`${at}: properties and additionalProperties`);
  if (node.properties && node.type !== 'object') out.push(`${at}: properties on ${node.type}`);
  if (node.items && node.type !== 'array') out.push(`${at}: items on ${node.type}`);
  if (node.type === 'array' && !node.items) out.push(`${at}: array without items`);
  for (const r of node.required ?? []) if (!node.properties?.[r]) out.push(`${at}: required ${r} is not a property`);
  for (const v of node.enum ?? []) {
    const t = typeof v === 'number' ? (Number.isInteger(v) ? ['integer', 'number'] : ['number']) : [typeof v];
    if (node.type && !t.includes(node.type)) out.push(`${at}: enum value ${String(v)} is not ${node.type}`);
  }
  for (const [name, sub] of Object.entries(node.properties ?? {})) structuralProblems(sub, `${at}.${name}`, out);
  if (node.additionalProperties) structuralProblems(node.additionalProperties, `${at}[*]`, out);
  if (node.items) structuralProblems(node.items, `${at}[]`, out);
  return out;
}

const lookupOf = (schemas: Record<string, JsonSchema>) => (file: string) => schemas[file];
const one = (schema: JsonSchema, extra: Record<string, JsonSchema> = {}) => convert(schema, { lookup: lookupOf({ 'x.json': schema, ...extra }), file: 'x.json', stack: [] });

describe('JSON Schema to a structural CRD schema', () => {
  it('inlines $refs across files, the referrer description winning', () => {
    const common = { $defs: { name: { type: 'string', description: 'a name', pattern: '^[a-z]+$' } } };
    const out = one({ type: 'object', properties: { n: { $ref: 'c.json#/$defs/name', description: 'mine' } } }, { 'c.json': common });
    expect(out.properties?.n).toEqual({ type: 'string', description: 'mine', pattern: '^[a-z]+$' });
  });

  it('turns const into a one-value enum with the type of the value', () => {
    expect(one({ const: 'Agent' })).toEqual({ type: 'string', enum: ['Agent'] });
  });

  it('maps free-form objects to preserve-unknown-fields and drops additionalProperties: false', () => {
    expect(one({ type: 'object', additionalProperties: true })).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(one({ type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } })).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
    expect(one({ type: 'object', additionalProperties: { type: 'integer' } })).toEqual({ type: 'object', additionalProperties: { type: 'integer' } });
  });

  it('maps anyOf int|string to int-or-string and other mixes to preserve-unknown-fields', () => {
    expect(one({ anyOf: [{ type: 'integer' }, { type: 'string' }] })).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(one({ description: 'd', anyOf: [{ type: 'number' }, { type: 'string' }] })).toEqual({ description: 'd', 'x-kubernetes-preserve-unknown-fields': true });
    expect(one({ anyOf: [{ type: 'string', enum: ['a'] }, { type: 'string', enum: ['b'] }] })).toEqual({ type: 'string', enum: ['a', 'b'] });
  });

  it('drops what a CRD cannot express and refuses what it does not know', () => {
    const out = one({ type: 'object', properties: { a: { type: 'string', format: 'uri' } }, if: { required: ['a'] }, then: { required: ['a'] }, propertyNames: { pattern: 'x' } });
    expect(out).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
    expect(() => one({ type: 'string', contentEncoding: 'base64' })).toThrow(/contentEncoding/);
    expect(() => one({ $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } })).toThrow(/recursive/);
  });

  it('gives every kind a root schema Kubernetes accepts: metadata unconstrained, status free-form', () => {
    const schemas = loadSchemas();
    for (const k of KINDS) {
      const s = structuralKindSchema(k.schemaFile, (f) => schemas.get(f));
      expect(structuralProblems(s, k.kind), k.kind).toEqual([]);
      expect(s.properties?.metadata).toEqual({ type: 'object' });
      expect(s.properties?.status?.['x-kubernetes-preserve-unknown-fields']).toBe(true);
    }
  });
});

describe('the Joch CRDs', () => {
  const crds = jochCrds('applyset-test-v1');

  it('cover every Joch kind in its Joch group, with status, short names and the joch category', () => {
    expect(crds.map((c) => get(c, 'spec', 'names', 'kind')).sort()).toEqual(KINDS.map((k) => k.kind).sort());
    const shortNames = crds.flatMap((c) => get(c, 'spec', 'names', 'shortNames') as string[]);
    expect(new Set(shortNames).size).toBe(shortNames.length);
    for (const c of crds) {
      expect(JOCH_GROUPS).toContain(get(c, 'spec', 'group'));
      expect(get(c, 'spec', 'names', 'categories')).toEqual(['joch']);
      expect(get(c, 'spec', 'versions', 0, 'subresources')).toEqual({ status: {} });
      expect(c.metadata.name).toBe(`${String(get(c, 'spec', 'names', 'plural'))}.${String(get(c, 'spec', 'group'))}`);
    }
  });

  it('print phase, age and a field of the kind, each naming a field of the schema', () => {
    for (const c of crds) {
      const version = get(c, 'spec', 'versions', 0) as { additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: StructuralSchema } };
      const cols = version.additionalPrinterColumns;
      expect(cols.map((x) => x.name).slice(-2)).toEqual(['Phase', 'Age']);
      expect(cols.length, c.metadata.name).toBeGreaterThan(2);
      for (const col of cols.slice(0, -2)) {
        const node = col.jsonPath.split('.').filter(Boolean).reduce<StructuralSchema | undefined>((n, seg) => n?.properties?.[seg], version.schema.openAPIV3Schema);
        expect(node, `${c.metadata.name} ${col.jsonPath}`).toBeDefined();
      }
    }
    const agent = crds.find((c) => c.metadata.name === 'agents.joch.dev');
    expect((get(agent, 'spec', 'versions', 0, 'additionalPrinterColumns') as { jsonPath: string }[]).map((c) => c.jsonPath)).toContain('.spec.framework.adapterRef.name');
  });

  it('validate against the Kubernetes CustomResourceDefinition schema', () => {
    for (const c of crds) expect(() => new CustomResourceDefinition(c as never).validate(), c.metadata.name).not.toThrow();
  });

  it('carry the inventory label', () => {
    for (const c of crds) expect(c.metadata.labels?.['applyset.kubernetes.io/part-of']).toBe('applyset-test-v1');
  });
});
