import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { toYaml, toYamlStream, type JsonValue } from '../../src/compile/yaml.js';
import { pick, rng } from '../support/random.js';

/** The value as YAML 1.2 (the yaml package) and YAML 1.1 (what kubectl's go-yaml reads) both see it. */
function roundTrips(value: JsonValue): void {
  const text = toYaml(value);
  expect(parse(text), text).toEqual(value);
  expect(parse(text, { version: '1.1' }), text).toEqual(value);
}

const TRICKY = [
  '', ' ', 'yes', 'No', 'ON', 'off', 'y', 'N', 'true', 'False', 'null', 'Null', '~', 'nan', '.inf', '-.inf', '0', '007', '0x1F', '0o17', '1e3', '1_000',
  '1:20', '12:30:45', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '-', '- a', '? x', ': x', 'a: b', 'a #b', '#c', '&a', '*a', '!tag', '%x', '@x', '`x', '|', '>', "'q'", '"q"',
  '[a]', '{a: 1}', 'a,b', 'trailing ', ' leading', 'tab\there', 'multi\nline', 'multi\nline\n', 'two\n\nblank', 'ends\n\n', 'crlf\r\n', 'uni ✓ ü', 'emoji 🚀', '\u0000nul', '\u2028sep',
  'http://example.com/a?b=c#d', 'ghcr.io/example/x:1.2.3', 'sha256:abc', 'key: value', 'a:', 'a :b', '<<', '=', 'x=y', '0.85', '-1', '+1', '.5',
];

describe('the YAML writer', () => {
  it('round-trips strings that YAML would read as something else', () => {
    for (const s of TRICKY) roundTrips({ [s || 'empty']: s, list: [s], nested: { k: s } });
    for (const s of TRICKY) if (s) roundTrips({ [s]: 1 });
  });

  it('round-trips numbers, booleans, null and empty collections', () => {
    roundTrips({ a: 0, b: -1, c: 0.85, d: 1e-7, e: 1e21, f: 123456789, g: true, h: false, i: null, j: [], k: {}, l: [[], {}, [1, [2]]] });
  });

  it('writes multi-line text as a literal block that keeps every character', () => {
    const json = `${JSON.stringify({ a: { b: [1, 'two'] } }, null, 2)}\n`;
    const text = toYaml({ data: { 'manifest.json': json } });
    expect(text).toContain('manifest.json: |\n    {\n');
    roundTrips({ data: { 'manifest.json': json } });
  });

  it('round-trips random documents (fuzz, seeded)', () => {
    const r = rng(42);
    const alphabet = ['a', 'Z', '0', '9', ' ', ':', '#', '-', '.', '/', '\n', '"', "'", '\\', 'é', '\t', '@', '&', '*', '!', '|', '>', '{', '[', ','];
    const str = () => Array.from({ length: Math.floor(r() * 8) }, () => pick(r, alphabet)).join('');
    const value = (depth: number): JsonValue => {
      const k = r();
      if (depth > 3 || k < 0.3) return str();
      if (k < 0.4) return Math.round((r() - 0.5) * 1e6) / 100;
      if (k < 0.45) return r() < 0.5;
      if (k < 0.5) return null;
      if (k < 0.75) return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [str(), value(depth + 1)]));
    };
    for (let i = 0; i < 500; i++) roundTrips({ root: value(0) });
  });

  it('writes a stream of documents that kubectl-style parsers split into the same objects', () => {
    const docs: JsonValue[] = [{ kind: 'A', metadata: { name: 'a' } }, { kind: 'B', list: [{ x: 1 }, { y: [2, 3] }] }];
    const parsed = parseAllDocuments(toYamlStream(docs)).map((d) => d.toJS() as unknown);
    expect(parsed).toEqual(docs);
  });

  it('is deterministic: key order is the order given', () => {
    expect(toYaml({ b: 1, a: 2 })).toBe('b: 1\na: 2\n');
  });
});
