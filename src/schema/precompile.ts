/**
 * Build step: compiles every kind's schema to standalone validation code
 * (ajv's code generation) so the CLI loads validators in milliseconds instead
 * of compiling 25 schemas at every start (~280 ms here). The module records a
 * hash of schemas/; a stale module is ignored and the schemas are compiled at
 * run time instead.
 *
 * Run by `npm run build`: node dist/schema/precompile.js
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import standaloneModule from 'ajv/dist/standalone/index.js';
import { newCompiler, PRECOMPILED_FILE, SCHEMA_BASE, schemasHash } from './registry.js';
import { KINDS } from '../model/kinds.js';

// ajv's standalone entry is CommonJS; under NodeNext its default export arrives wrapped.
type Standalone = typeof standaloneModule.default;
const standaloneCode: Standalone =
  (standaloneModule as unknown as { default?: Standalone }).default ?? (standaloneModule as unknown as Standalone);

export function precompiledSource(): string {
  const ajv = newCompiler({ source: true });
  const refs: Record<string, string> = {};
  for (const k of KINDS) refs[k.kind] = `${SCHEMA_BASE}${k.schemaFile}`;
  const code = standaloneCode(ajv, refs);
  return `${code}\nexports.schemasHash = ${JSON.stringify(schemasHash())};\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(PRECOMPILED_FILE, precompiledSource());
}
