/**
 * The schema pass: every document of a catalog kind against its JSON Schema,
 * with ajv's errors turned into findings a person can act on: at the line of
 * the offending key or value, with the JSON path, the allowed values or the
 * nearest field name, and the field's own description as a hint.
 */
import type { ErrorObject } from 'ajv';
import { didYouMean, finding, formatPath, type Finding, type PathSegment, type ResourceRef } from '../diagnostics/index.js';
import type { ManifestDocument } from '../manifests/index.js';
import { loadSchemas, SCHEMA_BASE, validatorFor, type JsonSchema } from './registry.js';
import { looksSecret } from './secrets.js';

export function schemaFindings(d: ManifestDocument, resource: ResourceRef | undefined): Finding[] {
  const validate = validatorFor(d.kind.kind);
  if (validate(d.body)) return [];
  return explainErrors(validate.errors ?? [], d, resource);
}

/** What a document's findings say about where it is: the same identity the other passes use. */
export function documentRef(d: ManifestDocument, defaultNamespace?: string): ResourceRef | undefined {
  const md = d.body.metadata as Record<string, unknown> | undefined;
  const name = md && typeof md.name === 'string' ? md.name : undefined;
  if (!name) return undefined;
  const written = md && typeof md.namespace === 'string' ? md.namespace : undefined;
  const ns = d.kind.scope === 'Namespaced' ? (written ?? defaultNamespace) : undefined;
  return ns ? { kind: d.kind.kind, namespace: ns, name } : { kind: d.kind.kind, name };
}

function explainErrors(errors: readonly ErrorObject[], d: ManifestDocument, resource: ResourceRef | undefined): Finding[] {
  const kept = pruneBranchNoise(errors, d.body);
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const f = explain(e, d, resource);
    if (!f) continue;
    const key = `${f.code}|${JSON.stringify(f.at)}|${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}

/**
 * ajv reports every failed branch of an anyOf and the "must match then" of
 * every if. Keep what explains the failure: for an anyOf, the errors of the
 * one branch whose type the value has, or else a single summary.
 */
function pruneBranchNoise(errors: readonly ErrorObject[], body: unknown): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const e of errors) {
    if (e.keyword === 'if') drop.add(e);
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    const prefix = `${e.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const sub of errors) {
      // The same schema path fails for every item of a list: keep to this value's own errors.
      if (!sub.schemaPath.startsWith(prefix) || !within(sub.instancePath, e.instancePath)) continue;
      const branch = sub.schemaPath.slice(prefix.length).split('/')[0] ?? '';
      branches.set(branch, [...(branches.get(branch) ?? []), sub]);
      drop.add(sub);
    }
    const value = valueAt(body, e.instancePath);
    const sameType = [...branches.values()].filter(
      (errs) => !errs.some((x) => x.keyword === 'type' && x.instancePath === e.instancePath),
    );
    if (sameType.length === 1 && sameType[0]) {
      drop.add(e);
      for (const x of sameType[0]) drop.delete(x);
    } else if (value === undefined) {
      drop.add(e);
    }
  }
  return errors.filter((e) => !drop.has(e));
}

/** Whether the JSON pointer `inner` is `outer` or below it. */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

function explain(e: ErrorObject, d: ManifestDocument, resource: ResourceRef | undefined): Finding | undefined {
  const path = toPath(d.body, e.instancePath);
  const where = formatPath(path) || 'the top level';
  const at = (p: PathSegment[], part?: 'key' | 'value') => ({ file: d.file, doc: d.doc, path: p, ...(part ? { part } : {}) });
  const parent = e.parentSchema as JsonSchema | undefined;
  const opts = (hint?: string) => ({ resource, hint });

  switch (e.keyword) {
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const desc = describeProperty(parent, missing);
      return finding('JOCH302', `missing required field "${missing}" in ${where}`, at([...path, missing]), opts(desc));
    }
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((parent?.properties as Record<string, unknown> | undefined) ?? {});
      const elsewhere = fieldPaths(d.kind.kind).get(extra);
      const hint =
        didYouMean(extra, allowed) ??
        (elsewhere ? `"${extra}" belongs at ${elsewhere.join(' or ')}` : undefined) ??
        (allowed.length ? `${d.kind.kind} allows here: ${allowed.join(', ')}` : undefined);
      return finding('JOCH303', `unknown field "${extra}" in ${where}`, at([...path, extra], 'key'), opts(hint));
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => String(v));
      const value = String(e.data);
      return finding('JOCH304', `${show(e.data)} is not an allowed value of ${where}; allowed: ${allowed.join(', ')}`, at(path), opts(didYouMean(value, allowed)));
    }
    case 'const':
      return finding('JOCH304', `${where} must be ${show((e.params as { allowedValue: unknown }).allowedValue)}`, at(path), opts());
    case 'type': {
      const expected = String((e.params as { type: string | string[] }).type);
      return finding('JOCH301', `${where} must be ${article(expected)}, not ${article(jsonType(e.data))}`, at(path), opts(describe(parent)));
    }
    case 'pattern':
    case 'format': {
      const rule = e.keyword === 'format' ? `a valid ${String((e.params as { format: string }).format)}` : 'in the required form';
      return finding('JOCH305', `${show(e.data)} at ${where} is not ${rule}`, at(path), opts(describe(parent)));
    }
    case 'propertyNames': {
      const name = String((e.params as { propertyName: string }).propertyName);
      return finding('JOCH305', `the key "${name}" in ${where} is not in the required form`, at([...path, name], 'key'), opts(describe(parent)));
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return finding('JOCH306', `${where} ${e.message ?? 'is out of range'}`, at(path), opts(describe(parent)));
    case 'anyOf':
    case 'oneOf':
      return finding('JOCH307', `${where} must be ${summarizeBranches(e.schema)}`, at(path), opts(describe(parent)));
    default:
      return finding('JOCH307', `${where} ${e.message ?? 'is not valid'}`, at(path), opts(describe(parent)));
  }
}

