/**
 * Capability scoping (JOCH711-715): each finding's exact code and place (the
 * reference that grants the capability), the decision in the agent's bundle,
 * what `joch explain` says, and the cases the checks must leave alone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Locator } from '../../src/manifests/index.js';
import { explainAgent, renderExplanation } from '../../src/policy/index.js';
import { agentOf, decider, FIXTURES, policyOf, runFixture, verdictOf } from './helpers.js';

const file = 'baseline/scoping.yaml';

/** Line and column of `needle` (the `nth` occurrence), `skip` characters into it. */
function place(needle: string, skip = 0, nth = 1): string {
  const text = readFileSync(path.join(FIXTURES, file), 'utf8');
  let at = -1;
  for (let i = 0; i < nth; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`"${needle}" is not in ${file}`);
  const before = text.slice(0, at + skip);
  return `${before.split('\n').length}:${before.length - before.lastIndexOf('\n')}`;
}

async function scoped() {
  const run = await runFixture([file]);
  const located = run.diagnostics
    .filter((d) => /^JOCH71[1-5]$/.test(d.code))
    .map((d) => `${d.code} ${d.severity} ${d.file}:${d.line}:${d.column} ${d.resource?.namespace ?? ''}/${d.resource?.name ?? ''}`)
    .sort();
  return { run, located, result: policyOf(run) };
}

describe('the findings, at the reference that grants the capability', () => {
  it('reports each case with its code, severity and place, and nothing else', async () => {
    const { located } = await scoped();
    expect(located).toEqual(
      [
        // The primary cannot serve the route's context window: an error at the route's primary.
        `JOCH711 error ${file}:${place('primary: openai:narrow', 'primary: '.length)} lab/long-reader`,
        // A fallback outside the route's residency: the router skips it, a warning at the fallback.
        `JOCH712 warning ${file}:${place('- anthropic:usonly', 2)} lab/eu-writer`,
        // The Environment the agent is deployed to binds the residency its route's primary breaks.
        `JOCH713 error ${file}:${place('primary: anthropic:usonly', 'primary: '.length)} lab/sovereign-agent`,
        // A Secret bound to other holders: at the holder's secretRef, once per agent holding it.
        `JOCH714 error ${file}:${place('name: lab-key', 'name: '.length)} lab/eu-writer`,
        `JOCH714 error ${file}:${place('name: lab-key', 'name: '.length)} lab/sovereign-agent`,
        `JOCH714 error ${file}:${place('name: lab-key', 'name: '.length, 4)} lab/fetcher`,
        // A tool of another namespace that does not let the agent's namespace in.
        `JOCH715 error ${file}:${place('- name: private.lookup', '- name: '.length)} lab/trespasser`,
      ].sort(),
    );
  });

  it('says what is missing and where the requirement comes from', async () => {
    const { run } = await scoped();
    const unmet = run.diagnostics.find((d) => d.code === 'JOCH711');
    expect(unmet?.message).toBe('Model narrow, the primary model of agent lab/long-reader, does not meet the requirements of ModelRoute lab/needs-long: a context window of 5000000 tokens (it offers 128000)');
    const residency = run.diagnostics.find((d) => d.code === 'JOCH713');
    expect(residency?.message).toContain('cannot keep data in EU, as Environment sovereign (compliance.dataResidency) requires: it has regions us');
    expect(residency?.related?.map((r) => `${r.file}:${r.line}`)).toEqual([`${file}:${place('dataResidency: EU', 0, 2).split(':')[0]}`]);
    const secret = run.diagnostics.find((d) => d.code === 'JOCH714' && d.resource?.name === 'fetcher');
    expect(secret?.message).toBe('Tool lab/lab.push, held by agent lab/fetcher, uses Secret lab/lab-key, whose scope.boundTo.tools names only lab.fetch');
  });
});

