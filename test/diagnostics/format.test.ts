/**
 * The four renderings of the one diagnostics model: text for people, JSON as
 * a stable contract, GitHub workflow commands and SARIF 2.1.0.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { allCodes, codeFrame, formatDiagnostics, type Diagnostic, type Summary } from '../../src/diagnostics/index.js';
import { cli, tmpRepo, yml, type JsonReport } from '../support/repo.js';
import { sarifValidator } from '../support/sarif.js';

const ESC = '\u001b[';

/** Two findings: an unknown field (error) at 6:3 and a mapped name (note) at 4:9. */
function sampleRepo() {
  return tmpRepo({
    'team/p.yaml': yml`
      apiVersion: joch.dev/v1alpha1
      kind: Policy
      metadata:
        name: Odd_Name
      spec:
        rulez: []
        rules:
          - when: {tool.sideEffect: external_write}
            action: deny
    `,
  });
}

describe('text', () => {
  it('shows file:line:column, severity, code and message, a code frame with a caret under the span, and the hint', async () => {
    const repo = sampleRepo();
    const r = await cli(['validate'], repo.root);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        'team/p.yaml:6:3 error JOCH303 unknown field "rulez" in spec  [Policy default/Odd_Name]',
        '    5 | spec:',
        '  > 6 |   rulez: []',
        '      |   ^^^^^',
        '    7 |   rules:',
        '  hint: did you mean "rules"?',
        '',
      ].join('\n'),
    );
  });

  it('ends with a summary line', async () => {
    const repo = sampleRepo();
    const r = await cli(['validate'], repo.root);
    expect(r.stdout.endsWith('\nFAIL 1 error, 0 warnings, 1 note (1 resource in 1 file)\n')).toBe(true);
    const clean = tmpRepo({ 'p.yaml': 'apiVersion: joch.dev/v1alpha1\nkind: Policy\nmetadata:\n  name: p\nspec:\n  rules: [{when: {tool.sideEffect: external_write}, action: deny}]\n' });
    expect((await cli(['validate'], clean.root)).stdout).toBe('OK 0 errors, 0 warnings (1 resource in 1 file)\n');
  });

  it('uses colour only when asked: a TTY without NO_COLOR, or --color', async () => {
    const repo = sampleRepo();
    const plain = await cli(['validate'], repo.root, { isTTY: false });
    expect(plain.stdout).not.toContain(ESC);
    const tty = await cli(['validate'], repo.root, { isTTY: true });
    expect(tty.stdout).toContain(`${ESC}31merror${ESC}0m`);
    expect(tty.stdout).toContain(`${ESC}31m^^^^^${ESC}0m`);
    expect((await cli(['validate'], repo.root, { isTTY: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(ESC);
    expect((await cli(['validate', '--no-color'], repo.root, { isTTY: true })).stdout).not.toContain(ESC);
    expect((await cli(['validate', '--color'], repo.root, { isTTY: false })).stdout).toContain(ESC);
    // Machine formats never carry colour.
    expect((await cli(['validate', '--format', 'json'], repo.root, { isTTY: true })).stdout).not.toContain(ESC);
  });

  it('draws the caret from the column to the end column, and to the end of the line for a multi-line span', () => {
    const text = 'a: 1\nkey: value\nb: 2\n'.split('\n');
    expect(codeFrame(text, { line: 2, column: 6, endLine: 2, endColumn: 11 })).toEqual(['    1 | a: 1', '  > 2 | key: value', '      |      ^^^^^', '    3 | b: 2']);
    expect(codeFrame(text, { line: 2, column: 1, endLine: 3, endColumn: 2 })[2]).toBe('      | ^^^^^^^^^^');
    // A zero-width span still gets one caret; lines are numbered in a column as wide as the largest.
    const long = Array.from({ length: 12 }, (_, i) => `k${i + 1}: v`);
    expect(codeFrame(long, { line: 10, column: 4 })).toEqual(['     9 | k9: v', '  > 10 | k10: v', '       |    ^^^', '    11 | k11: v']);
  });
});

describe('json', () => {
  it('is the stable contract {diagnostics: [...], summary}', async () => {
    const repo = sampleRepo();
    const r = await cli(['validate', '--format', 'json'], repo.root);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(Object.keys(report)).toEqual(['diagnostics', 'summary']);
    expect(report.summary).toEqual({ errors: 1, warnings: 0, infos: 1, files: 1, resources: 1 });
    expect(report.diagnostics).toEqual([
      {
        severity: 'info',
        code: 'JOCH401',
        message: expect.stringMatching(/^"Odd_Name" is not a valid Kubernetes name; it is compiled as "odd-name-[0-9a-f]{8}"/),
        file: 'team/p.yaml',
        line: 4,
        column: 9,
        endLine: 4,
        endColumn: 17,
        path: 'metadata.name',
        resource: { kind: 'Policy', namespace: 'default', name: 'Odd_Name' },
      },
      {
        severity: 'error',
        code: 'JOCH303',
        message: 'unknown field "rulez" in spec',
        file: 'team/p.yaml',
        line: 6,
        column: 3,
        endLine: 6,
        endColumn: 8,
        path: 'spec.rulez',
        resource: { kind: 'Policy', namespace: 'default', name: 'Odd_Name' },
        hint: 'did you mean "rules"?',
      },
    ]);
    // The first keys, in this order, are the contract.
    expect(Object.keys(report.diagnostics[1] ?? {}).slice(0, 6)).toEqual(['severity', 'code', 'message', 'file', 'line', 'column']);
  });

  it('gives files relative to the current folder, wherever that is', async () => {
    const repo = sampleRepo();
    const fromAbove = await cli(['validate', '--format', 'json', path.basename(repo.root)], path.dirname(repo.root));
    const files = (r: { stdout: string }) => (JSON.parse(r.stdout) as JsonReport).diagnostics.map((d) => d.file);
    expect(files(fromAbove)).toEqual([`${path.basename(repo.root)}/team/p.yaml`, `${path.basename(repo.root)}/team/p.yaml`]);
    // From below the root (joch.yaml is found above, and paths default to the whole project).
    repo.write('joch.yaml', 'defaultNamespace: default\n');
    repo.write('other/x.yaml', 'kind: [\n');
    const fromBelow = await cli(['validate', '--format', 'json'], repo.path('other'));
    // Relative to the current folder, through the project root (not the shortest form, but a correct one).
    expect(files(fromBelow)).toEqual(['../other/x.yaml', '../team/p.yaml', '../team/p.yaml']);
    for (const f of files(fromBelow)) expect(existsSync(path.resolve(repo.path('other'), f)), f).toBe(true);
    // Related locations too.
    repo.write('team/q.yaml', readFileSync(repo.path('team/p.yaml'), 'utf8'));
    const dup = (JSON.parse((await cli(['validate', '--format', 'json', '../team'], repo.path('other'))).stdout) as JsonReport).diagnostics.find(
      (d) => d.code === 'JOCH404',
    );
    expect(dup).toMatchObject({ file: '../team/q.yaml', related: [{ file: '../team/p.yaml', line: 4, column: 9 }] });
  });
});

describe('github', () => {
  const summary: Summary = { errors: 1, warnings: 1, infos: 1, files: 1, resources: 0 };
  const diag = (extra: Partial<Diagnostic>): Diagnostic => ({ severity: 'error', code: 'JOCH101', message: 'm', file: 'a.yaml', line: 3, column: 5, ...extra });

  it('writes one workflow command per finding, with the position and the code as title', () => {
    const out = formatDiagnostics('github', [diag({ endLine: 3, endColumn: 9 }), diag({ severity: 'info', code: 'JOCH108', line: 1, column: 1 }), diag({ severity: 'warning', code: 'JOCH204', line: 2 })], summary);
    expect(out.split('\n')).toEqual([
      '::notice file=a.yaml,line=1,col=1,title=JOCH108 empty-document::m',
      '::warning file=a.yaml,line=2,col=5,title=JOCH204 not-joch::m',
      '::error file=a.yaml,line=3,col=5,endLine=3,endColumn=9,title=JOCH101 yaml-syntax::m',
      '',
    ]);
  });

  it('escapes % and newlines in the message, and also : and , in properties', () => {
    const out = formatDiagnostics('github', [diag({ file: 'dir,x/we:ird%.yaml', message: '100% wrong\nsecond line\r', hint: 'use a: b, c' })], summary);
    expect(out).toBe('::error file=dir%2Cx/we%3Aird%25.yaml,line=3,col=5,title=JOCH101 yaml-syntax::100%25 wrong%0Asecond line%0D Hint: use a: b, c\n');
  });

  it('end to end: a file whose name needs escaping', async () => {
    const repo = tmpRepo({ 'a,b:c.yaml': 'kind: x: y\n' });
    const r = await cli(['validate', '--format', 'github'], repo.root);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error file=a%2Cb%3Ac\.yaml,line=1,col=7,endLine=1,endColumn=8,title=JOCH101 yaml-syntax::Nested mappings are not allowed in compact mappings Hint: /);
  });
});

describe('sarif', () => {
  let validateSarif: ValidateFunction;

  beforeAll(() => {
    validateSarif = sarifValidator();
  });

  interface SarifLocation {
    physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number; startColumn: number; endLine?: number; endColumn?: number } };
  }
  interface SarifLog {
    version: string;
    runs: {
      tool: { driver: { name: string; version: string; rules: { id: string; name: string; defaultConfiguration: { level: string } }[] } };
      results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: SarifLocation[]; relatedLocations?: (SarifLocation & { message: { text: string } })[] }[];
    }[];
  }

  async function sarifOf(repo: { root: string }): Promise<SarifLog> {
    const r = await cli(['validate', '--format', 'sarif'], repo.root);
    const log = JSON.parse(r.stdout) as SarifLog;
    const ok = validateSarif(log);
    expect(validateSarif.errors ?? [], 'SARIF schema errors').toEqual([]);
    expect(ok).toBe(true);
    return log;
  }

  it('the schema check is real: it refuses a broken log', async () => {
    const log = await sarifOf(sampleRepo());
    const broken = structuredClone(log);
    (broken.runs[0]?.results[0] as { level: string }).level = 'fatal';
    expect(validateSarif(broken)).toBe(false);
  });

  it('is valid SARIF 2.1.0 with every code as a rule and every finding as a result', async () => {
    const repo = sampleRepo();
    repo.write('team/q.yaml', readFileSync(repo.path('team/p.yaml'), 'utf8'));
    const log = await sarifOf(repo);
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0];
    expect(run?.tool.driver).toMatchObject({ name: 'joch', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const rules = run?.tool.driver.rules ?? [];
    expect(rules.map((r) => r.id)).toEqual(allCodes().map((c) => c.code));
    expect(rules.find((r) => r.id === 'JOCH401')).toMatchObject({ name: 'name-mapped', defaultConfiguration: { level: 'note' } });

    const results = run?.results ?? [];
    for (const res of results) expect(rules[res.ruleIndex]?.id).toBe(res.ruleId);
    expect(results.map((r) => `${r.ruleId} ${r.level} ${r.locations[0]?.physicalLocation.artifactLocation.uri}:${r.locations[0]?.physicalLocation.region.startLine}:${r.locations[0]?.physicalLocation.region.startColumn}`)).toEqual([
      'JOCH401 note team/p.yaml:4:9',
      'JOCH303 error team/p.yaml:6:3',
      'JOCH404 error team/q.yaml:4:9',
      'JOCH303 error team/q.yaml:6:3',
    ]);
    const unknown = results[1];
    expect(unknown?.message.text).toBe('unknown field "rulez" in spec Hint: did you mean "rules"?');
    expect(unknown?.locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: 'team/p.yaml', uriBaseId: 'SRCROOT' },
      region: { startLine: 6, startColumn: 3, endLine: 6, endColumn: 8 },
    });
    expect(results[2]?.relatedLocations).toEqual([
      {
        id: 0,
        physicalLocation: { artifactLocation: { uri: 'team/p.yaml', uriBaseId: 'SRCROOT' }, region: { startLine: 4, startColumn: 9, endLine: 4, endColumn: 17 } },
        message: { text: 'first defined here' },
      },
    ]);
  });

  it('encodes file names as URIs', async () => {
    const repo = tmpRepo({ 'with space/é#.yaml': 'kind: x: y\n' });
    const log = await sarifOf(repo);
    expect(log.runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation.uri).toBe('with%20space/%C3%A9%23.yaml');
  });
});

