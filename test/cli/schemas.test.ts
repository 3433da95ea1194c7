/**
 * `joch schemas`: the package's schemas copied into a repository and its
 * YAML files mapped to them for the YAML language server. The mapping is
 * checked the way an editor applies it: each file of the example fleet gets
 * exactly one schema, and that schema accepts the file.
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { newCompiler } from '../../src/schema/registry.js';
import { cli, tmpRepo } from '../support/repo.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

type YamlSchemas = Record<string, string | string[]>;

function settingsOf(root: string): Record<string, unknown> & { 'yaml.schemas': YamlSchemas } {
  return JSON.parse(readFileSync(path.join(root, '.vscode', 'settings.json'), 'utf8')) as Record<string, unknown> & { 'yaml.schemas': YamlSchemas };
}

/** The schemas whose globs take `file`: any positive glob matches and no `!` glob does. */
function schemasFor(mapping: YamlSchemas, file: string): string[] {
  return Object.entries(mapping)
    .filter(([, globs]) => {
      const list = typeof globs === 'string' ? [globs] : globs;
      const hit = list.filter((g) => !g.startsWith('!')).some((g) => path.posix.matchesGlob(file, g));
      return hit && !list.filter((g) => g.startsWith('!')).some((g) => path.posix.matchesGlob(file, g.slice(1)));
    })
    .map(([schema]) => schema);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && statSync(path.join(dir, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

describe('joch schemas', () => {
  it('copies every schema and maps each file of a fleet to exactly one schema, which accepts it', async () => {
    const repo = tmpRepo();
    cpSync(path.join(ROOT, 'examples', 'fleet'), repo.root, { recursive: true });
    const r = await cli(['schemas'], repo.path('support-platform'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote \d+ schemas to \.\.\/\.joch\/schemas\n/);

    const shipped = readdirSync(path.join(ROOT, 'schemas')).filter((f) => f.endsWith('.schema.json'));
    for (const f of shipped) expect(readFileSync(repo.path(`.joch/schemas/${f}`), 'utf8'), f).toBe(readFileSync(path.join(ROOT, 'schemas', f), 'utf8'));

    const mapping = settingsOf(repo.root)['yaml.schemas'];
    const ajv = newCompiler();
    const files = yamlFiles(repo.root).filter((f) => !f.startsWith('.joch/'));
    const checked = { resources: 0, config: 0, tests: 0 };
    for (const file of files) {
      const schemas = schemasFor(mapping, file);
      const inPaths = /^(platform|support-platform|research|finance-ops)\//.test(file);
      if (file === 'joch.yaml') expect(schemas).toEqual(['./.joch/schemas/joch-config.schema.json']);
      else if (file.endsWith('/joch-test.yaml')) expect(schemas).toEqual(['./.joch/schemas/policy-test.schema.json']);
      else if (inPaths) expect(schemas, file).toEqual(['./.joch/schemas/joch.schema.json']);
      else {
        // Outside joch.yaml's paths (policy-test inputs): joch does not read them as the fleet.
        expect(schemas, file).toEqual([]);
        continue;
      }
      const schema = JSON.parse(readFileSync(repo.path(schemas[0]!), 'utf8')) as { $id: string };
      const validate = ajv.getSchema(schema.$id)!;
      for (const doc of parseAllDocuments(readFileSync(repo.path(file), 'utf8'))) {
        expect(validate(doc.toJS()), `${file}: ${JSON.stringify(validate.errors?.[0])}`).toBe(true);
      }
      checked[file === 'joch.yaml' ? 'config' : file.endsWith('joch-test.yaml') ? 'tests' : 'resources']++;
    }
    expect(checked.config).toBe(1);
    expect(checked.tests).toBeGreaterThan(0);
    expect(checked.resources).toBeGreaterThan(10);
  });

  it('keeps the other settings, replaces its own entries, and removes schemas the package no longer ships', async () => {
    const repo = tmpRepo({
      '.vscode/settings.json': JSON.stringify({
        'editor.tabSize': 2,
        'yaml.schemas': { 'https://json.schemastore.org/github-workflow.json': '.github/workflows/*.yml', './.joch/schemas/agent.schema.json': 'old/**' },
      }),
      '.joch/schemas/retired.schema.json': '{}',
      '.joch/schemas/notes.md': 'kept',
    });
    const r = await cli(['schemas', '.'], repo.root);
    expect(r.code).toBe(0);
    const settings = settingsOf(repo.root);
    expect(settings['editor.tabSize']).toBe(2);
    expect(Object.keys(settings['yaml.schemas']).sort()).toEqual([
      './.joch/schemas/joch-config.schema.json',
      './.joch/schemas/joch.schema.json',
      './.joch/schemas/policy-test.schema.json',
      'https://json.schemastore.org/github-workflow.json',
    ]);
    expect(settings['yaml.schemas']['./.joch/schemas/joch.schema.json']).toEqual(['**/*.yaml', '**/*.yml', '!**/joch.yaml', '!**/joch.yml', '!**/joch-test.yaml']);
    expect(existsSync(repo.path('.joch/schemas/retired.schema.json'))).toBe(false);
    expect(existsSync(repo.path('.joch/schemas/notes.md'))).toBe(true);
    // Run twice, the same bytes.
    const first = readFileSync(repo.path('.vscode/settings.json'), 'utf8');
    await cli(['schemas', '.'], repo.root);
    expect(readFileSync(repo.path('.vscode/settings.json'), 'utf8')).toBe(first);
  });

  it('leaves a settings file with comments alone, prints what to add, and exits 1', async () => {
    const text = '{\n  // mine\n  "editor.tabSize": 4\n}\n';
    const repo = tmpRepo({ '.vscode/settings.json': text });
    const r = await cli(['schemas', '--dir', 'tools/schemas'], repo.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('.vscode/settings.json is not plain JSON (comments?); left unchanged');
    expect(r.stderr).toContain('"./tools/schemas/joch.schema.json"');
    expect(readFileSync(repo.path('.vscode/settings.json'), 'utf8')).toBe(text);
    expect(existsSync(repo.path('tools/schemas/joch.schema.json'))).toBe(true);
  });

  it('--settings none writes the schemas only; a folder outside the root or a bad option is a usage error', async () => {
    const repo = tmpRepo();
    expect((await cli(['schemas', '--settings', 'none'], repo.root)).code).toBe(0);
    expect(existsSync(repo.path('.joch/schemas/joch.schema.json'))).toBe(true);
    expect(existsSync(repo.path('.vscode'))).toBe(false);
    const outside = await cli(['schemas', '--dir', '../elsewhere'], repo.root);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/--dir must be a folder inside/);
    const bad = await cli(['schemas', '--settings', 'emacs'], repo.root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--settings <editor>' argument 'emacs' is invalid\. Allowed choices are vscode, none; see `joch schemas --help`/);
  });
});
