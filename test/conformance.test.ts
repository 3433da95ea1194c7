/**
 * The 77 YAML examples of the Joch documentation, validated with
 * `--checks schema`. The table pins every outcome on purpose: a change in any
 * file's findings (a code, a line or a column) must be a decision, made here.
 *
 * Every severity is listed, the JOCH207 note on runtime records included: it
 * is the deliberate outcome for those kinds (validated, not reference-checked).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runValidate } from '../src/pipeline/index.js';
import type { Check } from '../src/schema/index.js';
import { tmpRepo, validate, yml } from './support/repo.js';

const DIR = path.resolve(import.meta.dirname, 'fixtures/conformance');
const SCHEMA_ONLY: ReadonlySet<Check> = new Set<Check>(['schema']);

/** Every file and its findings as `CODE line:column`, in output order. */
const EXPECTED: readonly (readonly [string, readonly string[]])[] = [
  ['aos__ocsf-mapping__1.yaml', ['JOCH302 1:1', 'JOCH207 2:7', 'JOCH302 3:1']],
  ['aos__opentelemetry-mapping__1.yaml', ['JOCH302 1:1', 'JOCH207 2:7', 'JOCH302 3:1']],
  ['architecture__control-plane__1.yaml', ['JOCH206 2:7']],
  ['architecture__framework-adapters__1.yaml', []],
  ['architecture__framework-adapters__2.yaml', ['JOCH101 11:3']],
  ['architecture__mcp-gateway__1.yaml', ['JOCH208 27:1']],
  ['architecture__model-router__1.yaml', []],
  ['architecture__policy-engine__1.yaml', ['JOCH101 24:9', 'JOCH101 29:9']],
  ['architecture__state-portability__1.yaml', ['JOCH207 2:7', 'JOCH303 18:3', 'JOCH303 20:3']],
  ['architecture__tool-gateway__1.yaml', ['JOCH207 2:7', 'JOCH208 18:1']],
  ['getting-started__first-agent__1.yaml', []],
  ['getting-started__first-agent__2.yaml', []],
  ['getting-started__first-agent__3.yaml', []],
  ['getting-started__first-agent__4.yaml', []],
  ['getting-started__governing-mcp__1.yaml', []],
  ['getting-started__governing-mcp__2.yaml', []],
  ['integrations__custom-code__1.yaml', []],
  ['integrations__custom-code__2.yaml', []],
  ['integrations__google-adk__1.yaml', []],
  ['pillars__governance__1.yaml', ['JOCH101 27:9']],
  ['pillars__governance__2.yaml', ['JOCH207 2:7', 'JOCH302 5:1', 'JOCH303 6:3', 'JOCH208 15:1']],
  ['pillars__inventory__1.yaml', ['JOCH303 15:3']],
  ['pillars__portability__1.yaml', ['JOCH207 2:7']],
  ['pillars__portability__2.yaml', []],
  ['pillars__release-management__1.yaml', []],
  ['platform__crds-controllers__1.yaml', []],
  ['platform__crds-controllers__2.yaml', ['JOCH204 1:13']],
  ['product__brand__1.yaml', ['JOCH302 1:1', 'JOCH302 1:1']],
  ['providers__anthropic__1.yaml', []],
  ['providers__google__1.yaml', []],
  ['providers__llama-cpp__1.yaml', []],
  ['providers__microsoft__1.yaml', []],
  ['providers__ollama__1.yaml', []],
  ['providers__openai__1.yaml', []],
  ['providers__vllm__1.yaml', []],
  ['reference__settings__1.yaml', ['JOCH206 2:7']],
  ['reference__settings__2.yaml', []],
  ['reference__settings__3.yaml', ['JOCH206 2:7']],
  ['reference__settings__4.yaml', ['JOCH206 2:7']],
  ['reference__settings__5.yaml', ['JOCH206 2:7']],
  ['specs__index__1.yaml', ['JOCH205 2:7']],
  ['specs__kubernetes__agbom__1.yaml', ['JOCH208 47:1']],
  ['specs__kubernetes__agent__1.yaml', ['JOCH208 64:1']],
  ['specs__kubernetes__approval__1.yaml', ['JOCH207 2:7', 'JOCH208 36:1']],
  ['specs__kubernetes__artifact__1.yaml', ['JOCH207 2:7', 'JOCH208 37:1']],
  ['specs__kubernetes__budget__1.yaml', ['JOCH208 35:1']],
  ['specs__kubernetes__conversation__1.yaml', ['JOCH207 2:7', 'JOCH208 25:1']],
  ['specs__kubernetes__deployment__1.yaml', ['JOCH208 51:1']],
  ['specs__kubernetes__environment__1.yaml', ['JOCH208 32:1']],
  ['specs__kubernetes__eval__1.yaml', ['JOCH208 44:1']],
  ['specs__kubernetes__execution__1.yaml', ['JOCH208 32:1']],
  ['specs__kubernetes__framework-adapter__1.yaml', ['JOCH208 35:1']],
  ['specs__kubernetes__handoff__1.yaml', ['JOCH207 2:7', 'JOCH208 27:1']],
  ['specs__kubernetes__knowledge-source__1.yaml', ['JOCH208 42:1']],
  ['specs__kubernetes__mcpserver__1.yaml', ['JOCH208 42:1']],
  ['specs__kubernetes__memory__1.yaml', ['JOCH208 48:1']],
  ['specs__kubernetes__model-route__1.yaml', ['JOCH208 37:1']],
  ['specs__kubernetes__model__1.yaml', ['JOCH208 56:1']],
  ['specs__kubernetes__policy__1.yaml', ['JOCH101 40:9', 'JOCH101 46:9']],
  ['specs__kubernetes__rag__1.yaml', ['JOCH208 57:1']],
  ['specs__kubernetes__secret__1.yaml', ['JOCH208 23:1']],
  ['specs__kubernetes__state-checkpoint__1.yaml', ['JOCH207 2:7', 'JOCH208 34:1']],
  ['specs__kubernetes__team-namespace__1.yaml', ['JOCH208 27:1']],
  ['specs__kubernetes__tool__1.yaml', ['JOCH208 60:1']],
  ['specs__kubernetes__toolcall__1.yaml', ['JOCH207 2:7', 'JOCH208 31:1']],
  ['specs__kubernetes__trace__1.yaml', ['JOCH207 2:7', 'JOCH208 30:1']],
  ['specs__resource-model__1.yaml', ['JOCH205 2:7']],
  ['use-cases__approvals__1.yaml', []],
  ['use-cases__approvals__2.yaml', []],
  ['use-cases__cost-control__1.yaml', []],
  ['use-cases__cost-control__2.yaml', []],
  ['use-cases__cost-control__3.yaml', []],
  ['use-cases__cross-provider-migration__1.yaml', []],
  ['use-cases__cross-provider-migration__2.yaml', ['JOCH207 2:7']],
  ['use-cases__mcp-governance__1.yaml', []],
  ['use-cases__release-gates__1.yaml', ['JOCH101 16:5']],
  ['use-cases__release-gates__2.yaml', []],
];

