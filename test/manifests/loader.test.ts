/**
 * The source and load stages on every class of bad input: each test builds its
 * own repository and checks what a user would see (code, file, line, column).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { parseFileBytes, parseFileText } from '../../src/manifests/index.js';
import { MAX_NESTING_DEPTH } from '../../src/manifests/parse.js';
import type { Check } from '../../src/schema/index.js';
import { at, cli, only, places, tmpRepo, validate, yml, type JsonReport } from '../support/repo.js';

const SCHEMA_ONLY: ReadonlySet<Check> = new Set<Check>(['schema']);

/** A valid Policy; the rule line is line 7 of the document. */
function policy(name: string): string {
  return yml`
    apiVersion: joch.dev/v1alpha1
    kind: Policy
    metadata:
      name: ${name}
    spec:
      rules:
        - when: {tool.sideEffect: external_write}
          action: deny
  `;
}

/** A Policy with an unknown field `rulez` at line 6, column 3 (and so a missing `rules` at 5:1). */
function badPolicy(name: string): string {
  return yml`
    apiVersion: joch.dev/v1alpha1
    kind: Policy
    metadata:
      name: ${name}
    spec:
      rulez: []
  `;
}

const names = (run: Awaited<ReturnType<typeof validate>>) => run.set.resources.map((r) => r.name).sort();

