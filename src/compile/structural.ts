/**
 * JSON Schema 2020-12 (schemas/*.json) to the structural OpenAPI v3 subset a
 * CustomResourceDefinition accepts. $refs are inlined; keywords Kubernetes
 * cannot express are dropped (if/then/else, propertyNames, format...) since
 * `joch validate` has already checked them; an unknown keyword is an error so
 * a new schema feature cannot be dropped without a decision here.
 */
import type { JsonSchema } from '../schema/index.js';

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
}

/** Kept as they are. */
const COPIED = ['description', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'] as const;

/** Dropped: annotations, or checks only `joch validate` makes (CRDs cannot express them). */
const DROPPED = new Set(['$schema', '$id', '$comment', 'title', 'examples', 'default', 'format', 'if', 'then', 'else', 'propertyNames', 'uniqueItems', 'not', 'dependentRequired', 'dependentSchemas', '$defs']);

/** Handled by the converter itself. */
const HANDLED = new Set(['$ref', 'type', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', ...COPIED]);

export type SchemaLookup = (file: string) => JsonSchema | undefined;

interface Ctx {
  readonly lookup: SchemaLookup;
  /** File of the schema being walked, for local `#/...` refs. */
  readonly file: string;
  /** Refs being inlined, to stop on recursion (CRD schemas cannot recurse). */
  readonly stack: readonly string[];
}

function resolveRef(ref: string, ctx: Ctx): { schema: JsonSchema; ctx: Ctx } {
  const [filePart, pointer = ''] = ref.split('#');
  const file = filePart || ctx.file;
  const id = `${file}#${pointer}`;
  if (ctx.stack.includes(id)) throw new Error(`recursive $ref ${id}: a CRD schema cannot express recursion`);
  let node: unknown = ctx.lookup(file);
  for (const seg of pointer.split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[decodeURIComponent(seg.replace(/~1/g, '/').replace(/~0/g, '~'))];
  }
  if (typeof node !== 'object' || node === null) throw new Error(`unresolved $ref ${ref} in ${ctx.file}`);
  return { schema: node as JsonSchema, ctx: { ...ctx, file, stack: [...ctx.stack, id] } };
}

/** Inlines a top-level $ref; the referrer's own keys (its description) win. */
function inline(schema: JsonSchema, ctx: Ctx): { schema: JsonSchema; ctx: Ctx } {
  if (typeof schema.$ref !== 'string') return { schema, ctx };
  const { $ref, ...rest } = schema;
  const target = resolveRef($ref as string, ctx);
  const merged = inline(target.schema, target.ctx);
  return { schema: { ...merged.schema, ...rest }, ctx: merged.ctx };
}

function jsonType(value: unknown): StructuralSchema['type'] {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

/** The branches of anyOf/oneOf: int|string becomes int-or-string, other mixes are free-form. */
function union(branches: readonly JsonSchema[], base: StructuralSchema, ctx: Ctx): StructuralSchema {
  const converted = branches.map((b) => convert(b, ctx));
  const types = new Set(converted.map((c) => c.type));
  if (types.size === 1 && !types.has(undefined)) {
    // Same type everywhere: keep the type (and an enum only if every branch has one).
    const enums = converted.every((c) => c.enum) ? [...new Set(converted.flatMap((c) => c.enum ?? []))] : undefined;
    const type = converted[0]?.type;
    if (type === 'object' || type === 'array') return { ...base, type, 'x-kubernetes-preserve-unknown-fields': true };
    return { ...base, ...(type ? { type } : {}), ...(enums ? { enum: enums } : {}) };
  }
  if (types.size === 2 && types.has('integer') && types.has('string')) return { ...base, 'x-kubernetes-int-or-string': true };
  if (types.size === 2 && types.has('integer') && types.has('number')) return { ...base, type: 'number' };
  return { ...base, 'x-kubernetes-preserve-unknown-fields': true };
}

function checkKeywords(schema: JsonSchema, ctx: Ctx): void {
  for (const k of Object.keys(schema)) {
    if (!HANDLED.has(k) && !DROPPED.has(k)) throw new Error(`schema keyword "${k}" in ${ctx.file} has no CRD mapping`);
  }
}

function typeOf(schema: JsonSchema, out: StructuralSchema): StructuralSchema['type'] | 'null-union' | undefined {
  const t = schema.type;
  if (Array.isArray(t)) {
    const real = t.filter((x) => x !== 'null');
    if (real.length !== 1) return undefined;
    if (real.length < t.length) out.nullable = true;
    return real[0] as StructuralSchema['type'];
  }
  if (typeof t === 'string') return t === 'null' ? 'null-union' : (t as StructuralSchema['type']);
  if ('const' in schema) return jsonType(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length) return jsonType(schema.enum[0]);
  if (schema.properties || schema.additionalProperties !== undefined) return 'object';
  if (schema.items) return 'array';
  return undefined;
}

function objectParts(schema: JsonSchema, out: StructuralSchema, ctx: Ctx): void {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props) {
    out.properties = {};
    for (const [name, sub] of Object.entries(props)) out.properties[name] = convert(sub, ctx);
  }
  const extra = schema.additionalProperties;
  if (extra === true || (extra === undefined && !props)) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  } else if (typeof extra === 'object' && extra !== null) {
    // Kubernetes forbids properties and additionalProperties together: known keys plus free-form rest.
    if (props) out['x-kubernetes-preserve-unknown-fields'] = true;
    else out.additionalProperties = convert(extra as JsonSchema, ctx);
  }
  if (Array.isArray(schema.required) && schema.required.length) out.required = [...(schema.required as string[])];
}

/** One schema node to its structural form. */
export function convert(input: JsonSchema, outer: Ctx): StructuralSchema {
  const { schema, ctx } = inline(input, outer);
  checkKeywords(schema, ctx);
  const out: StructuralSchema = {};
  for (const k of COPIED) if (schema[k] !== undefined) (out as Record<string, unknown>)[k] = schema[k];
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (branches) return union(branches, out, ctx);
  if (Array.isArray(schema.allOf)) throw new Error(`allOf in ${ctx.file} has no CRD mapping`);
  const type = typeOf(schema, out);
  if (type === undefined || type === 'null-union') return { ...out, 'x-kubernetes-preserve-unknown-fields': true };
  out.type = type;
  if ('const' in schema) out.enum = [schema.const];
  else if (Array.isArray(schema.enum)) out.enum = [...schema.enum];
  if (type === 'object') objectParts(schema, out, ctx);
  if (type === 'array') out.items = schema.items ? convert(schema.items as JsonSchema, ctx) : { 'x-kubernetes-preserve-unknown-fields': true };
  return out;
}

/**
 * The openAPIV3Schema of a kind: apiVersion, kind and metadata as Kubernetes
 * defines them (a CRD may not constrain metadata beyond name), the kind's
 * spec, and a free-form status the controller owns.
 */
export function structuralKindSchema(file: string, lookup: SchemaLookup): StructuralSchema {
  const root = lookup(file);
  if (!root) throw new Error(`schema ${file} not found`);
  const ctx: Ctx = { lookup, file, stack: [] };
  const props = (root.properties ?? {}) as Record<string, JsonSchema>;
  const spec = props.spec ? convert(props.spec, ctx) : { type: 'object' as const, 'x-kubernetes-preserve-unknown-fields': true as const };
  const required = Array.isArray(root.required) && (root.required as string[]).includes('spec') ? ['spec'] : undefined;
  return {
    type: 'object',
    ...(typeof root.description === 'string' ? { description: root.description } : {}),
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object' },
      spec,
      status: { type: 'object', description: 'Observed state, written by the Joch reconciler.', 'x-kubernetes-preserve-unknown-fields': true },
    },
    ...(required ? { required } : {}),
  };
}
