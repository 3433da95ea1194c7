/**
 * Writes the JSON Schemas that are derived rather than written by hand:
 *
 * - joch-config.schema.json, from the zod schema that parses joch.yaml;
 * - policy-test.schema.json, from the zod schema of joch-test.yaml files;
 * - joch.schema.json, every kind of the catalog chosen by `kind`, for files
 *   that hold several kinds.
 *
 * `npm run schemas` rewrites them; test/package/schemas.test.ts fails when a
 * committed file differs from what this produces, so the zod schemas stay the
 * single source and the files cannot drift.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigSchema } from '../src/config/schema.js';
import { KINDS, NON_CATALOG_KINDS } from '../src/model/kinds.js';
import { PolicyTestSchema } from '../src/policy/testing.js';
import { SCHEMA_BASE, SCHEMA_DIR, type JsonSchema } from '../src/schema/registry.js';

/** Group-qualified or short: `joch.dev/v1alpha1`, `tools.joch.dev/v1alpha1`; the loader's rule. */
const JOCH_API_VERSION = '^([a-z0-9-]+\\.)*joch\\.dev/';

function fromZod(schema: z.ZodType, file: string, title: string, description: string): JsonSchema {
  // `input`: what a user writes, where fields with defaults may be left out.
  const { $schema, ...body } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
  return { $schema, $id: `${SCHEMA_BASE}${file}`, title, description, ...body };
}

function configSchema(): JsonSchema {
  return fromZod(
    ConfigSchema,
    'joch-config.schema.json',
    'joch.yaml',
    'Project configuration of a repository of Joch records, at its root: what to read, the default namespace, severities per diagnostic code, limits and policy settings. Every key is optional.',
  );
}

function policyTestSchema(): JsonSchema {
  return fromZod(
    PolicyTestSchema,
    'policy-test.schema.json',
    'PolicyTest',
    'A table-driven policy test (joch-test.yaml), run by `joch policy test`: the manifests it reads and the expected decision for each agent or capability. Each case must expect at least one of outcome, decidedBy, deferred or findings.',
  );
}

/**
 * One schema for any document: a Joch apiVersion and `kind` select the
 * kind's own schema (if/then, so the editor reports the errors of that kind
 * only). Documents of other API groups are left alone, as `joch validate`
 * ignores them with a warning.
 */
function anyKindSchema(): JsonSchema {
  const isJoch = { properties: { apiVersion: { type: 'string', pattern: JOCH_API_VERSION } }, required: ['apiVersion'] };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${SCHEMA_BASE}joch.schema.json`,
    title: 'Joch resource',
    description:
      'Any kind of the Joch resource catalog, chosen by apiVersion and kind: for files that hold several kinds. A document of another API group (a plain Kubernetes object) is not checked.',
    type: 'object',
    required: ['apiVersion', 'kind'],
    properties: {
      apiVersion: { type: 'string', description: 'API version: the short `joch.dev/v1alpha1` or the group-qualified form of the kind, such as `tools.joch.dev/v1alpha1`.' },
      kind: { type: 'string', description: 'Resource kind.' },
    },
    allOf: [
      { if: isJoch, then: { properties: { kind: { enum: [...KINDS.map((k) => k.kind), ...NON_CATALOG_KINDS.keys()] } } } },
      ...KINDS.map((k) => ({
        if: { properties: { ...isJoch.properties, kind: { const: k.kind } }, required: ['apiVersion', 'kind'] },
        then: { $ref: k.schemaFile },
      })),
    ],
  };
}

/** The generated files by name, as they are committed: two-space JSON and a final newline. */
export function generatedSchemas(): ReadonlyMap<string, string> {
  const text = (s: JsonSchema): string => `${JSON.stringify(s, null, 2)}\n`;
  return new Map([
    ['joch-config.schema.json', text(configSchema())],
    ['policy-test.schema.json', text(policyTestSchema())],
    ['joch.schema.json', text(anyKindSchema())],
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, content] of generatedSchemas()) writeFileSync(new URL(file, SCHEMA_DIR), content);
}
