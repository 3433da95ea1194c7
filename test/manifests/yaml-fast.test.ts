import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isScalar, parseAllDocuments, stringify, type Document } from 'yaml';
import { MAX_DEPTH, parseYamlFast } from '../../src/manifests/yaml-fast.js';
import { pick, rng } from '../support/random.js';

type Lines = readonly [number, number] | undefined;

/**
 * What `yaml` makes of a text: each document's value and lines, or `undefined`
 * when it reports any error or warning.
 */
function oracle(text: string): { values: unknown[]; lines: Lines[] } | undefined {
  const docs = parseAllDocuments(text, { uniqueKeys: true, strict: true });
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((d) => d.errors.length || d.warnings.length)) return undefined;
  try {
    return { values: list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown), lines: list.map((d) => documentLines(text, d)) };
  } catch {
    return undefined;
  }
}

/** 0-based line of an offset. */
function lineOf(text: string, offset: number): number {
  let line = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

const MARKER = /^(?:---|\.\.\.)(?:[ \r]|$)/;

/**
 * The lines `yaml` gives a document: from the line where its content starts
 * through the comments and blank lines after it, up to the next `---` or `...`
 * line (`yaml`'s range may end after a closing `...`, or before the comments
 * after a scalar document); none for an empty document.
 */
function documentLines(text: string, doc: Document.Parsed): Lines {
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.range[0] === contents.range[1])) return undefined;
  const lines = text.split('\n');
  let last = lineOf(text, doc.range[2] - 1);
  if (MARKER.test(lines[last] ?? '')) last--;
  else while (last + 1 < lines.length && !MARKER.test(lines[last + 1] ?? '')) last++;
  // What follows a final newline is not a line.
  if (last === lines.length - 1 && lines[last] === '' && last > 0) last--;
  return [lineOf(text, contents.range[0]), last];
}

/** The fast path must either decline or agree with `yaml` exactly: on values and on where each document lies. */
function expectAgreement(text: string): 'fast' | 'declined' {
  const fast = parseYamlFast(text);
  if (fast === undefined) return 'declined';
  const expected = oracle(text);
  const got = fast.map((d) => d.value);
  if (expected === undefined || !isDeepStrictEqual(got, expected.values)) {
    throw new Error(`fast path disagrees with yaml on:\n${text}\n--- fast: ${JSON.stringify(got)}\n--- yaml: ${JSON.stringify(expected?.values)}`);
  }
  const lines = fast.map((d) => d.lines);
  if (!isDeepStrictEqual(lines, expected.lines)) {
    throw new Error(`fast path places documents on other lines than yaml in:\n${text}\n--- fast: ${JSON.stringify(lines)}\n--- yaml: ${JSON.stringify(expected.lines)}`);
  }
  return 'fast';
}

const SCALARS: unknown[] = [
  'plain', 'two words', 'zendesk.create_ticket', 'http://example.com:8080/x', 'a#b', 'with # hash', 'colon: inside',
  "it's", 'say "hi"', '', ' leading', 'trailing ', 'true', 'null', '~', '123', '0x1F', '0o17', '1e3', '.5', '-7',
  '+3', '.inf', '-.Inf', '.nan', 'yes', 'no', 'on', '1_000', '2026-05-10T10:00:00Z', 'multi\nline', 'end\n',
  'tab\there', 'unicode é ✓', '- dash', '? q', ': c', '[x]', '{y}', '*star', '&amp', '!bang', '%pct', '@at', '`tick`',
  '|pipe', '>gt', "'q'", '"dq"', 'a: b', 'x:', 'back\\slash', '\u0085', 0, 1, -1, 42, 3.14, -0.5, 1e21, true, false, null,
];
const KEYS = ['name', 'kind', 'spec', 'app.kubernetes.io/name', 'a b', 'x-y_z', '1', 'true', 'null', 'quoted key', 'k#h', 'é', 'on', ''];

function randomValue(r: () => number, depth: number): unknown {
  const roll = r();
  if (depth > 3 || roll < 0.45) return pick(r, SCALARS);
  if (roll < 0.72) {
    const obj: Record<string, unknown> = {};
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) obj[pick(r, KEYS)] = randomValue(r, depth + 1);
    return obj;
  }
  return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
}