describe('the decisions in the bundle', () => {
  it('denies the primary, the out-of-scope holder and the foreign tool; a fallback that cannot serve stays allowed', async () => {
    const { result } = await scoped();
    expect(verdictOf(result, 'lab/long-reader', 'Model/narrow').outcome).toBe('deny');
    expect(decider(verdictOf(result, 'lab/long-reader', 'Model/narrow'))).toBe('joch-baseline#JOCH711');
    expect(verdictOf(result, 'lab/long-reader', 'Model/wide').outcome).toBe('allow');
    expect(verdictOf(result, 'lab/eu-writer', 'Model/wide').outcome).toBe('allow');
    expect(verdictOf(result, 'lab/eu-writer', 'Model/usonly').outcome).toBe('deny'); // its Secret, not its region
    expect(verdictOf(result, 'lab/eu-writer', 'Model/usonly').contributions.map((c) => c.rule)).toEqual(['JOCH712', 'JOCH714']);
    expect(decider(verdictOf(result, 'lab/sovereign-agent', 'Model/usonly'))).toBe('joch-baseline#JOCH713');
    expect(verdictOf(result, 'lab/fetcher', 'Tool/lab.fetch').outcome).toBe('allow');
    expect(decider(verdictOf(result, 'lab/fetcher', 'Tool/lab.push'))).toBe('joch-baseline#JOCH714');
    expect(verdictOf(result, 'lab/invited', 'Tool/shared.lookup').outcome).toBe('allow');
    expect(decider(verdictOf(result, 'lab/trespasser', 'Tool/private.lookup'))).toBe('joch-baseline#JOCH715');
  });

  it('leaves the example fleet alone', async () => {
    const { runValidate } = await import('../../src/pipeline/index.js');
    const run = await runValidate({ paths: ['examples/fleet'], cwd: path.resolve(FIXTURES, '../../..') });
    expect(run.diagnostics.filter((d) => /^JOCH71[1-5]$/.test(d.code))).toEqual([]);
  });
});

describe('joch explain', () => {
  it('shows the denial and the baseline rule behind it, at the reference', async () => {
    const { run, result } = await scoped();
    const locator = new Locator((f) => run.set.texts.get(f));
    const text = renderExplanation(explainAgent(agentOf(result, 'lab/trespasser'), (p) => locator.locate(p)), 'text');
    const line = place('- name: private.lookup').split(':')[0];
    expect(text).toMatch(new RegExp(`DENY\\s+Tool common/private\\.lookup\\s+granted at ${file.replace(/[./]/g, '\\$&')}:${line}`));
    expect(text).toContain('JOCH715');
    const fallback = renderExplanation(explainAgent(agentOf(result, 'lab/eu-writer'), (p) => locator.locate(p)), 'text');
    // Denied for its Secret; the residency warning shows as the other baseline rule that spoke.
    expect(fallback).toMatch(/DENY\s+Model usonly \(fallback\)[^\n]*\n\s+decided by joch-baseline#JOCH714: secret-out-of-scope\n\s+also joch-baseline#JOCH712 -> allow: fallback-cannot-serve: cannot keep data in EU/);
  });
});

describe('joch explain: the budgets that bind an agent', () => {
  it('lists the agent\'s own limits and each Budget with why and where it binds', async () => {
    const { runValidate } = await import('../../src/pipeline/index.js');
    const root = path.resolve(FIXTURES, '../../..');
    const run = await runValidate({ paths: ['examples/fleet'], cwd: root });
    const locator = new Locator((f) => run.set.texts.get(f));
    const text = renderExplanation(explainAgent(agentOf(policyOf(run), 'support-platform/support-triage'), (p) => locator.locate(p)), 'text');
    const lineIn = (f: string, needle: string) => readFileSync(path.join(root, f), 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
    const ops = 'examples/fleet/support-platform/operations.yaml';
    expect(text).toContain(
      [
        'Budgets (compiled into the bundle):',
        "  the agent's spec.budgets: tokenLimitPerRun 200000, costLimitUsdPerDay 25, toolCallLimitPerRun 100",
        '  Budget support-platform/support-platform-monthly: dailyUsd 250, monthlyUsd 5000, perRunUsd 5; its share 0.6 (dailyUsd 150, monthlyUsd 3000); onHardLimit deny, onSoftLimit alert, softLimitPct 0.8',
        `      bound because scope.teams names support-platform, the agent's Team  (${ops}:${lineIn(ops, 'teams: [support-platform]')})`,
        `      bound because allocation.byAgent names support-triage  (${ops}:${lineIn(ops, 'support-triage: 0.6')})`,
        `      bound because Team support-platform binds it (spec.budgetRefs)  (examples/fleet/platform/teams.yaml:${lineIn('examples/fleet/platform/teams.yaml', '- support-platform/support-platform-monthly')})`,
      ].join('\n'),
    );
  });
});
