/**
 * joch.yaml: a typo in it is an error at its line, severities can be tuned
 * except where a rule must not be silenced, and its paths and exclusions
 * decide what is read.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/index.js';
import { runSnapshot } from '../../src/pipeline/snapshot.js';
import { readLocalSourceSync } from '../../src/source/local.js';
import { ALL_CHECKS } from '../../src/schema/index.js';
import { at, cli, only, places, tmpRepo, validate, yml } from '../support/repo.js';

const CHECKS = new Set(ALL_CHECKS);

/** A Policy with a mapped name (JOCH401 note at 4:9) and, if asked, an unknown field (JOCH303 at 6:3). */
function policy(name: string, unknownField = false): string {
  return [
    'apiVersion: joch.dev/v1alpha1',
    'kind: Policy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...(unknownField ? ['  colour: blue'] : []),
    '  rules:',
    '    - when: {tool.sideEffect: external_write}',
    '      action: deny',
    '',
  ].join('\n');
}

describe('an invalid joch.yaml', () => {
  it.each([
    ['an unknown key', 'pathz: [a]\n', 'JOCH001 joch.yaml:1:1', 'joch.yaml: Unrecognized key: "pathz"'],
    ['an unknown nested key', 'limits:\n  maxFileBytes: 10\n  maxFiles: 3\n', 'JOCH001 joch.yaml:3:3', 'joch.yaml: limits: Unrecognized key: "maxFiles"'],
    ['a wrong type', 'paths: [a]\nlimits:\n  maxFileBytes: big\n', 'JOCH001 joch.yaml:3:17', 'joch.yaml: limits.maxFileBytes: Invalid input: expected number, received string'],
    [
      'a bad defaultNamespace',
      '# project settings\ndefaultNamespace: Team_A\n',
      'JOCH001 joch.yaml:2:19',
      'joch.yaml: defaultNamespace: must be a DNS-1123 label (lowercase letters, digits and "-")',
    ],
    ['a severity that is not one', 'severity:\n  JOCH401: loud\n', 'JOCH001 joch.yaml:2:12', 'joch.yaml: severity.JOCH401: Invalid option: expected one of "off"|"info"|"warning"|"error"'],
    ['invalid YAML', 'paths:\n  - .\nexclude: x: y\n', 'JOCH001 joch.yaml:3:10', 'joch.yaml is not valid YAML: Nested mappings are not allowed in compact mappings'],
    ['nesting past what is read', `exclude: ${'['.repeat(5_000)}\n`, 'JOCH001 joch.yaml:1:265', 'joch.yaml is not valid YAML: it nests collections more than 256 levels deep'],
    [
      'an alias bomb',
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${Array(10).fill('*a').join(', ')}]\nexclude: [${Array(10).fill('*b').join(', ')}]\n`,
      'JOCH001 joch.yaml:1:1',
      'joch.yaml: its aliases expand to more than 100 nodes',
    ],
  ])('%s is JOCH001 at the offending key or value', async (_name, text, where, message) => {
    const repo = tmpRepo({ 'joch.yaml': text, 'p.yaml': policy('p') });
    const run = await validate(repo, { checks: CHECKS });
    const d = only(run.diagnostics, 'JOCH001');
    expect(at(d)).toBe(where);
    expect(d).toMatchObject({ severity: 'error', message });
    // The rest is still validated, with the default configuration.
    expect(run.set.resources.map((r) => r.key)).toEqual(['Policy/default/p']);
    // The sync loop reads joch.yaml from a Git snapshot through the same parser.
    const synced = runSnapshot({ snapshot: readLocalSourceSync({ root: repo.root, maxFileBytes: 1 << 20, cwd: repo.root }).snapshot, compile: false });
    expect(places(synced.diagnostics, (x) => x.code === 'JOCH001')).toEqual([where]);
  });

  it('shows the offending line of joch.yaml in the text output', async () => {
    const repo = tmpRepo({ 'joch.yaml': 'defaultNamespace: platform\nlimits:\n  maxFileBytes: -1\n', 'p.yaml': policy('p') });
    const r = await cli(['validate'], repo.root);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('joch.yaml:3:17 error JOCH001 joch.yaml: limits.maxFileBytes: Too small: expected number to be >0\n    2 | limits:\n  > 3 |   maxFileBytes: -1\n      |                 ^^\n');
  });
});

describe('severity overrides', () => {
  it('change a code\'s severity, and `off` drops it', async () => {
    const repo = tmpRepo({
      'joch.yaml': yml`
        severity:
          JOCH401: error
          JOCH303: warning
          JOCH204: "off"
      `,
      'p.yaml': policy('Mapped_Name', true),
      'job.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n',
    });
    const run = await validate(repo, { checks: CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.severity}`)).toEqual(['JOCH401 p.yaml:4:9 error', 'JOCH303 p.yaml:6:3 warning']);
    expect(run.summary).toMatchObject({ errors: 1, warnings: 1, infos: 0 });
  });

  it('cannot lower or turn off a locked code: JOCH001 at the override, and the finding keeps its severity', async () => {
    const token = `ghp_${'a1B2'.repeat(9)}`;
    const repo = tmpRepo({
      'joch.yaml': yml`
        severity:
          JOCH601: warning
          JOCH101: "off"
          JOCH001: info
          JOCH303: info
      `,
      'p.yaml': policy('p').replace('spec:', `spec:\n  description: ${token}`),
      'broken.yaml': 'kind: x: y\n',
    });
    const run = await validate(repo, { checks: CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.severity} ${d.message}`)).toEqual([
      'JOCH101 broken.yaml:1:7 error Nested mappings are not allowed in compact mappings',
      'JOCH001 joch.yaml:2:12 error joch.yaml: severity: JOCH601 (literal-credential) can be raised but not lowered or turned off',
      'JOCH001 joch.yaml:3:12 error joch.yaml: severity: JOCH101 (yaml-syntax) can be raised but not lowered or turned off',
      'JOCH001 joch.yaml:4:12 error joch.yaml: severity: JOCH001 (invalid-config) can be raised but not lowered or turned off',
      'JOCH601 p.yaml:6:16 error spec.description holds what looks like a GitHub token; manifests must not contain credentials',
    ]);
    // An override that is refused does not invalidate the others.
    expect(run.project.config.config.severity).toMatchObject({ JOCH303: 'info' });
  });

  it.each(['warning', 'off'])('JOCH501 turned to %s does not silence the locked denial of the same hole', async (level) => {
    const fixture = (rel: string) => readFileSync(path.join(import.meta.dirname, '../fixtures/policy', rel), 'utf8');
    const holes = fixture('baseline/unresolved.yaml');
    const repo = tmpRepo({ 'joch.yaml': `severity:\n  JOCH501: "${level}"\n`, 'platform.yaml': fixture('base/platform.yaml'), 'unresolved.yaml': holes });
    const line = (needle: string) => holes.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const denials = ['- name: ghost.tool', '- name: no-such-policy', '- openai:gpt-9', 'name: nowhere'].map((n) => `JOCH710 unresolved.yaml:${line(n)}`).sort();
    const errorsOf = (diags: readonly Diagnostic[]) => places(diags, (d) => d.code === 'JOCH710' && d.severity === 'error').map((p) => p.replace(/:\d+$/, ''));

    const run = await validate(repo);
    expect(errorsOf(run.diagnostics)).toEqual(denials);
    expect(run.summary.errors).toBeGreaterThanOrEqual(4);
    // The sync loop's entry settles findings the same way.
    const snapshot = readLocalSourceSync({ root: repo.root, maxFileBytes: 1 << 20, cwd: repo.root }).snapshot;
    const synced = runSnapshot({ snapshot, compile: false });
    expect(errorsOf(synced.diagnostics)).toEqual(denials);
    expect(synced.refused).toBe(true);
  });

  it('refuses an override of a code that does not exist', async () => {
    const repo = tmpRepo({ 'joch.yaml': 'severity:\n  JOCH999: error\n', 'p.yaml': policy('p') });
    const run = await validate(repo, { checks: CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual(['JOCH001 joch.yaml:2:12 joch.yaml: severity: JOCH999 is not a diagnostic code']);
  });
});

describe('what is read', () => {
  it('honours paths and exclude', async () => {
    const repo = tmpRepo({
      'joch.yaml': yml`
        paths:
          - teams
          - platform/policies.yaml
        exclude:
          - "**/drafts/**"
          - "*.generated.yaml"
      `,
      'teams/a/p.yaml': policy('a', true),
      'teams/a/drafts/p.yaml': 'kind: x: y\n',
      'teams/b/out.generated.yaml': 'kind: x: y\n',
      'platform/policies.yaml': policy('b', true),
      'platform/other.yaml': 'kind: x: y\n',
      'elsewhere/p.yaml': 'kind: x: y\n',
    });
    const run = await validate(repo, { checks: CHECKS });
    expect(places(run.diagnostics)).toEqual(['JOCH303 platform/policies.yaml:6:3', 'JOCH303 teams/a/p.yaml:6:3']);
    expect(run.snapshot.files.map((f) => f.path)).toEqual(['platform/policies.yaml', 'teams/a/p.yaml']);
  });

  it('reports a configured path that does not exist (JOCH002)', async () => {
    const repo = tmpRepo({ 'joch.yaml': 'paths: [teams, gone]\n', 'teams/p.yaml': policy('p') });
    const run = await validate(repo, { checks: CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual(['JOCH002 gone:1:1 no such file or folder: gone']);
  });

  it('never reads outside the repository through its configured paths, nor a file that is not YAML', async () => {
    const outside = tmpRepo({ 'leak.yaml': policy('leaked'), 'notes.txt': 'kind: Secret\n' });
    const repo = tmpRepo({
      'joch.yaml': yml`
        paths:
          - teams
          - ../${path.basename(outside.root)}
          - ${outside.root}
          - linked/inner
          - teams/creds.txt
      `,
      'teams/p.yaml': policy('p'),
      'teams/creds.txt': 'kind: Secret\n',
    });
    repo.link('linked', outside.root);
    outside.write('inner/x.yaml', policy('through-link'));
    const run = await validate(repo, { checks: CHECKS });
    expect(run.snapshot.files.map((f) => f.path)).toEqual(['teams/p.yaml']);
    expect(run.set.resources.map((r) => r.key)).toEqual(['Policy/default/p']);
    expect(run.diagnostics.map((d) => `${at(d)} ${d.severity} ${d.message}`)).toEqual([
      `JOCH002 joch.yaml:3:5 error joch.yaml: paths: ../${path.basename(outside.root)} is outside the project root; only files and folders inside it are read`,
      `JOCH002 joch.yaml:4:5 error joch.yaml: paths: ${outside.root} is outside the project root; only files and folders inside it are read`,
      'JOCH002 linked/inner:1:1 error linked/inner leads outside the project root through a symbolic link; it was not read',
      'JOCH002 teams/creds.txt:1:1 error teams/creds.txt is not a YAML file; only .yaml and .yml files are read from the configured paths',
    ]);

    // A link named like YAML that points at something else is not YAML, named in paths or met in a folder.
    const linked = tmpRepo({ 'joch.yaml': 'paths: [creds.yaml, teams]\n', '.env': 'DB_PASSWORD=hunter22\n', 'teams/p.yaml': policy('p') });
    linked.link('creds.yaml', linked.path('.env'));
    linked.link('teams/env.yaml', linked.path('.env'));
    const viaLink = await validate(linked, { checks: CHECKS });
    expect(viaLink.snapshot.files.map((f) => f.path)).toEqual(['teams/p.yaml']);
    expect(viaLink.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH002 creds.yaml:1:1 creds.yaml is not a YAML file; only .yaml and .yml files are read from the configured paths',
    ]);

    // Every configured path refused reads nothing, not the whole root.
    const none = tmpRepo({ 'joch.yaml': '', 'p.yaml': policy('p') });
    none.write('joch.yaml', `paths: [../${path.basename(outside.root)}]\n`);
    const empty = await validate(none, { checks: CHECKS });
    expect(empty.snapshot.files).toEqual([]);

    // A path named on the command line is the user's choice: it widens the root and may be any file.
    const named = await validate(repo, { checks: CHECKS, paths: [repo.path('teams/p.yaml'), outside.path('leak.yaml')] });
    expect(named.set.resources.map((r) => r.key).sort()).toEqual(['Policy/default/leaked', 'Policy/default/p']);
  });

  it('never reads joch.yaml (or a --config file) as a manifest', async () => {
    const repo = tmpRepo({ 'joch.yaml': 'defaultNamespace: team\n', 'p.yaml': policy('p') });
    const run = await validate(repo, { checks: CHECKS });
    expect(run.diagnostics).toEqual([]);
    expect(run.snapshot.files.map((f) => f.path)).toEqual(['p.yaml']);
    expect(run.set.resources.map((r) => r.key)).toEqual(['Policy/team/p']);

    const explicit = tmpRepo({ 'settings/project.yaml': 'defaultNamespace: other\n', 'p.yaml': policy('p') });
    const r = await validate(explicit, { checks: CHECKS, configFile: 'settings/project.yaml', paths: ['.'] });
    expect(r.diagnostics).toEqual([]);
    expect(r.snapshot.files.map((f) => f.path)).toEqual(['p.yaml']);
    expect(r.set.resources.map((x) => x.key)).toEqual(['Policy/other/p']);
  });
});