function render(r: () => number, value: unknown): string {
  return stringify(value, {
    indent: pick(r, [2, 2, 4]),
    indentSeq: r() < 0.5,
    flowCollectionPadding: r() < 0.5,
    collectionStyle: pick(r, ['any', 'any', 'block', 'flow'] as const),
    defaultStringType: pick(r, ['PLAIN', 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED'] as const),
    defaultKeyType: pick(r, [null, null, 'QUOTE_DOUBLE'] as const),
    lineWidth: pick(r, [0, 80, 20]),
  });
}

function mutate(r: () => number, text: string): string {
  const lines = text.split('\n');
  const i = Math.floor(r() * lines.length);
  const line = lines[i] ?? '';
  switch (Math.floor(r() * 8)) {
    case 0:
      lines[i] = ` ${line}`;
      break;
    case 1:
      lines[i] = line.replace(/^ /, '');
      break;
    case 2:
      lines.splice(i, 0, line);
      break;
    case 3:
      lines[i] = `${line} # note`;
      break;
    case 4:
      lines[i] = line.replace(': ', ':');
      break;
    case 5:
      lines.splice(i, 0, pick(r, ['---', '...', '', '# c', '  ', '- x', 'k: v', '"', '{', ']']));
      break;
    case 6: {
      const at = Math.floor(r() * (line.length + 1));
      lines[i] = line.slice(0, at) + pick(r, [':', '-', '#', "'", '"', '[', '{', ' ', '|', '&a', '*a', '!t', '\\']) + line.slice(at);
      break;
    }
    default:
      lines.splice(i, 1);
  }
  return lines.join('\n');
}

/** Set JOCH_FUZZ_SEED to explore other generated corpora locally. */
const SEED = Number(process.env.JOCH_FUZZ_SEED ?? 20261123);

describe('YAML fast path', () => {
  it('agrees with yaml on every document of the Joch documentation corpus', () => {
    const dir = new URL('../fixtures/conformance/', import.meta.url);
    const outcomes = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => expectAgreement(readFileSync(new URL(f, dir), 'utf8')));
    expect(outcomes.filter((o) => o === 'fast').length).toBeGreaterThanOrEqual(70);
  });

  it('agrees with yaml on generated documents in every rendering style', () => {
    const r = rng(SEED);
    let fast = 0;
    for (let n = 0; n < 3000; n++) {
      const docs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => render(r, randomValue(r, 0)));
      if (expectAgreement(docs.join('---\n')) === 'fast') fast++;
    }
    // Most generated documents stay inside the subset; the rest must be declined, never misread.
    expect(fast).toBeGreaterThan(1000);
  });

  it('never misreads a mutated document: it declines or agrees', () => {
    const r = rng(SEED + 7);
    let declined = 0;
    for (let n = 0; n < 4000; n++) {
      let text = render(r, randomValue(r, 0));
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) text = mutate(r, text);
      if (expectAgreement(text) === 'declined') declined++;
    }
    expect(declined).toBeGreaterThan(0);
  });

  it('reads every key as written across many files, also keys read before and keys of the same length that differ in one place', () => {
    // Far more distinct keys than the scanner's table of keys has slots, many of the same length: collisions must never swap a key.
    const r = rng(SEED + 13);
    const letters = 'abcdefghijklmnopqrstuvwxyz0123456789-._/';
    const keys = Array.from({ length: 20_000 }, () => `k${Array.from({ length: 1 + Math.floor(r() * 8) }, () => pick(r, [...letters])).join('')}`);
    for (let n = 0; n < 2_000; n++) {
      const chosen = new Set(Array.from({ length: 1 + Math.floor(r() * 12) }, () => pick(r, keys)));
      // The same key once more with one character changed.
      const base = pick(r, [...chosen]);
      chosen.add(`${base.slice(0, -1)}${base.endsWith('x') ? 'y' : 'x'}`);
      const text = [...chosen].map((k, i) => (i % 3 === 2 ? `${k}:\n  ${k}: ${i}` : `${k}: v${i}`)).join('\n');
      expect(expectAgreement(`${text}\n`)).toBe('fast');
    }
  });

  it.each([
    ['tabs', 'a:\tb\n'],
    ['anchors and aliases', 'a: &x 1\nb: *x\n'],
    ['tags', 'a: !custom 1\n'],
    ['duplicate keys', 'a: 1\na: 2\n'],
    ['directives', '%YAML 1.2\n---\na: 1\n'],
    ['explicit keys', '? a\n: 1\n'],
    ['multi-line plain scalars', 'a: one\n  two\n'],
    ['multi-line flow collections', 'a: [1,\n  2]\n'],
    ['non-string keys', '1: a\n'],
    ['a __proto__ key', '__proto__: 1\n'],
  ])('declines %s', (_name, text) => {
    expect(parseYamlFast(text)).toBeUndefined();
  });

  it.each([
    ['plain', (span: number) => `${'k'.repeat(span)}: 1\n`],
    ['double-quoted', (span: number) => `"${'k'.repeat(span - 2)}": 1\n`],
    ['single-quoted', (span: number) => `'${'k'.repeat(span - 2)}': 1\n`],
    ['double-quoted, in a sequence', (span: number) => `- "${'k'.repeat(span - 2)}": 1\n`],
  ])('limits the length of %s keys alike, leaving longer ones to the full parser', (_style, render) => {
    // The span runs from the key's first character (a quote included) to its `:`.
    expect(expectAgreement(render(1000))).toBe('fast');
    expect(expectAgreement(render(1001))).toBe('declined');
    // Past 1024 characters YAML does not allow an implicit key: `yaml` reports it.
    expect(expectAgreement(render(1100))).toBe('declined');
    expect(oracle(render(1100))).toBeUndefined();
  });

  it('records where each document lies, with its trailing comments and without its markers', () => {
    const text = ['# header', '---', '# about a', 'a: |+', '  x', '', '# after a', '...', '--- # b', 'b: 1', '', ''].join('\n');
    expect(parseYamlFast(text)?.map((d) => d.lines)).toEqual([
      [3, 6],
      [9, 10],
    ]);
    expect(expectAgreement(text)).toBe('fast');
  });
});

