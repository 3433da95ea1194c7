/**
 * Builds the command's bundle, dist/bundle/: the command as one CommonJS
 * script (joch.cjs, see buildCliScript), and as ES modules split in chunks
 * the worker thread entry and joch.yaml's zod schema, which the script loads
 * on demand. A start then reads a handful of files instead of resolving some
 * 270 modules (yaml and zod alone are 170), which was a third of a small
 * `joch validate`.
 *
 * The heavy dependencies of the other commands (the cluster client, cdk8s,
 * the Git library, the logger, the signing library, metrics, ajv's compiler)
 * and `yaml` (which the validate path loads only on demand) stay external:
 * they load from node_modules when used (the script require()s them, which
 * Node >= 22.12 does for ES module packages too). What is inlined (commander, ignore,
 * semver, zod, ajv's runtime helpers) needs no module resolution at run
 * time; its licences go into dist/bundle/THIRD-PARTY-NOTICES.txt.
 *
 * The bundle sits two folders deep, like dist/schema, so `../../schemas/`,
 * `../../package.json` and `../../templates/` resolve from it as from the
 * modules it inlines; the worker (worker.js) and the precompiled validators
 * (validators.generated.cjs) sit beside it, where parallel.ts and
 * registry.ts look for them.
 *
 * Deterministic: chunk names are content hashes, esbuild keeps input order
 * and writes no timestamps, paths in comments are relative.
 *
 *   node dist/cli/bundle.js        (the last step of `npm run build`)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { bundleCodeDigest, CODE_DIGEST_FILE } from '../cache/build-id.js';
import { precompiledSource } from '../schema/precompile.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_BUNDLE_DIR = 'dist/bundle';
export const NOTICES_FILE = 'THIRD-PARTY-NOTICES.txt';

/** The oldest Node the package supports (`engines`): the syntax target of the command's bundle. */
const CLI_TARGET = 'node22';

/** Loaded from node_modules when a command needs them, never inlined (see above). */
export const EXTERNAL_PACKAGES = [
  '@kubernetes/client-node',
  'ajv',
  'ajv-formats',
  'canonicalize',
  'cdk8s',
  'constructs',
  'isomorphic-git',
  'openpgp',
  'pino',
  'prom-client',
  // Loaded on demand on the validate path (src/manifests/yaml-lib.ts): one copy for it and every import.
  'yaml',
] as const;

/** What every bundle of this repository shares, ES module or CommonJS. */
function baseOptions(target: string, format: 'esm' | 'cjs'): BuildOptions {
  return { absWorkingDir: REPO_ROOT, bundle: true, platform: 'node', format, target, legalComments: 'eof', logLevel: 'warning' };
}

/** What every ES module bundle of this repository shares (the command's and the GitHub Action's). */
export function esmBundleOptions(target: string): BuildOptions {
  return {
    ...baseOptions(target, 'esm'),
    // Bundled CommonJS dependencies call require() for node: built-ins; an ES module has none.
    banner: { js: "import { createRequire as __jochRequire } from 'node:module';\nconst require = __jochRequire(import.meta.url);" },
  };
}

/**
 * The precompiled schema validators with the ajv runtime helpers they
 * require, as one CommonJS file: the registry loads it with require() at run
 * time. From stdin, so no scratch path ends up in the output.
 */
export async function bundleValidators(outFile: string, target: string): Promise<Metafile> {
  const result = await build({
    ...baseOptions(target, 'cjs'),
    stdin: { contents: precompiledSource(), resolveDir: REPO_ROOT, sourcefile: 'validators.generated.cjs', loader: 'js' },
    outfile: outFile,
    metafile: true,
  });
  return result.metafile;
}

/** Writes the command's bundle into `outDir` (absolute), replacing what was there; returns what went into each file. */
export async function buildCliBundle(outDir: string): Promise<Metafile> {
  // Stale chunks of an earlier build would be harmless but shipped: start empty.
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    ...esmBundleOptions(CLI_TARGET),
    entryPoints: { worker: 'src/schema/worker.ts', 'config-schema': 'src/config/schema.ts' },
    outdir: outDir,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    external: EXTERNAL_PACKAGES.flatMap((name) => [name, `${name}/*`]),
    // Licences go to the notices file, which covers the validators too.
    legalComments: 'none',
    metafile: true,
    plugins: [lazyConfigSchema],
  });
  const script = await buildCliScript(outDir);
  const validators = await bundleValidators(path.join(outDir, 'validators.generated.cjs'), CLI_TARGET);
  writeFileSync(path.join(outDir, NOTICES_FILE), noticesText([result.metafile, script, validators]));
  // Last: the digest covers every code file written above.
  writeFileSync(path.join(outDir, CODE_DIGEST_FILE), `${bundleCodeDigest(outDir)}\n`);
  return { inputs: { ...result.metafile.inputs, ...script.inputs }, outputs: { ...result.metafile.outputs, ...script.outputs } };
}

/** The command's script: what bin/joch.js compiles with V8's code cache (see below). */
export const CLI_SCRIPT = 'joch.cjs';

/**
 * The whole command as one CommonJS function expression, `(function
 * (exports, require, module, __filename, __dirname, __jochModuleUrl) {...})`,
 * which bin/joch.js compiles with vm.Script. Its point is the code cache:
 * Node's compile cache is written when a module is compiled, before it runs,
 * so the functions V8 compiles lazily while a command runs (most of them)
 * were compiled again at every start; `script.createCachedData()` after the
 * run holds them too. One script, not chunks: a vm.Script has no static
 * imports, and the code of the commands a run does not use costs little
 * (its functions are never compiled; measured, a script of the validate path
 * alone started 4 ms faster out of 85). import.meta.url becomes the script's
 * own URL, so files beside it resolve as from the ES module chunks.
 */
