import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { parseYamlFast } from '../../src/manifests/yaml-fast.js';
import { pick, rng } from '../support/random.js';

/** What `yaml` makes of a text: its values, or `undefined` when it reports any error or warning. */
function oracle(text: string): unknown[] | undefined {
  const docs = parseAllDocuments(text, { uniqueKeys: true, strict: true });
  const list = Array.isArray(docs) ? docs : [];
  if (list.some((d) => d.errors.length || d.warnings.length)) return undefined;
  try {
    return list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
  } catch {
    return undefined;
  }
}

/** The fast path must either decline or agree with `yaml` exactly. */
function expectAgreement(text: string): 'fast' | 'declined' {
  const fast = parseYamlFast(text);
  if (fast === undefined) return 'declined';
  const expected = oracle(text);
  const got = fast.map((d) => d.value);
  if (expected === undefined || !isDeepStrictEqual(got, expected)) {
    throw new Error(`fast path disagrees with yaml on:\n${text}\n--- fast: ${JSON.stringify(got)}\n--- yaml: ${JSON.stringify(expected)}`);
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