async function check(file: string) {
  return runValidate({ paths: [file], cwd: DIR, checks: SCHEMA_ONLY });
}

describe('the documentation examples (--checks schema)', () => {
  it('the table covers exactly the files of the folder', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toHaveLength(77);
    expect(EXPECTED.map(([f]) => f)).toEqual(files);
  });

  it.each(EXPECTED)('%s', async (file, expected) => {
    const run = await check(file);
    expect(run.diagnostics.map((d) => `${d.code} ${d.line}:${d.column}`)).toEqual(expected);
    for (const d of run.diagnostics) expect(d.file).toBe(file);
  });

  it('the five invalid YAML examples are JOCH101 errors with a message and a hint at the exact place', async () => {
    const cases: [string, string, string][] = [
      ['architecture__framework-adapters__2.yaml', '11:3', 'Implicit map keys need to be followed by map values'],
      ['architecture__policy-engine__1.yaml', '24:9', 'Implicit keys need to be on a single line'],
      ['pillars__governance__1.yaml', '27:9', 'Implicit keys need to be on a single line'],
      ['specs__kubernetes__policy__1.yaml', '40:9', 'Implicit keys need to be on a single line'],
      ['use-cases__release-gates__1.yaml', '16:5', 'Implicit keys need to be on a single line'],
    ];
    for (const [file, where, message] of cases) {
      const run = await check(file);
      const first = run.diagnostics[0];
      expect(first, file).toMatchObject({ code: 'JOCH101', severity: 'error', message });
      expect(`${first?.line}:${first?.column}`, file).toBe(where);
      expect(first?.hint, file).toBeTruthy();
      expect(run.set.resources, file).toEqual([]);
    }
    const yamlErrors = EXPECTED.filter(([, codes]) => codes.some((c) => c.startsWith('JOCH101')));
    expect(yamlErrors.map(([f]) => f)).toEqual(cases.map(([f]) => f));
  });
});

describe('apiVersion spellings', () => {
  it('accepts the group-qualified and the short spelling; the group is canonical either way', async () => {
    const qualified = await check('getting-started__first-agent__2.yaml');
    const short = await check('specs__kubernetes__tool__1.yaml');
    const q = qualified.set.resources.find((r) => r.kind === 'Tool');
    const s = short.set.resources.find((r) => r.kind === 'Tool');
    expect(q).toMatchObject({ apiVersion: 'tools.joch.dev/v1alpha1', group: 'tools.joch.dev', name: 'web.search' });
    expect(s).toMatchObject({ apiVersion: 'joch.dev/v1alpha1', group: 'tools.joch.dev', name: 'zendesk.create_ticket' });
    expect(qualified.diagnostics.filter((d) => d.code === 'JOCH203')).toEqual([]);
  });

  it('refuses another kind\'s group (JOCH203) and names both accepted spellings', async () => {
    const repo = tmpRepo({
      'tool.yaml': yml`
        apiVersion: model.joch.dev/v1alpha1
        kind: Tool
        metadata:
          name: t
        spec:
          type: rest
      `,
      'old.yaml': yml`
        apiVersion: tools.joch.dev/v1beta1
        kind: Tool
        metadata:
          name: u
        spec:
          type: rest
      `,
    });
    const run = await validate(repo, { checks: SCHEMA_ONLY });
    expect(run.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}:${d.column} ${d.message}`)).toEqual([
      'JOCH203 old.yaml:1:13 Tool is served as joch.dev/v1alpha1 or tools.joch.dev/v1alpha1, not tools.joch.dev/v1beta1',
      'JOCH203 tool.yaml:1:13 Tool is served as joch.dev/v1alpha1 or tools.joch.dev/v1alpha1, not model.joch.dev/v1alpha1',
    ]);
    expect(run.set.resources).toEqual([]);
  });
});
