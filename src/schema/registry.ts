/**
 * The JSON Schemas in schemas/, loaded once and compiled per kind on first
 * use. The same files feed editors, the CRD generator and type generation.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { KINDS, kindInfo } from '../model/kinds.js';

export const SCHEMA_BASE = 'https://joch.dev/schemas/v1alpha1/';

/** schemas/ sits two folders above both src/schema and dist/schema. */
export const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);

export type JsonSchema = Record<string, unknown>;

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

let schemas: Map<string, JsonSchema> | undefined;
let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** Every schema file, by file name. */
export function loadSchemas(): ReadonlyMap<string, JsonSchema> {
  if (!schemas) {
    schemas = new Map();
    for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort()) {
      schemas.set(file, JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as JsonSchema);
    }
  }
  return schemas;
}

function compiler(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    addFormats(ajv);
    for (const schema of loadSchemas().values()) ajv.addSchema(schema);
  }
  return ajv;
}

/** The compiled validator of a catalog kind. */
export function validatorFor(kind: string): ValidateFunction {
  const hit = validators.get(kind);
  if (hit) return hit;
  const info = kindInfo(kind);
  if (!info) throw new Error(`no schema for kind ${kind}`);
  const validate = compiler().getSchema(`${SCHEMA_BASE}${info.schemaFile}`);
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

export function catalogSchemaFiles(): string[] {
  return KINDS.map((k) => k.schemaFile);
}
