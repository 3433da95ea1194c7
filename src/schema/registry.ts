/**
 * The JSON Schemas in schemas/, loaded once and compiled per kind on first
 * use. The same files feed editors, the CRD generator and type generation.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js';
import { kindInfo } from '../model/kinds.js';

export const SCHEMA_BASE = 'https://joch.dev/schemas/v1alpha1/';

/** schemas/ sits two folders above both src/schema and dist/schema. */
export const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);

export type JsonSchema = Record<string, unknown>;

const requireCjs = createRequire(import.meta.url);
/** Standalone validators written by the build (see precompile.ts), beside this module in dist/. */
export const PRECOMPILED_FILE = new URL('./validators.generated.cjs', import.meta.url);

let schemas: Map<string, JsonSchema> | undefined;
let texts: Map<string, string> | undefined;
let ajv: Ajv2020 | undefined;
let precompiled: Record<string, ValidateFunction> | null | undefined;
const validators = new Map<string, ValidateFunction>();

function schemaTexts(): Map<string, string> {
  if (!texts) {
    texts = new Map();
    for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort()) {
      texts.set(file, readFileSync(new URL(file, SCHEMA_DIR), 'utf8'));
    }
  }
  return texts;
}

/** sha256 over every schema file's name and content. */
export function schemasHash(): string {
  const h = createHash('sha256');
  for (const [file, text] of schemaTexts()) h.update(file).update('\0').update(text).update('\0');
  return h.digest('hex');
}

/** Every schema file, by file name. */
export function loadSchemas(): ReadonlyMap<string, JsonSchema> {
  if (!schemas) {
    schemas = new Map();
    for (const [file, text] of schemaTexts()) schemas.set(file, JSON.parse(text) as JsonSchema);
  }
  return schemas;
}

/** A compiler with every schema added; `source` keeps the generated code for precompilation. */
export function newCompiler(code?: { source: boolean }): Ajv2020 {
  // Loaded on demand: with the build's precompiled validators, ajv itself is
  // never needed at run time (it costs ~70 ms to load).
  const { Ajv2020: Compiler } = requireCjs('ajv/dist/2020') as { Ajv2020: typeof Ajv2020 };
  const addFormats = requireCjs('ajv-formats') as (ajv: Ajv2020) => Ajv2020;
  const compiler = new Compiler({ allErrors: true, strict: true, verbose: true, ...(code ? { code } : {}) });
  addFormats(compiler);
  for (const schema of loadSchemas().values()) compiler.addSchema(schema);
  return compiler;
}

function loadPrecompiled(): Record<string, ValidateFunction> | null {
  try {
    const mod = requireCjs(PRECOMPILED_FILE.pathname) as Record<string, unknown>;
    return mod.schemasHash === schemasHash() ? (mod as Record<string, ValidateFunction>) : null;
  } catch {
    return null;
  }
}

/** The compiled validator of a catalog kind. */
export function validatorFor(kind: string): ValidateFunction {
  const hit = validators.get(kind);
  if (hit) return hit;
  const info = kindInfo(kind);
  if (!info) throw new Error(`no schema for kind ${kind}`);
  if (precompiled === undefined) precompiled = loadPrecompiled();
  const ready = precompiled?.[kind];
  if (ready) {
    validators.set(kind, ready);
    return ready;
  }
  ajv ??= newCompiler();
  const validate = ajv.getSchema(`${SCHEMA_BASE}${info.schemaFile}`);
  if (!validate) throw new Error(`schema ${info.schemaFile} is missing from schemas/`);
  validators.set(kind, validate);
  return validate;
}

/** The schema file of a kind, as data. */
export function schemaFor(kind: string): JsonSchema {
  const info = kindInfo(kind);
  const schema = info ? loadSchemas().get(info.schemaFile) : undefined;
  if (!schema) throw new Error(`no schema for kind ${kind}`);
  return schema;
}

