/**
 * Structure-aware fuzzing of the loader and validator: each case takes one
 * file of the example fleet, applies a few mutations that YAML authors and
 * attackers make (broken indentation, stray quotes and brackets, anchors and
 * aliases, self-referring aliases, tags, tabs, long values, control
 * characters, truncation) and runs the whole pipeline over the fleet in
 * memory, then renders the diagnostics as JSON and text.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostics, type Diagnostic } from '../../src/diagnostics/index.js';
import { runSnapshot } from '../../src/pipeline/snapshot.js';
import type { SourceFile } from '../../src/source/types.js';
import { pick, rng } from '../support/random.js';

const FLEET = path.resolve(import.meta.dirname, '../../examples/fleet');

export interface FuzzProblem {
  readonly case: number;
  readonly file: string;
  readonly mutations: readonly string[];
  readonly problem: string;
}

export interface FuzzResult {
  readonly cases: number;
  readonly problems: FuzzProblem[];
  readonly slowest: { readonly case: number; readonly ms: number; readonly mutations: readonly string[] };
  readonly errorsFound: number;
}

function fleetFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(FLEET, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(FLEET, child)).isDirectory()) {
        if (name !== 'policy-tests') walk(child);
      } else if (/\.ya?ml$/.test(name)) {
        out.push({ path: child, bytes: readFileSync(path.join(FLEET, child)) });
      }
    }
  };
  walk('');
  return out;
}

type Mutation = (lines: string[], r: () => number) => string;

const line = (lines: string[], r: () => number) => Math.floor(r() * lines.length);

const MUTATIONS: Mutation[] = [
  (l, r) => (l.splice(line(l, r), 1), 'delete a line'),
  (l, r) => ((i) => (l.splice(i, 0, l[i] ?? ''), 'duplicate a line'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = ` ${l[i] ?? ''}`), 'indent a line by one'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/^ {2}/, '')), 'dedent a line'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = `\t${l[i] ?? ''}`), 'a tab'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = `${l[i] ?? ''} "`), 'an unclosed quote'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = `${l[i] ?? ''} [`), 'an unclosed bracket'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(': ', ':')), 'no space after a colon'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': &a $1')), 'an anchor'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': *a')), 'an alias'))(line(l, r)),
  (l, r) => ((i) => (l.splice(i, 0, `${(l[i] ?? '').match(/^\s*/)?.[0] ?? ''}self: *s`), (l[0] = `${l[0]}`), 'a self alias'))(line(l, r)),
  (l) => ((l[l.findIndex((x) => x === 'spec:')] = 'spec: &s'), 'anchor the spec'),
  (l, r) => ((i) => (l.splice(i, 0, `${(l[i] ?? '').match(/^\s*/)?.[0] ?? ''}<<: *s`), 'a merge of the spec'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': !!binary aGVsbG8=')), 'a binary tag'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': !custom $1')), 'a custom tag'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, `: ${'a-'.repeat(20_000)}`)), 'a 40 KB value'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': [1, {a: [2, {b: 3}]}]')), 'a nested flow value'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': 12345678901234567890123')), 'a huge number'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': ~')), 'a null value'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = `${l[i] ?? ''}\u0000\u001b[31m`), 'control characters'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = `${l[i] ?? ''} \ufeff\u202e`), 'a byte order mark and a bidi override'))(line(l, r)),
  (l, r) => ((i) => (l.splice(i, 0, '---'), 'a document marker'))(line(l, r)),
  (l, r) => ((i) => (l.splice(i), 'truncate'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = `${'['.repeat(300)}`), 'deep nesting'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/^(\s*)[\w.-]+:/, '$1? key\n$1:')), 'an explicit key'))(line(l, r)),
  (l, r) => ((i) => ((l[i] = (l[i] ?? '').replace(/: (.+)$/, ': password=hunter22;')), 'a credential'))(line(l, r)),
];

/** Runs `cases` fuzz cases from `seed`; never throws for a case, it records it. */
export function runFuzz(cases: number, seed: number, timeBoundMs = 10_000): FuzzResult {
  const files = fleetFiles();
  const r = rng(seed);
  const problems: FuzzProblem[] = [];
  let slowest = { case: -1, ms: 0, mutations: [] as string[] };
  let errorsFound = 0;
  for (let n = 0; n < cases; n++) {
    const target = pick(r, files);
    const lines = Buffer.from(target.bytes).toString('utf8').split('\n');
    const mutations: string[] = [];
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) mutations.push(pick(r, MUTATIONS)(lines, r));
    const text = lines.join('\n');
    const snapshot = { root: FLEET, files: files.map((f) => (f === target ? { path: f.path, bytes: Buffer.from(text) } : f)) };
    const report = (problem: string) => problems.push({ case: n, file: target.path, mutations, problem });
    const start = performance.now();
    try {
      const run = runSnapshot({ snapshot });
      const json = formatDiagnostics('json', run.diagnostics, run.summary, {});
      formatDiagnostics('text', run.diagnostics, run.summary, { sourceText: (f) => run.set.texts.get(f) });
      const parsed = JSON.parse(json) as { diagnostics: Diagnostic[] };
      for (const d of parsed.diagnostics) {
        if (d.severity === 'error') errorsFound++;
        if (d.severity === 'error' && (!d.file || !(d.line >= 1) || !(d.column >= 1))) report(`an unlocated error: ${d.code} ${d.message}`);
      }
    } catch (e) {
      report(`crashed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const ms = performance.now() - start;
    if (ms > slowest.ms) slowest = { case: n, ms, mutations };
    if (ms > timeBoundMs) report(`took ${Math.round(ms)} ms`);
  }
  return { cases, problems, slowest, errorsFound };
}