/** Block mappings nested `block` deep, holding flow sequences nested `flow` deep. */
function nest(block: number, flow: number): string {
  const keys = Array.from({ length: block }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
  return `${keys} ${'['.repeat(flow)}${']'.repeat(flow)}\n`;
}

/** Collections nested `n` deep, in each style the fast path reads. */
const NESTED: [string, (n: number) => string][] = [
  ['flow sequences', (n) => `${'['.repeat(n)}${']'.repeat(n)}\n`],
  ['flow mappings', (n) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`],
  ['block mappings', (n) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`],
  ['block sequences', (n) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(2 * i)}-`).join('\n')} 1\n`],
  ['block and flow', (n) => nest(Math.floor(n / 2), n - Math.floor(n / 2))],
];

describe('YAML fast path on deep nesting', () => {
  it.each(NESTED)(`reads %s nested ${MAX_DEPTH} levels deep`, (_shape, nest) => {
    expect(expectAgreement(nest(MAX_DEPTH))).toBe('fast');
  });

  it.each(NESTED)('leaves %s nested one level deeper to the full parser', (_shape, nest) => {
    expect(expectAgreement(nest(MAX_DEPTH + 2))).toBe('declined');
    expect(parseYamlFast(nest(MAX_DEPTH + 1))).toBeUndefined();
  });

  it.each([
    ['10 KB of unclosed [', '['.repeat(10_000)],
    ['10 KB of balanced [ ]', `${'['.repeat(5_000)}${']'.repeat(5_000)}`],
    ['a deep flow mapping', `${'{a: '.repeat(3_000)}1${'}'.repeat(3_000)}`],
    ['a deep flow sequence as a value', `spec: ${'['.repeat(10_000)}`],
    ['a deep block mapping', NESTED[2]?.[1](2_000) ?? ''],
  ])('declines %s instead of overflowing the stack', (_name, text) => {
    expect(parseYamlFast(text)).toBeUndefined();
  });
});

describe('YAML fast path, common shapes', () => {
  it('reads the common manifest shapes', () => {
    const text = [
      'apiVersion: joch.dev/v1alpha1 # short group',
      'kind: Agent',
      'metadata: { name: "support-triage", labels: { env: prod } }',
      'spec:',
      '  description: >-',
      '    Routes tickets',
      '    and escalates.',
      '  tools:',
      '  - name: zendesk.search',
      '  -   name: slack.send',
      '      note: |',
      '        line one',
      '        line two',
      '  budgets: {tokenLimitPerRun: 200000, costLimitUsdPerDay: 2.5}',
      '---',
      '---',
      '',
    ].join('\n');
    expect(parseYamlFast(text)?.map(({ value, empty }) => ({ value, empty }))).toEqual([
      {
        value: {
          apiVersion: 'joch.dev/v1alpha1',
          kind: 'Agent',
          metadata: { name: 'support-triage', labels: { env: 'prod' } },
          spec: {
            description: 'Routes tickets and escalates.',
            tools: [{ name: 'zendesk.search' }, { name: 'slack.send', note: 'line one\nline two\n' }],
            budgets: { tokenLimitPerRun: 200000, costLimitUsdPerDay: 2.5 },
          },
        },
        empty: false,
      },
      { value: null, empty: true },
      { value: null, empty: true },
    ]);
  });
});