const FIELD_PATHS = new Map<string, Map<string, string[]>>();

/** Where each field name occurs in a kind's schema, as user-facing paths (`spec.summary.activeArtifacts`). */
function fieldPaths(kind: string): Map<string, string[]> {
  const hit = FIELD_PATHS.get(kind);
  if (hit) return hit;
  const out = new Map<string, string[]>();
  const visit = (schema: JsonSchema | undefined, path: string, depth: number) => {
    if (!schema || depth > 8) return;
    const s = typeof schema.$ref === 'string' ? { ...resolveRef(schema.$ref), ...schema } : schema;
    for (const [name, child] of Object.entries((s.properties as Record<string, JsonSchema> | undefined) ?? {})) {
      const p = path ? `${path}.${name}` : name;
      out.set(name, [...(out.get(name) ?? []), p]);
      visit(child, p, depth + 1);
    }
    if (s.items && typeof s.items === 'object') visit(s.items as JsonSchema, `${path}[]`, depth + 1);
  };
  const info = loadSchemas();
  const file = [...info.entries()].find(([, sc]) => (sc.properties as Record<string, { const?: unknown }> | undefined)?.kind?.const === kind);
  visit(file?.[1], '', 0);
  FIELD_PATHS.set(kind, out);
  return out;
}

/** Turns a JSON pointer into path segments, with array indexes as numbers. */
function toPath(body: unknown, pointer: string): PathSegment[] {
  if (!pointer) return [];
  const out: PathSegment[] = [];
  let node: unknown = body;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const i = Number(seg);
      out.push(i);
      node = node[i];
    } else {
      out.push(seg);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function valueAt(body: unknown, pointer: string): unknown {
  let node: unknown = body;
  for (const seg of toPath(body, pointer)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

/** The description of a property of a schema, following a $ref if the property has none of its own. */
function describeProperty(schema: JsonSchema | undefined, prop: string): string | undefined {
  const props = schema?.properties as Record<string, JsonSchema> | undefined;
  const p = props?.[prop];
  if (!p) {
    // Conditional requirements re-declare the field in a branch; look at the branch itself.
    return undefined;
  }
  return describe(p);
}

function describe(schema: JsonSchema | undefined): string | undefined {
  if (!schema) return undefined;
  if (typeof schema.description === 'string') return schema.description;
  if (typeof schema.$ref === 'string') return describe(resolveRef(schema.$ref));
  return undefined;
}

function resolveRef(ref: string): JsonSchema | undefined {
  const [file, pointer] = ref.replace(SCHEMA_BASE, '').split('#');
  const doc = loadSchemas().get(file ?? '');
  if (!doc) return undefined;
  let node: unknown = doc;
  for (const seg of (pointer ?? '').split('/').filter(Boolean)) {
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return node as JsonSchema | undefined;
}

function summarizeBranches(branches: unknown): string {
  if (!Array.isArray(branches)) return 'one of the allowed forms';
  const forms = branches.map((b: JsonSchema) => {
    const type = typeof b.type === 'string' ? b.type : 'value';
    const values = Array.isArray(b.enum) ? ` (${b.enum.map(String).join(', ')})` : '';
    return `${article(type)}${values}`;
  });
  return forms.join(' or ');
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function article(type: string): string {
  const noun = type === 'array' ? 'list' : type === 'object' ? 'mapping' : type;
  if (noun === 'null') return 'null';
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** A short rendering of a value for a message. */
function show(v: unknown): string {
  if (typeof v === 'string' && looksSecret(v)) return '(a value that looks like a credential)';
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