describe('YAML errors', () => {
  it('reports a syntax error as JOCH101 at its line and column', async () => {
    const repo = tmpRepo({
      'bad.yaml': yml`
        apiVersion: joch.dev/v1alpha1
        kind: Policy
        metadata:
          name: p
        spec:
          description: ok
          rules: x: y
      `,
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH101 bad.yaml:7:10']);
    const d = only(run.diagnostics, 'JOCH101');
    expect(d.severity).toBe('error');
    expect(d.message).toBe('Nested mappings are not allowed in compact mappings');
    expect(d.hint).toMatch(/nested mapping must start on its own line/);
    expect(run.set.resources).toEqual([]);
  });

  it('reports a duplicate key as JOCH102 at the second key', async () => {
    const repo = tmpRepo({
      'dup.yaml': yml`
        apiVersion: joch.dev/v1alpha1
        kind: Policy
        metadata:
          name: first
          name: second
        spec:
          rules:
            - when: {tool.sideEffect: external_write}
              action: deny
      `,
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH102 dup.yaml:5:3']);
    expect(only(run.diagnostics, 'JOCH102').severity).toBe('error');
    // The document is not loaded with either value.
    expect(run.set.resources).toEqual([]);
  });

  it('refuses an alias bomb (JOCH103) without expanding it, and still loads the other files', async () => {
    const levels = 'abcdefghi'.split('');
    const bomb = levels
      .map((l, i) => (i === 0 ? `${l}: &${l} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` : `${l}: &${l} [${Array(9).fill(`*${levels[i - 1]}`).join(',')}]`))
      .join('\n');
    const repo = tmpRepo({ 'bomb.yaml': `${bomb}\n`, 'good.yaml': policy('good') });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH103 bomb.yaml:1:1']);
    expect(only(run.diagnostics, 'JOCH103').message).toMatch(/more than 100 nodes \(possible alias bomb\)/);
    expect(names(run)).toEqual(['good']);
    // The command reports it and exits normally.
    const r = await cli(['validate', '--format', 'json'], repo.root);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ summary: { errors: 1, files: 2, resources: 1 } });
  });

  it('allows a few aliases under the limit', async () => {
    const repo = tmpRepo({
      'anchors.yaml': yml`
        apiVersion: joch.dev/v1alpha1
        kind: Policy
        metadata:
          name: anchored
        spec:
          rules:
            - when: &w {tool.sideEffect: external_write}
              action: deny
            - when: *w
              action: allow
      `,
    });
    const run = await validate(repo);
    expect(run.diagnostics).toEqual([]);
    expect(run.set.resources[0]?.spec.rules).toEqual([
      { when: { 'tool.sideEffect': 'external_write' }, action: 'deny' },
      { when: { 'tool.sideEffect': 'external_write' }, action: 'allow' },
    ]);
  });

  it('refuses a custom tag as JOCH104 at the tag', async () => {
    const repo = tmpRepo({
      'tag.yaml': yml`
        apiVersion: joch.dev/v1alpha1
        kind: Policy
        metadata:
          name: tagged
        spec:
          description: !Ref x
          rules:
            - when: {tool.sideEffect: external_write}
              action: deny
      `,
    });
    const run = await validate(repo);
    expect(places(run.diagnostics)).toEqual(['JOCH104 tag.yaml:6:16']);
    const d = only(run.diagnostics, 'JOCH104');
    expect(d.severity).toBe('error');
    expect(d.message).toContain('!Ref');
    expect(run.set.resources).toEqual([]);
  });
});

describe('bytes that are not UTF-8 text', () => {
  it('refuses a binary file (NUL bytes) as JOCH105', async () => {
    const repo = tmpRepo({ 'bin.yaml': Buffer.from('a: 1\n\0\0\0', 'latin1'), 'good.yaml': policy('good') });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH105 bin.yaml:1:1']);
    expect(only(run.diagnostics, 'JOCH105').message).toBe('the file is binary (NUL byte at offset 5)');
    expect(names(run)).toEqual(['good']);
  });

  it('refuses invalid UTF-8 as JOCH105, naming the offset of the bad byte', async () => {
    // "café" in Latin-1: the é (0xE9) at offset 7 starts no valid UTF-8 sequence.
    const repo = tmpRepo({ 'latin1.yaml': Buffer.from('a: "caf\xe9"\n', 'latin1') });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH105 latin1.yaml:1:1']);
    expect(only(run.diagnostics, 'JOCH105').message).toBe('the file is not valid UTF-8 (first bad byte at offset 7)');
  });

  it('refuses UTF-16 (either byte order mark) as JOCH105', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a: 1\n', 'utf16le')]);
    const be = Buffer.from([0xfe, 0xff, 0x00, 0x61]);
    const repo = tmpRepo({ 'le.yaml': le, 'be.yaml': be });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH105 be.yaml:1:1', 'JOCH105 le.yaml:1:1']);
    for (const d of run.diagnostics) expect(d.message).toBe('the file is UTF-16 encoded; save it as UTF-8');
  });

  it('accepts a UTF-8 byte order mark, with columns counted after it', async () => {
    const repo = tmpRepo({ 'bom.yaml': `\ufeff${badPolicy('bom')}` });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH302 bom.yaml:5:1', 'JOCH303 bom.yaml:6:3']);
  });
});

describe('limits', () => {
  it('refuses a file over limits.maxFileBytes (JOCH106) without reading it', async () => {
    const repo = tmpRepo({
      'joch.yaml': 'limits:\n  maxFileBytes: 300\n',
      // Over the limit and not YAML either: only the size is reported.
      'big.yaml': `${'['.repeat(400)}\n`,
      'small.yaml': policy('small'),
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH106 big.yaml:1:1']);
    expect(only(run.diagnostics, 'JOCH106').message).toBe('the file is 401 bytes; the limit is 300 (limits.maxFileBytes in joch.yaml)');
    expect(run.snapshot.files.map((f) => f.path)).toEqual(['small.yaml']);
    expect(run.set.texts.has('big.yaml')).toBe(false);
    expect(names(run)).toEqual(['small']);
  });

  it('refuses a file with more documents than limits.maxDocumentsPerFile (JOCH111)', async () => {
    const repo = tmpRepo({
      'joch.yaml': 'limits:\n  maxDocumentsPerFile: 2\n',
      'three.yaml': [policy('a'), policy('b'), policy('c')].join('---\n'),
      'two.yaml': [policy('d'), policy('e')].join('---\n'),
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH111 three.yaml:1:1']);
    expect(only(run.diagnostics, 'JOCH111').message).toBe('the file holds 3 YAML documents; the limit is 2');
    expect(names(run)).toEqual(['d', 'e']);
  });
});

/** Flow sequences nested `n` deep. */
const flowSeqs = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}\n`;
/** Block mappings nested `n` deep, each indented one space more. */
const blockMaps = (n: number) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`;

describe('deep nesting', () => {
  it('refuses a file nested too deeply as one JOCH101 where the limit is passed, and loads the other files', async () => {
    const repo = tmpRepo({
      // About 10 KB each.
      'open.yaml': `${'['.repeat(10_000)}\n`,
      'flow-map.yaml': `spec: ${'{a: '.repeat(2_500)}1${'}'.repeat(2_500)}\n`,
      'block.yaml': blockMaps(300),
      'good.yaml': policy('good'),
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    // The 257th collection: a `[` in column 257; the 256th `{` after `spec: ` (the mapping is the first); the 257th key.
    expect(places(run.diagnostics)).toEqual(['JOCH101 block.yaml:257:257', 'JOCH101 flow-map.yaml:1:1027', 'JOCH101 open.yaml:1:257']);
    for (const d of run.diagnostics) {
      expect(d.severity).toBe('error');
      expect(d.message).toBe(`the YAML nests collections more than ${MAX_NESTING_DEPTH} levels deep here; the file was not read`);
    }
    expect(names(run)).toEqual(['good']);
    // Read again in the same process (as the sync loop does), and through the command.
    const again = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(again.diagnostics)).toEqual(places(run.diagnostics));
    const r = await cli(['validate', '--format', 'json'], repo.root);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout) as JsonReport).toMatchObject({ summary: { errors: 3, files: 4, resources: 1 } });
  });

  it(`reads what the fast path leaves, up to ${MAX_NESTING_DEPTH} levels, with the full parser`, () => {
    const deepest = parseFileText('deep.yaml', flowSeqs(MAX_NESTING_DEPTH), '');
    expect(deepest).toMatchObject({ fast: false, findings: [] });
    let value = deepest.docs[0]?.value;
    for (let depth = 0; depth < MAX_NESTING_DEPTH; depth++) {
      expect(Array.isArray(value)).toBe(true);
      value = (value as unknown[])[0];
    }
    expect(value).toBeUndefined();
    expect(parseFileText('block.yaml', blockMaps(100), '')).toMatchObject({ fast: false, findings: [] });

    const over = parseFileText('over.yaml', flowSeqs(MAX_NESTING_DEPTH + 1), '');
    expect(over.docs).toEqual([]);
    expect(over.findings).toMatchObject([{ code: 'JOCH101', at: { file: 'over.yaml', line: 1, column: MAX_NESTING_DEPTH + 1 } }]);
  });

  // Composed whole, such a file took the process past 4 GB of memory.
  it('refuses a 5 MB file of [ where the limit is passed, before it fills the memory', () => {
    const parsed = parseFileText('huge.yaml', '['.repeat(5 * 1024 * 1024), '');
    expect(parsed.docs).toEqual([]);
    expect(parsed.findings).toMatchObject([{ code: 'JOCH101', at: { line: 1, column: MAX_NESTING_DEPTH + 1 } }]);
  });

  it('reports a stack overflow inside the full parser as JOCH101 naming the file', async () => {
    const fullParser = '../../src/manifests/yaml-full.js';
    vi.resetModules();
    vi.doMock(fullParser, async (importOriginal) => ({
      ...(await importOriginal<object>()),
      parseYamlFull: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    }));
    try {
      const parse = await import('../../src/manifests/parse.js');
      // An anchor sends the file to the full parser.
      const parsed = parse.parseFileText('overflow.yaml', 'a: &x 1\n', '');
      expect(parsed.docs).toEqual([]);
      expect(parsed.findings).toMatchObject([
        { code: 'JOCH101', severity: 'error', message: 'the YAML could not be read (Maximum call stack size exceeded); the file was not loaded', at: { file: 'overflow.yaml', line: 1, column: 1 } },
      ]);
    } finally {
      vi.doUnmock(fullParser);
      vi.resetModules();
    }
  });
});

describe('symbolic links', () => {
  it('does not follow a link to a file outside the root (JOCH107)', async () => {
    const outside = tmpRepo({ 'secret.yaml': policy('outside') });
    const repo = tmpRepo({ 'good.yaml': policy('good') });
    repo.link('escape.yaml', outside.path('secret.yaml'));
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH107 escape.yaml:1:1']);
    const d = only(run.diagnostics, 'JOCH107');
    expect(d.severity).toBe('error');
    expect(d.message).toBe('the symbolic link points outside the repository root; it was not followed');
    expect(names(run)).toEqual(['good']);
  });

  it('does not follow a link to a folder outside the root (JOCH107)', async () => {
    const outside = tmpRepo({ 'inner/x.yaml': policy('outside') });
    const repo = tmpRepo();
    repo.link('vendor', outside.path('inner'));
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics, (d) => d.code !== 'JOCH003')).toEqual(['JOCH107 vendor:1:1']);
    expect(run.set.resources).toEqual([]);
  });

  it('ignores links that cannot hold manifests: to a non-YAML file outside, or broken under a non-YAML name', async () => {
    const outside = tmpRepo({ 'LICENSE': 'text\n' });
    const repo = tmpRepo({ 'good.yaml': policy('good') });
    repo.link('LICENSE', outside.path('LICENSE'));
    repo.link('notes.txt', repo.path('missing.txt'));
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(run.diagnostics).toEqual([]);
  });

  it('reports a broken link with a YAML name (JOCH107)', async () => {
    const repo = tmpRepo();
    repo.link('gone.yaml', repo.path('nowhere.yaml'));
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics, (d) => d.code === 'JOCH107')).toEqual(['JOCH107 gone.yaml:1:1']);
    expect(only(run.diagnostics, 'JOCH107').message).toBe('the symbolic link is broken; it was not followed');
  });

  it('follows links to a file and to a folder inside the root', async () => {
    const repo = tmpRepo({ 'shared/real.yaml': badPolicy('shared') });
    repo.link('link.yaml', repo.path('shared/real.yaml'));
    repo.link('team/common', '../shared');
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    // The same content read under each name; the folder is read once (shared/ and team/common are one folder).
    expect(places(run.diagnostics)).toEqual(['JOCH302 link.yaml:5:1', 'JOCH303 link.yaml:6:3', 'JOCH302 shared/real.yaml:5:1', 'JOCH303 shared/real.yaml:6:3']);
  });

  it('terminates on a loop of folder links', async () => {
    const repo = tmpRepo({ 'a/x.yaml': policy('x') });
    repo.link('a/to-b', '../b');
    repo.link('b/to-a', '../a');
    repo.link('a/self', '.');
    repo.link('up', '.');
    // And a loop of links that never reaches a file.
    repo.link('l1.yaml', 'l2.yaml');
    repo.link('l2.yaml', 'l1.yaml');
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH107 l1.yaml:1:1', 'JOCH107 l2.yaml:1:1']);
    expect(run.snapshot.files.map((f) => f.path)).toEqual(['a/x.yaml']);
    expect(names(run)).toEqual(['x']);
  });
});

