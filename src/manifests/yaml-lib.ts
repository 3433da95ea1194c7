/**
 * The `yaml` library, loaded on first use. Files in the fast scanner's
 * subset (yaml-fast.ts) never need it, nor do the places of most findings
 * (locate.ts) or a common joch.yaml, so a small `joch validate` does not
 * load and evaluate its seventy modules. require() keeps the callers
 * synchronous; the command's bundle leaves `yaml` external, so this and
 * every other import of it share one copy.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return loaded;
}
