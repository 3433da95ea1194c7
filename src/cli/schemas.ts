/**
 * `joch schemas [ROOT]`: gives a repository of Joch records editor
 * completion and checks without a checkout of joch. It copies the installed
 * package's JSON Schemas into the repository (default `.joch/schemas/`) and
 * maps its files to them in `.vscode/settings.json` (`yaml.schemas`, read by
 * the YAML language server): joch.yaml, joch-test.yaml files, and every other
 * YAML file under the configured paths to the schema that dispatches on kind.
 *
 * Copies rather than paths into the installed package: they are the same on
 * every machine, can be committed, and match the joch version that wrote
 * them (run the command again after an upgrade).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { findConfigFile, loadConfig } from '../config/index.js';
import { SCHEMA_DIR } from '../schema/registry.js';
import { checkOptions, UsageError, type CommandContext, type CommandInput } from './context.js';

const Options = z.object({
  /** Where the schemas go, relative to the root; it must stay inside it. */
  dir: z.string().min(1).default('.joch/schemas'),
  settings: z.enum(['vscode', 'none']).default('vscode'),
});

/** The YAML language server's setting: schema file to one or more globs (`!` excludes). */
export type YamlSchemas = Record<string, string | string[]>;

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const options = checkOptions({ dir: input.opts.dir, settings: input.opts.settings }, Options);
  const root = repositoryRoot(input.args[0], ctx.cwd);
  const dir = path.resolve(root, options.dir);
  const rel = toPosix(path.relative(root, dir));
  if (!rel || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) throw new UsageError(`--dir must be a folder inside ${root}`);

  const files = copySchemas(dir);
  ctx.stdout(`wrote ${files.length} schemas to ${shown(ctx.cwd, dir)}\n`);
  if (options.settings === 'none') return 0;

  const { config } = loadConfig(root, undefined, root);
  const mapping = yamlSchemas(rel, config.paths);
  const settingsFile = path.join(root, '.vscode', 'settings.json');
  const merged = mergeSettings(settingsFile, rel, mapping);
  if (merged === undefined) {
    ctx.stderr(
      `joch schemas: ${shown(ctx.cwd, settingsFile)} is not plain JSON (comments?); left unchanged. Add this to it:\n` +
        `${JSON.stringify({ 'yaml.schemas': mapping }, null, 2)}\n`,
    );
    return 1;
  }
  mkdirSync(path.dirname(settingsFile), { recursive: true });
  writeFileSync(settingsFile, merged);
  ctx.stdout(`mapped the repository's YAML files to them in ${shown(ctx.cwd, settingsFile)} (yaml.schemas)\n`);
  return 0;
}

/** The named folder, else the folder of the nearest joch.yaml, else the current folder. */
function repositoryRoot(named: string | undefined, cwd: string): string {
  if (named) {
    const root = path.resolve(cwd, named);
    if (!existsSync(root)) throw new UsageError(`no such file or folder: ${named}`);
    return root;
  }
  const config = findConfigFile(cwd);
  return config ? path.dirname(config) : cwd;
}

/** Mirrors the package's schemas into `dir`: schema files it no longer ships are removed. */
function copySchemas(dir: string): string[] {
  const source = fileURLToPath(SCHEMA_DIR);
  const files = readdirSync(source)
    .filter((f) => f.endsWith('.schema.json'))
    .sort();
  mkdirSync(dir, { recursive: true });
  for (const stale of readdirSync(dir).filter((f) => f.endsWith('.schema.json') && !files.includes(f))) rmSync(path.join(dir, stale));
  for (const f of files) writeFileSync(path.join(dir, f), readFileSync(path.join(source, f)));
  return files;
}

/**
 * joch.yaml and policy tests to their own schemas; every other YAML file
 * under joch.yaml's `paths` to the schema that dispatches on kind.
 */
export function yamlSchemas(dir: string, paths: readonly string[]): YamlSchemas {
  const own = ['joch.yaml', 'joch.yml', 'joch-test.yaml'];
  const resources = paths.flatMap((p) => {
    const clean = toPosix(p).replace(/^\.\/?/, '').replace(/\/$/, '');
    if (/\.ya?ml$/.test(clean)) return [clean];
    const under = clean ? `${clean}/` : '';
    return [`${under}**/*.yaml`, `${under}**/*.yml`];
  });
  return {
    [`./${dir}/joch.schema.json`]: [...resources, ...own.map((f) => `!**/${f}`)],
    [`./${dir}/joch-config.schema.json`]: ['joch.yaml', 'joch.yml'],
    [`./${dir}/policy-test.schema.json`]: '**/joch-test.yaml',
  };
}

/**
 * The settings file with our `yaml.schemas` entries in place of any earlier
 * ones (entries of the same folder); everything else is kept. Undefined when
 * the file exists but is not plain JSON, which is not rewritten.
 */
function mergeSettings(file: string, dir: string, mapping: YamlSchemas): string | undefined {
  let settings: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
      settings = parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  const earlier = settings['yaml.schemas'];
  const kept = Object.fromEntries(
    Object.entries(typeof earlier === 'object' && earlier !== null ? earlier : {}).filter(([schema]) => !schema.startsWith(`./${dir}/`)),
  );
  return `${JSON.stringify({ ...settings, 'yaml.schemas': { ...kept, ...mapping } }, null, 2)}\n`;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function shown(cwd: string, p: string): string {
  return path.relative(cwd, p) || '.';
}
