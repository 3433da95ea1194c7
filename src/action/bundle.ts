/**
 * Builds the Action's committed bundle, action/lib/: the entry with every
 * dependency inlined (index.js), the worker thread that checks files of a
 * large repository (worker.js), and the precompiled schema validators with
 * theirs (validators.generated.cjs), so a workflow runs the Action from its
 * checkout with nothing installed. The bundle sits two folders deep, like
 * src/schema and dist/schema, so the `../../schemas/` and `../../package.json`
 * the modules resolve from their own location are the repository's.
 *
 * Deterministic: the same sources give byte-identical files (esbuild keeps
 * input order, no timestamps; paths in its comments are relative).
 *
 *   npm run build:action
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { allCodes } from '../diagnostics/index.js';
import { codesReference } from '../diagnostics/rules.js';
import { bundleValidators, esmBundleOptions, inlineYamlLib } from '../cli/bundle.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUNDLE_DIR = 'action/lib';
export const BUNDLE_FILES = ['index.js', 'worker.js', 'validators.generated.cjs'] as const;
export const REBUILD_COMMAND = 'npm run build:action';

/** Node 24 is what `runs.using: node24` gives; the syntax target follows it. */
const TARGET = 'node24';

/** Writes the bundle into `outDir` (absolute). */
export async function buildActionBundle(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  // The worker thread of src/schema/parallel.ts looks for worker.js beside the module that starts it.
  for (const [entry, file] of [['src/action/main.ts', 'index.js'], ['src/schema/worker.ts', 'worker.js']] as const) {
    await build({ ...esmBundleOptions(TARGET), entryPoints: [entry], outfile: path.join(outDir, file), plugins: [inlineYamlLib] });
  }
  await bundleValidators(path.join(outDir, 'validators.generated.cjs'), TARGET);
}

/** docs/codes.md, which the SARIF rules' helpUri points at. */
export const CODES_REFERENCE = 'docs/codes.md';

export function codesReferenceText(): string {
  return codesReference(allCodes());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildActionBundle(path.join(REPO_ROOT, BUNDLE_DIR));
  writeFileSync(path.join(REPO_ROOT, CODES_REFERENCE), codesReferenceText());
}
