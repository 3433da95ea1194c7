/**
 * The secrets pass settles most scalars without its patterns (a length floor,
 * and the verdict on a repeated string or key kept for the run). This proves
 * the shortcuts exact: over the example and generated fleets, the hostile
 * corpora and random strings built from the detectors' own fragments, every
 * value and key gets the verdict the detectors give when each is run in
 * full, in the order the pass documents.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { detect, encodedSecret, isKeyedSecret, URL_SECRET_QUERY, URL_USERINFO, VALUE_DETECTORS } from '../../src/diagnostics/redact.js';
import { parseFileText } from '../../src/manifests/index.js';
import { credentialIn, walkScalars, type Credential } from '../../src/schema/secrets.js';
import { pick, rng } from '../support/random.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The pass as specified: every detector run in full on every value, no shortcut. */
function reference(value: string, key: string | undefined): Credential | undefined {
  if (URL_USERINFO.test(value)) return { code: 'JOCH602', what: 'a URL with a password' };
  if (URL_SECRET_QUERY.test(value)) return { code: 'JOCH602', what: 'a URL with a token in its query' };
  for (const det of VALUE_DETECTORS) if (detect(det, value)) return { code: 'JOCH601', what: det.what };
  if (key !== undefined && isKeyedSecret(key, value)) return { code: 'JOCH601', what: `a credential (the key is "${key}")` };
  if (encodedSecret(value)) return { code: 'JOCH601', what: 'a base64-encoded credential' };
  return undefined;
}

/** Every value (with the key it is held under) and every key of the YAML files under a folder. */
function scalarsOf(texts: Iterable<string>): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  for (const text of texts) {
    for (const d of parseFileText('f.yaml', text, '').docs) {
      walkScalars(
        d.value,
        [],
        (value, _path, key) => out.push([value, key]),
        (key) => out.push([key, undefined]),
      );
    }
  }
  return out;
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

/** Sources of the hostile and secrets tests: their string literals are credentials and near misses, planted on purpose. */
function literalsOfTests(): string[] {
  const files = ['test/hostile/linear.test.ts', 'test/hostile/secrets.test.ts', 'test/schema/secrets.test.ts', 'test/diagnostics/redact.test.ts'];
  const out: string[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`([^`$\\]*)`/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  }
  return out;
}

/** Pieces the detectors look for, and characters around them, so random strings come close to and into every shape. */
const FRAGMENTS = [
  'sk-', 'sk-ant-', 'sk-proj-', 'ghp_', 'gho_', 'github_pat_', 'glpat-', 'xoxb-', 'xoxp-', 'hooks.slack.com/services/', 'AKIA', 'ASIA', 'akia',
  'AIza', 'rk_live_', 'sk_live_', 'SG.', 'npm_', 'eyJ', '.eyJ', 'Bearer ', 'Basic ', 'bearer\t', 'password=', 'pwd=', 'AccountKey=', 'https://',
  'u:p@', '@', ':', '//', '?token=', '&sig=', '-----BEGIN ', 'PRIVATE KEY-----', ' BLOCK-----', '=', '==', '/', '+', '-', '_', '.', ' ', '\n',
  'A1b2C3d4', 'Zy9_', 'abcdefghij', '0123456789', 'QWERTYUIOP', 'dXNlcjpwYXNzd29yZA', 'aGVsbG8', 'é', '\u00a0', ';', '&',
];
const KEYS = [undefined, 'password', 'token', 'apiKey', 'dbPassword', 'name', 'value', 'description', 'client_secret', 'fromSecret', 'x'];

function randomStrings(count: number, seed: number): Array<[string, string | undefined]> {
  const r = rng(seed);
  const out: Array<[string, string | undefined]> = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const parts = 1 + Math.floor(r() * 8);
    for (let p = 0; p < parts; p++) s += r() < 0.7 ? pick(r, FRAGMENTS) : String.fromCharCode(32 + Math.floor(r() * 95)).repeat(1 + Math.floor(r() * 12));
    out.push([s, KEYS[Math.floor(r() * KEYS.length)]]);
  }
  return out;
}

/** Every string of up to `length` characters over a small alphabet: the length floor, checked exhaustively. */
function shortStrings(alphabet: string, length: number): string[] {
  let level = [''];
  const out = [''];
  for (let n = 1; n <= length; n++) {
    level = level.flatMap((s) => [...alphabet].map((c) => s + c));
    for (const s of level) out.push(s);
  }
  return out;
}

/** Compares every case with the reference; how many cases there were, and how many hold a credential. */
function expectSameVerdicts(cases: Iterable<readonly [string, string | undefined]>): { cases: number; credentials: number } {
  let n = 0;
  let credentials = 0;
  const differ: string[] = [];
  for (const [value, key] of cases) {
    // Twice: the second answer may come from what the first kept.
    for (let round = 0; round < 2; round++) {
      if (JSON.stringify(credentialIn(value, key)) !== JSON.stringify(reference(value, key))) differ.push(`${JSON.stringify(value)} under ${key}`);
    }
    n++;
    if (reference(value, key)) credentials++;
  }
  expect(differ.slice(0, 10)).toEqual([]);
  return { cases: n, credentials };
}

let fleet: string;

beforeAll(() => {
  fleet = mkdtempSync(path.join(tmpdir(), 'joch-secrets-exact-'));
  generateFleet(fleet, 60);
});

afterAll(() => rmSync(fleet, { recursive: true, force: true }));

describe('the secrets pass shortcuts are exact', () => {
  it('on the example fleet and a generated fleet', () => {
    const { cases } = expectSameVerdicts(scalarsOf([...yamlFilesUnder(path.join(ROOT, 'examples')), ...yamlFilesUnder(fleet)]));
    expect(cases).toBeGreaterThan(10_000);
  });

  it('on the credentials and near misses the hostile and secrets tests plant', () => {
    const literals = literalsOfTests();
    expect(literals.length).toBeGreaterThan(200);
    expect(expectSameVerdicts(literals.flatMap((s) => KEYS.map((k) => [s, k] as const))).credentials).toBeGreaterThan(100);
  });

  it('on random strings built from the detectors\' fragments', () => {
    const { cases, credentials } = expectSameVerdicts(randomStrings(60_000, 18));
    expect(cases).toBe(60_000);
    // Many of them are credentials of one shape or another, and many are not.
    expect(credentials).toBeGreaterThan(5_000);
    expect(credentials).toBeLessThan(55_000);
  });

  it('on every short string over the characters of the shortest shapes', () => {
    // `pwd=abc` is the shortest credential; every string up to its length over these characters, under a credential key and none.
    const all = shortStrings('pwd= a', 7);
    expect(expectSameVerdicts(all.flatMap((s) => [[s, undefined], [s, 'password']] as const)).credentials).toBeGreaterThan(0);
  });
});
