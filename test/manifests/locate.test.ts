/**
 * Findings are placed from the fast scanner's record where it has one and
 * with `yaml` otherwise: either way the place must be the one `yaml` alone
 * gives, start and end, for every key, item and missing field a finding can
 * point at.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { SourcePointer } from '../../src/diagnostics/index.js';
import { Locator } from '../../src/manifests/locate.js';
import { parseYamlFast } from '../../src/manifests/yaml-fast.js';
import { pick, rng } from '../support/random.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every path into `value`, and a missing key and item below each collection (a required field that is absent). */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
    out.push([...prefix, value.length], [...prefix, 'missing']);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
    out.push([...prefix, 'missing'], [...prefix, 0]);
  } else {
    out.push([...prefix, 'below']);
  }
  return out;
}

/** Compares both locators on every pointer into `text`; returns how many the scanner placed, or undefined when it declined the file. */
function comparePlaces(text: string): { pointers: number; fast: number } | undefined {
  const docs = parseYamlFast(text);
  if (!docs) return undefined;
  const textOf = () => text;
  const both = new Locator(textOf);
  const reference = new Locator(textOf, { scanner: false });
  let pointers = 0;
  let fast = 0;
  docs.forEach((doc, i) => {
    for (const p of pathsOf(doc.value)) {
      for (const part of ['key', 'value'] as const) {
        const pointer: SourcePointer = { file: 'f.yaml', doc: i, path: p, part };
        const expected = reference.locate(pointer);
        const got = both.locate(pointer);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          throw new Error(`${JSON.stringify(pointer)}: ${JSON.stringify(got)} where yaml gives ${JSON.stringify(expected)} in\n${text}`);
        }
        pointers++;
        if (both.locateFast(pointer)) fast++;
      }
    }
  });
  return { pointers, fast };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const SCALARS = ['plain', 'two words', "it's", 'say "hi"', '', 'true', 'null', '123', '-7', 'a: b', 'x # y', 'multi\nline', 'end\n', 0, 3.5, true, null];
const KEYS = ['name', 'spec', 'app.kubernetes.io/name', 'a b', 'quoted key', 'k#h', '1', 'é'];

function randomValue(r: () => number, depth: number): unknown {
  const roll = r();
  if (depth > 3 || roll < 0.4) return pick(r, SCALARS);
  if (roll < 0.75) return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [pick(r, KEYS), randomValue(r, depth + 1)]));
  return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
}

function render(r: () => number, value: unknown): string {
  const text = stringify(value, {
    indent: pick(r, [2, 4]),
    indentSeq: r() < 0.5,
    collectionStyle: pick(r, ['any', 'any', 'block', 'flow'] as const),
    defaultStringType: pick(r, ['PLAIN', 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'] as const),
    defaultKeyType: pick(r, [null, null, 'QUOTE_DOUBLE', 'QUOTE_SINGLE'] as const),
  });
  // Comments and trailing spaces after values, which a scalar's range must leave out.
  return r() < 0.3 ? text.replace(/\n/g, (nl) => pick(r, [nl, nl, '  \n', ' # note\n'])) : text;
}

describe('placing findings', () => {
  it('gives the place yaml gives on the examples, the templates and the documentation corpus', () => {
    const files = [...yamlFiles(path.join(ROOT, 'examples')), ...yamlFiles(path.join(ROOT, 'templates')), ...yamlFiles(path.join(ROOT, 'test/fixtures/conformance'))];
    let pointers = 0;
    let fast = 0;
    for (const file of files) {
      const counts = comparePlaces(readFileSync(file, 'utf8'));
      pointers += counts?.pointers ?? 0;
      fast += counts?.fast ?? 0;
    }
    // The scanner places most findings itself: collections' own ranges and block scalars are the rest.
    expect(pointers).toBeGreaterThan(5000);
    expect(fast / pointers).toBeGreaterThan(0.7);
  });

  it('gives the place yaml gives on generated documents in every style, comments and multi-document files included', () => {
    const r = rng(20261207);
    let files = 0;
    let fast = 0;
    for (let n = 0; n < 1500; n++) {
      const text = Array.from({ length: 1 + Math.floor(r() * 3) }, () => render(r, randomValue(r, 0))).join('---\n');
      const counts = comparePlaces(text);
      if (counts) files++;
      fast += counts?.fast ?? 0;
    }
    expect(files).toBeGreaterThan(500);
    expect(fast).toBeGreaterThan(1000);
  });

  it('turns to yaml for a file the scanner declines or reads differently (CRLF, a byte order mark)', () => {
    for (const text of ['a: &x 1\nb: *x\n', 'a: 1\r\nb: two\r\n', '\ufeffa: 1\nb: two\n']) {
      const locator = new Locator(() => text);
      const pointer: SourcePointer = { file: 'f.yaml', doc: 0, path: ['b'] };
      expect(locator.locateFast(pointer)).toBeUndefined();
      expect(locator.locate(pointer)).toEqual(new Locator(() => text, { scanner: false }).locate(pointer));
      expect(locator.locate(pointer).line).toBe(2);
    }
  });
});