describe('documents', () => {
  it('reports empty documents as JOCH108 (info) at their start, in the fast and the full parser', async () => {
    const repo = tmpRepo({
      // In the fast subset.
      'fast.yaml': `---\n---\n# only a comment\n---\n${policy('fast')}`,
      // An anchor sends the file to the full parser.
      'full.yaml': `${policy('full').replace('when: {', 'when: &w {')}---\n...\n`,
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH108 fast.yaml:1:1', 'JOCH108 fast.yaml:2:1', 'JOCH108 full.yaml:9:1']);
    for (const d of run.diagnostics) {
      expect(d.severity).toBe('info');
      expect(d.message).toBe('the YAML document is empty');
    }
    expect(names(run)).toEqual(['fast', 'full']);
    expect(run.summary.errors).toBe(0);
  });

  it('refuses a document that is a list or a scalar (JOCH109), but not an empty file', async () => {
    const repo = tmpRepo({ 'list.yaml': '- a\n- b\n', 'scalar.yaml': 'hello\n', 'null.yaml': '~\n', 'empty.yaml': '', 'comment.yaml': '# nothing\n' });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH109 list.yaml:1:1', 'JOCH109 null.yaml:1:1', 'JOCH109 scalar.yaml:1:1']);
    expect(run.diagnostics.map((d) => d.message)).toEqual([
      'the document is a sequence, not a mapping with apiVersion and kind',
      'the document is a null value, not a mapping with apiVersion and kind',
      'the document is a string value, not a mapping with apiVersion and kind',
    ]);
  });

  it('loads the good document of a file whose other document is bad', async () => {
    const repo = tmpRepo({
      'multi.yaml': [
        yml`
          apiVersion: joch.dev/v1alpha1
          kind: Policy
          metadata:
            name: bad
            name: dup
          spec:
            rules:
              - when: {tool.sideEffect: external_write}
                action: deny
        `,
        badPolicy('good'),
        'kind: x: y\n',
      ].join('---\n'),
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH102 multi.yaml:5:3', 'JOCH302 multi.yaml:15:1', 'JOCH303 multi.yaml:16:3', 'JOCH101 multi.yaml:18:7']);
    expect(names(run)).toEqual(['good']);
    expect(run.set.resources[0]?.doc).toBe(1);
  });

  it('hashes a document the same whichever parser reads it, from its first line of content to the next marker', () => {
    const doc = [
      '--- # the marker line is not hashed',
      '# nor the comments above the content',
      'apiVersion: joch.dev/v1alpha1',
      'kind: Policy',
      'metadata: {name: same}',
      'spec:',
      '  description: |+',
      '    kept blank lines below',
      '    # not a comment',
      '',
      '# a trailing comment',
      '...',
      '',
    ].join('\n');
    const hashed = doc.slice(doc.indexOf('apiVersion'), doc.indexOf('...'));
    for (const eol of ['\n', '\r\n']) {
      // The neighbouring document decides the parser: an anchor is outside the fast subset.
      const fast = parseFileText('fast.yaml', `${doc}---\nx: 1\n`.replace(/\n/g, eol), '');
      const full = parseFileText('full.yaml', `${doc}---\nx: &a 1\n`.replace(/\n/g, eol), '');
      expect([fast.fast, full.fast]).toEqual([true, false]);
      expect(full.findings).toEqual([]);
      expect(fast.docs[0]?.hash).toBe(sha256(hashed.replace(/\n/g, eol)));
      expect(full.docs[0]?.hash).toBe(fast.docs[0]?.hash);
      expect(full.docs[1]?.hash).not.toBe(fast.docs[1]?.hash);
    }
    // A kept blank line is part of the value, so part of the hash.
    const more = parseFileText('more.yaml', doc.replace('comment\n\n', 'comment\n\n\n'), '');
    expect(more.docs[0]?.hash).not.toBe(parseFileText('same.yaml', doc, '').docs[0]?.hash);
  });

  it('hashes a document read from bytes as its text, when the file is that one document or not', () => {
    const doc = 'apiVersion: joch.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\n';
    const enc = (s: string) => new TextEncoder().encode(s);
    const cases: Array<[string, Uint8Array, string[]]> = [
      // The whole file is the document: its hash is the file's.
      ['one document', enc(doc), [doc]],
      ['one document, fully parsed', enc(`${doc}x: &a 1\n`), [`${doc}x: &a 1\n`]],
      // A byte order mark is in the file's bytes but not in the document's text.
      ['a byte order mark', Uint8Array.from([0xef, 0xbb, 0xbf, ...enc(doc)]), [doc]],
      ['a leading comment', enc(`# c\n${doc}`), [doc]],
      ['two documents', enc(`${doc}---\n${doc}`), [doc, doc]],
      ['CRLF', enc(doc.replace(/\n/g, '\r\n')), [doc.replace(/\n/g, '\r\n')]],
    ];
    for (const [name, bytes, sources] of cases) {
      const parsed = parseFileBytes(`${name}.yaml`, bytes);
      expect(parsed.hash, name).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(parsed.docs.map((d) => d.hash), name).toEqual(sources.map(sha256));
      expect(parsed.docs.map((d) => d.hash), name).toEqual(parseFileText(`${name}.yaml`, parsed.text ?? '', '').docs.map((d) => d.hash));
    }
  });

  it('hashes a directive that changes what a document means', () => {
    const doc = 'apiVersion: joch.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec: {enabled: yes}\n';
    const plain = parseFileText('p.yaml', `---\n${doc}`, '');
    const yaml11 = parseFileText('p.yaml', `%YAML 1.1\n---\n${doc}`, '');
    // Under YAML 1.1 `yes` is true, under 1.2 the string "yes": the hash, which keys the compile cache, must differ.
    expect([(plain.docs[0]?.value as { spec: unknown }).spec, (yaml11.docs[0]?.value as { spec: unknown }).spec]).toEqual([{ enabled: 'yes' }, { enabled: true }]);
    expect(yaml11.docs[0]?.hash).not.toBe(plain.docs[0]?.hash);
  });

  it('hashes every document of the documentation corpus the same in the fast and the full parser', () => {
    const dir = new URL('../fixtures/conformance/', import.meta.url);
    let compared = 0;
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const text = readFileSync(new URL(name, dir), 'utf8').replace(/\n?$/, '\n');
      const fast = parseFileText(name, `${text}---\nx: 1\n`, '');
      const full = parseFileText(name, `${text}---\nx: &a 1\n`, '');
      if (!fast.fast) continue;
      expect(full.fast).toBe(false);
      expect(full.docs.slice(0, -1).map((d) => d.hash), name).toEqual(fast.docs.slice(0, -1).map((d) => d.hash));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(70);
  });

  it('reads CRLF files with the same lines and columns as LF files', async () => {
    const lf = badPolicy('crlf');
    const repo = tmpRepo({
      'crlf.yaml': lf.replace(/\n/g, '\r\n'),
      // The full parser too (an anchor is outside the fast subset).
      'crlf-full.yaml': lf.replace('rulez: []', 'rulez: &x []').replace(/\n/g, '\r\n'),
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH302 crlf-full.yaml:5:1', 'JOCH303 crlf-full.yaml:6:3', 'JOCH302 crlf.yaml:5:1', 'JOCH303 crlf.yaml:6:3']);
    const unknown = run.diagnostics.find((d) => d.code === 'JOCH303' && d.file === 'crlf.yaml');
    expect(unknown).toMatchObject({ endLine: 6, endColumn: 8 });
    expect(names(run)).toEqual(['crlf', 'crlf']);
  });
});

describe('which files are read', () => {
  it('honours .jochignore, reads .yml and .YAML, and ignores files that are not YAML', async () => {
    const repo = tmpRepo({
      '.jochignore': 'drafts/\n*.tmpl.yaml\n!keep.tmpl.yaml\n',
      'drafts/broken.yaml': 'a: [\n',
      'agent.tmpl.yaml': 'a: [\n',
      'keep.tmpl.yaml': badPolicy('kept'),
      'other.yml': badPolicy('yml'),
      'UPPER.YAML': policy('upper'),
      'notes.txt': 'a: [\n',
      'README.md': '# not a manifest: [\n',
      'values.json': '{"a": [',
      'node_modules/pkg/x.yaml': 'a: [\n',
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH302 keep.tmpl.yaml:5:1', 'JOCH303 keep.tmpl.yaml:6:3', 'JOCH302 other.yml:5:1', 'JOCH303 other.yml:6:3']);
    expect(run.snapshot.files.map((f) => f.path)).toEqual(['UPPER.YAML', 'keep.tmpl.yaml', 'other.yml']);
    expect(run.summary.files).toBe(3);
  });

  it('reads everything with a .jochignore of comments and blank lines only, and honours the first pattern after them', async () => {
    const files = { 'drafts/d.yaml': policy('draft'), 'a.yaml': policy('a') };
    const commentsOnly = await validate(tmpRepo({ ...files, '.jochignore': '# nothing ignored yet\n\n   \n' }), { checks: SCHEMA_ONLY });
    expect(commentsOnly.snapshot.files.map((f) => f.path)).toEqual(['a.yaml', 'drafts/d.yaml']);
    const onePattern = await validate(tmpRepo({ ...files, '.jochignore': '# drafts stay out\n\ndrafts/\n' }), { checks: SCHEMA_ONLY });
    expect(onePattern.snapshot.files.map((f) => f.path)).toEqual(['a.yaml']);
  });

  it('reads a file named on the command line even without a YAML extension', async () => {
    const repo = tmpRepo({ 'manifest.txt': badPolicy('txt') });
    const run = await validate(repo, { paths: ['manifest.txt'], checks: SCHEMA_ONLY });
    expect(places(run.diagnostics)).toEqual(['JOCH302 manifest.txt:5:1', 'JOCH303 manifest.txt:6:3']);
  });

  it('warns when there is no YAML file at all (JOCH003)', async () => {
    const repo = tmpRepo({ 'notes.txt': 'hello\n' });
    const run = await validate(repo);
    expect(run.diagnostics.map(at)).toEqual(['JOCH003 .:1:1']);
    expect(run.diagnostics[0]?.severity).toBe('warning');
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
