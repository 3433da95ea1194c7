/**
 * Reference implementations measured beside ours in the same benchmark run:
 * what a straightforward tool does with the same libraries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { LineCounter, parseAllDocuments } from 'yaml';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const SCHEMAS = new URL('../schemas/', import.meta.url);

function walk(dir: string, out: string[]): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(e.name) && e.name !== 'joch.yaml') out.push(p);
  }
  return out;
}

/**
 * Recursive readdir, `yaml` parseAllDocuments with a LineCounter, ajv compiled
 * in-process, one thread: seconds for the whole folder (best of `runs`), or
 * undefined when `runs` is 0.
 */
export function naiveValidate(dir: string, runs: number): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    const byKind = new Map<string, string>();
    for (const f of readdirSync(SCHEMAS)) {
      if (!f.endsWith('.schema.json')) continue;
      const schema = JSON.parse(readFileSync(new URL(f, SCHEMAS), 'utf8')) as { $id: string; properties?: { kind?: { const?: string } } };
      ajv.addSchema(schema);
      const kind = schema.properties?.kind?.const;
      if (kind) byKind.set(kind, schema.$id);
    }
    let errors = 0;
    for (const file of walk(dir, [])) {
      const lineCounter = new LineCounter();
      const docs = parseAllDocuments(readFileSync(file, 'utf8'), { lineCounter });
      for (const doc of Array.isArray(docs) ? docs : []) {
        const value = doc.toJS() as { kind?: string } | null;
        const id = value?.kind ? byKind.get(value.kind) : undefined;
        if (id && !ajv.validate(id, value)) errors++;
      }
    }
    const seconds = (performance.now() - start) / 1000;
    if (errors < 0) throw new Error('unreachable');
    if (best === undefined || seconds < best) best = seconds;
  }
  return best;
}