describe('text frames', () => {
  const summary: Summary = { errors: 1, warnings: 0, infos: 0, files: 1, resources: 0 };
  const source = ['spec:', '  password: |', '    hunter2-line-one', '    hunter2-line-two', '  name: x', '  token: ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'end: 1'].join('\n');
  const at = (line: number): Diagnostic => ({ severity: 'error', code: 'JOCH302', message: 'm', file: 'a.yaml', line, column: 3 });
  // The numbered lines of the frame (the caret's line has no number).
  const framed = (line: number) => formatDiagnostics('text', [at(line)], summary, { sourceText: () => source }).split('\n').filter((l) => /^ {2}[> ] +\d+ \|/.test(l));

  it('show the line after the finding, redacted as when the whole file is, inside a block scalar begun above', () => {
    // The frame of line 3 starts inside the block scalar under `password: |` and shows line 4, masked too.
    const three = framed(3);
    expect(three.map((l) => l.split('|')[0]?.trim())).toEqual(['2', '> 3', '4']);
    expect(three.join('\n')).not.toContain('hunter2');
    // Line 5's frame shows line 6, whose token is masked, and nothing of line 7.
    const five = framed(5);
    expect(five.map((l) => l.split('|')[0]?.trim())).toEqual(['4', '> 5', '6']);
    expect(five.join('\n')).not.toMatch(/hunter2|ghp_a/);
    // The last line's frame ends at the file's end.
    expect(framed(7).map((l) => l.split('|')[0]?.trim())).toEqual(['6', '> 7']);
  });
});
