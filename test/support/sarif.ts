/** The official SARIF 2.1.0 schema, compiled once for the tests that check joch's SARIF output against it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

export function sarifValidator(): ValidateFunction {
  // The official schema is draft-04; ajv's default (draft-07) reads it once its draft-04 `id` is renamed.
  const file = path.resolve(import.meta.dirname, '../../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  const { $schema: _draft, id, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  return ajv.compile({ ...schema, $id: String(id) });
}
