/**
 * The zod schema of joch.yaml, for what common.ts does not decide. A static
 * import here; the command's bundle (src/cli/bundle.ts) replaces this module
 * with one that loads schema.ts, and zod with it, only when first asked.
 */
import * as schema from './schema.js';

export function configSchemaModule(): typeof schema {
  return schema;
}