async function buildCliScript(outDir: string): Promise<Metafile> {
  const external = EXTERNAL_PACKAGES.filter((name) => requirable(name));
  const result = await build({
    ...baseOptions(CLI_TARGET, 'cjs'),
    entryPoints: ['src/cli/main.ts'],
    outfile: path.join(outDir, CLI_SCRIPT),
    legalComments: 'none',
    external: external.flatMap((name) => [name, `${name}/*`]),
    define: { 'import.meta.url': '__jochModuleUrl' },
    banner: { js: '(function (exports, require, module, __filename, __dirname, __jochModuleUrl) {' },
    footer: { js: '})' },
    metafile: true,
    plugins: [lazyConfigSchema],
    charset: 'ascii',
  });
  const file = path.join(outDir, CLI_SCRIPT);
  writeFileSync(file, asciiOnly(readFileSync(file, 'utf8')));
  return result.metafile;
}

/**
 * The script loads the packages it leaves out with require(), which cannot
 * load a package whose exports offer only an `import` path (canonicalize, a
 * single small function): those are inlined instead.
 */
function requirable(name: string): boolean {
  try {
    createRequire(path.join(REPO_ROOT, 'package.json')).resolve(name);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return false;
    throw e;
  }
}

/**
 * esbuild escapes non-ASCII characters in code (`charset: 'ascii'`) but
 * keeps some comments as written. One such character makes
 * the whole 2 MB script a two-byte string, read and decoded at three times
 * the cost; ASCII read as latin1 is a plain copy. So the comments' characters
 * become `?`, and anything else is an error of the build.
 */
function asciiOnly(text: string): string {
  const out = text.replace(/^\s*(?:\/\/|\/\*|\*).*$/gm, (line) => line.replace(/[\u0080-\uffff]/g, '?'));
  const stray = /[\u0080-\uffff]/.exec(out);
  if (stray) throw new Error(`${CLI_SCRIPT}: a non-ASCII character outside a comment at offset ${stray.index}`);
  return out;
}

/**
 * joch.yaml's zod schema loads on demand: src/config/load-schema.ts imports
 * it statically (tests and the library run it as is); in the bundle it
 * becomes a require() of the schema's own entry, config-schema.js, which
 * Node (>= 22.12) runs synchronously like any ES module without top-level
 * await. A valid common joch.yaml never asks (src/config/common.ts).
 */
const lazyConfigSchema: Plugin = {
  name: 'lazy-config-schema',
  setup(b) {
    b.onResolve({ filter: /^\.\/load-schema\.js$/ }, (args) =>
      args.importer.endsWith(path.join('src', 'config', 'index.ts')) ? { path: 'load-schema', namespace: 'joch-lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'joch-lazy' }, () => ({
      loader: 'js',
      contents: [
        "import { createRequire } from 'node:module';",
        'let loaded;',
        "export function configSchemaModule() { return (loaded ??= createRequire(import.meta.url)('./config-schema.js')); }",
      ].join('\n'),
    }));
  },
};

/**
 * For a bundle that inlines `yaml` (the Action's, which runs with no
 * node_modules): src/manifests/yaml-lib.ts, which loads `yaml` with
 * require() at run time, becomes a static import that esbuild inlines.
 */
export const inlineYamlLib: Plugin = {
  name: 'inline-yaml-lib',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/(?:manifests\/)?yaml-lib\.js$/ }, (args) =>
      path.join(args.resolveDir, args.path).endsWith(path.join('src', 'manifests', 'yaml-lib.js')) ? { path: 'yaml-lib', namespace: 'joch-yaml' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'joch-yaml' }, () => ({
      loader: 'js',
      resolveDir: REPO_ROOT,
      contents: "import * as yaml from 'yaml';\nexport function yamlLib() { return yaml; }",
    }));
  },
};

/** `node_modules/@scope/name/...` or `node_modules/name/...` to the package's folder, nearest node_modules last. */
function packageFolderOf(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

/** Every inlined package's name, version, licence and licence text, sorted by name. */
export function noticesText(metafiles: readonly Metafile[]): string {
  const folders = new Set<string>();
  for (const meta of metafiles) {
    for (const input of Object.keys(meta.inputs)) {
      const folder = packageFolderOf(input);
      if (folder) folders.add(folder);
    }
  }
  const entries = [...folders].map((folder) => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, folder, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    return { pkg, text: licenceText(path.join(REPO_ROOT, folder)) };
  });
  entries.sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : 0));
  const header = 'The joch command (dist/bundle) includes the following packages, under the licences below.\n';
  const sections = entries.map(({ pkg, text }) => `${'-'.repeat(72)}\n${pkg.name} ${pkg.version} (${pkg.license ?? 'see below'})\n\n${text.trim()}\n`);
  return `${header}\n${sections.join('\n')}`;
}

function licenceText(folder: string): string {
  const file = readdirSync(folder)
    .filter((name) => /^licen[cs]e(?:[.-][a-z0-9]+)?$/i.test(name))
    .sort()[0];
  if (!file) throw new Error(`${path.relative(REPO_ROOT, folder)} has no licence file to carry into ${NOTICES_FILE}`);
  return readFileSync(path.join(folder, file), 'utf8');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = path.join(REPO_ROOT, CLI_BUNDLE_DIR);
  if (!existsSync(path.join(REPO_ROOT, 'src'))) throw new Error('the bundle is built from a checkout (src/ is missing)');
  await buildCliBundle(outDir);
}
