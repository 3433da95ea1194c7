/**
 * The policy stage through the real command line (`node bin/joch.js`, built
 * by the global setup): `joch validate` in all four formats with its exit
 * codes, `--checks`, severity overrides, `joch explain` and `joch policy test`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpRepo } from '../support/repo.js';
import { ROOT } from './helpers.js';

const BIN = path.join(ROOT, 'bin/joch.js');

function joch(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The line of the `nth` occurrence of `needle` in a file of the repository. */
function line(file: string, needle: string, nth = 1): number {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  let seen = 0;
  const i = lines.findIndex((l) => l.includes(needle) && ++seen === nth);
  if (i < 0) throw new Error(`"${needle}" is not in ${file}`);
  return i + 1;
}

const FX = 'test/fixtures/policy';
const SIDE = `${FX}/baseline/side-effects.yaml`;

describe('joch validate runs policy after schema and reference checks', () => {
  it('keeps the example fleet clean: only notes, exit 0', () => {
    const r = joch('validate', 'examples/fleet', '--format', 'json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { diagnostics: { code: string; severity: string }[]; summary: { errors: number; warnings: number } };
    expect(out.summary).toMatchObject({ errors: 0, warnings: 0 });
    expect(out.diagnostics.filter((d) => d.code === 'JOCH810')).toHaveLength(6);
  });

  it('reports a baseline violation in text, JSON, GitHub and SARIF, and exits 1', () => {
    const at = line(SIDE, '- name: wire.transfer');
    const text = joch('validate', `${FX}/base`, SIDE);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${SIDE}:${at}:13 error JOCH701 agent finance/payments is deployed to production Environment prod`);
    expect(text.stdout).toContain('[Agent finance/payments]');

    const json = joch('validate', `${FX}/base`, SIDE, '--format', 'json');
    expect(json.code).toBe(1);
    const diags = (JSON.parse(json.stdout) as { diagnostics: Record<string, unknown>[] }).diagnostics.filter((d) => d.code === 'JOCH701');
    expect(diags.map((d) => [d.file, d.line, d.path, d.resource])).toContainEqual([SIDE, at, 'spec.tools[1].name', { kind: 'Agent', namespace: 'finance', name: 'payments' }]);

    const github = joch('validate', `${FX}/base`, SIDE, '--format', 'github');
    expect(github.code).toBe(1);
    expect(github.stdout).toMatch(new RegExp(`^::error file=${SIDE.replace(/[/.]/g, '\\$&')},line=${at},col=13,.*title=JOCH701 prod-side-effect-without-approval::agent finance/payments`, 'm'));

    const sarif = joch('validate', `${FX}/base`, SIDE, '--format', 'sarif');
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    const run = log.runs[0];
    expect(run?.tool.driver.rules.map((r) => r.id)).toContain('JOCH701');
    expect(run?.results.filter((r) => r.ruleId === 'JOCH701').map((r) => [r.level, r.locations[0]?.physicalLocation.region.startLine])).toContainEqual(['error', at]);
  });

  it('runs policy only when asked: --checks without policy skips it, policy alone still resolves references', () => {
    const without = joch('validate', `${FX}/base`, SIDE, '--checks', 'schema,identity,references,secrets');
    expect(without.code).toBe(0);
    expect(without.stdout).not.toContain('JOCH7');
    const alone = joch('validate', `${FX}/base`, SIDE, '--checks', 'policy', '--format', 'json');
    expect(alone.code).toBe(1);
    expect((JSON.parse(alone.stdout) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code)).toEqual(['JOCH701', 'JOCH701', 'JOCH701', 'JOCH701', 'JOCH810']);
    const bad = joch('validate', '--checks', 'polcy');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the checks are schema, identity, references, secrets, policy');
    for (const empty of ['', ',', ' , ']) {
      const none = joch('validate', `${FX}/base`, SIDE, '--checks', empty);
      expect(none.code, JSON.stringify(empty)).toBe(2);
      expect(none.stderr).toContain('--checks: name at least one check');
    }
  });

  it('lets joch.yaml raise a policy code but refuses to lower a baseline one', () => {
    const r = joch('validate', `${FX}/severity`, '--format', 'json');
    expect(r.code).toBe(1);
    const diags = (JSON.parse(r.stdout) as { diagnostics: { code: string; severity: string; message: string }[] }).diagnostics;
    expect(diags.map((d) => `${d.code} ${d.severity}`)).toEqual(['JOCH701 error', 'JOCH810 warning', 'JOCH001 error']);
    expect(diags[2]?.message).toBe('joch.yaml: severity: JOCH701 (prod-side-effect-without-approval) can be raised but not lowered or turned off');
  });
});

describe('joch explain', () => {
  const AGENT_FILE = 'examples/fleet/support-platform/agents/support-triage.yaml';
  const POLICIES = 'examples/fleet/support-platform/policies.yaml';

  it('prints every capability with the rule that decided it, its file and line, and exits 0', () => {
    const r = joch('explain', 'support-triage', 'examples/fleet', '-n', 'support-platform');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const after = (start: string) => lines[lines.findIndex((l) => l.startsWith(start)) + 1];
    expect(lines[0]).toBe(`Agent support-platform/support-triage  (${AGENT_FILE}:${line(AGENT_FILE, 'name: support-triage')})`);
    const slack = `  REQUIRE-APPROVAL  Tool support-platform/slack.send  granted at ${AGENT_FILE}:${line(AGENT_FILE, '- name: slack.send')}`;
    expect(lines).toContain(slack);
    expect(after(slack)).toBe(`      decided by support-platform/external-send-requires-approval#messages-to-people (${POLICIES}:${line(POLICIES, '- name: messages-to-people')})`);
    const search = `  ALLOW             Tool support-platform/zendesk.search  granted at ${AGENT_FILE}:${line(AGENT_FILE, '- name: zendesk.search')}`;
    expect(after(search)).toBe('      decided by default: no rule matched');
    expect(r.stdout).toContain('  platform/prod-guardrails#run-cost-cap: when cost.runUsd: >10 -> deny (run-cost-cap-exceeded)\n');
    expect(r.stdout).toContain(
      '  support-platform/no-customer-data-exfiltration#no-pii-to-untrusted-mcp: when data.contains: pii, mcpServer.trustScore: <0.8 -> deny (customer-data-to-untrusted-server) for MCPServer github\n',
    );
  });

  it('gives the same explanation as JSON', () => {
    const r = joch('explain', 'support-platform/support-triage', 'examples/fleet', '--format', 'json');
    expect(r.code).toBe(0);
    const x = JSON.parse(r.stdout) as { capabilities: { kind: string; name: string; outcome: string; decidedBy: string; grantedAt: { file: string; line: number } }[]; policies: { policy: string; source: string }[] };
    expect(x.capabilities.find((c) => c.name === 'support-docs-rag')).toMatchObject({
      outcome: 'modify',
      decidedBy: 'support-platform/internal-knowledge-redaction#redact-internal-sources',
      grantedAt: { file: AGENT_FILE, line: line(AGENT_FILE, '- name: support-docs-rag') },
    });
    expect(x.policies.map((p) => `${p.source}:${p.policy}`)).toEqual([
      'baseline:joch-baseline',
      'environment:platform/prod-guardrails',
      'team:support-platform/external-send-requires-approval',
      'attached:support-platform/no-customer-data-exfiltration',
      'selector:platform/mcp-hygiene',
      'selector:support-platform/internal-knowledge-redaction',
    ]);
  });

  it('exits 1 for an agent with a denied capability, naming the rule', () => {
    const file = `${FX}/policies/composition.yaml`;
    const r = joch('explain', 'worker', `${FX}/base`, file, '-n', 'comp');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  DENY              Tool comp/t.pay  granted at ${file}:${line(file, '- name: t.pay')}\n      decided by comp/second-opinion#stop-pay (${file}:${line(file, '- name: stop-pay')}): payments-frozen\n`);
  });

  it('fails closed when a file could not be read: a Policy in it was never evaluated', () => {
    const file = `${FX}/policies/composition.yaml`;
    const repo = tmpRepo({ 'held-back.yaml': 'apiVersion: joch.dev/v1alpha1\nkind: Policy\nmetadata: {name: freeze, namespace: comp\n' });
    const r = joch('explain', 'worker', `${FX}/base`, file, repo.path('held-back.yaml'), '-n', 'comp');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 file\(s\) could not be read \(.*held-back\.yaml\); a Policy in them was not evaluated/);
  });

  it('masks a credential a rule carries, as every output does', () => {
    const token = `ghp_${'Zq9x'.repeat(9)}`;
    const text = readFileSync(path.join(ROOT, FX, 'policies/composition.yaml'), 'utf8').replace('reason: payments-frozen', `reason: ${token}`);
    const repo = tmpRepo({ 'composition.yaml': text });
    for (const format of ['text', 'json']) {
      const r = joch('explain', 'worker', `${FX}/base`, repo.path('composition.yaml'), '-n', 'comp', '--format', format);
      expect(r.stdout).toContain('*'.repeat(token.length));
      expect(r.stdout + r.stderr).not.toContain(token);
      expect(r.code).toBe(1);
    }
  });

  it('exits 2 for an agent that does not exist, with a suggestion', () => {
    const r = joch('explain', 'support-triag', 'examples/fleet');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no agent "support-triag"; did you mean "support-triage"?');
  });
});

describe('joch policy test', () => {
  it('passes the example fleet\'s policy tests', () => {
    const r = joch('policy', 'test', 'examples/fleet/policy-tests');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\n17 passed, 0 failed (2 test files)\n');
  });

  it('fails a wrong expectation with what was expected and what came out, exit 1', () => {
    const r = joch('policy', 'test', `${FX}/tests/failing`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  PASS  right about wire.transfer\n');
    expect(r.stdout).toContain('  FAIL  wrong about refund.issue\n        expected allow, got require-approval (decided by joch-baseline#tool-requires-approval)\n');
    expect(r.stdout).toContain('        expected decided by finance/notify-approval#costly-exports, got finance/notify-approval#customer-messages\n');
    expect(r.stdout).toContain('        no agent "finance/nobody" in the inputs\n');
    expect(r.stdout).toContain('        expected deferred finance/notify-approval#customer-messages; deferred: finance/notify-approval#costly-exports\n');
    expect(r.stdout).toContain('\n1 passed, 5 failed (1 test file)\n');
  });

  it('refuses a malformed test file, exit 2', () => {
    const r = joch('policy', 'test', `${FX}/tests/malformed`, '--format', 'json');
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { tests: { errors: string[] }[] };
    expect(out.tests[0]?.errors).toEqual(['spec.cases.0: Unrecognized key: "capabilty"', 'spec.cases.0: a case must expect an outcome, a decidedBy, deferred rules or findings']);
  });

  it('cannot run a test whose configuration or inputs were not fully read, exit 2', () => {
    const inputs = [path.join(ROOT, FX, 'base'), path.join(ROOT, SIDE)];
    const testFile = (more: string[], config?: string) =>
      [
        'apiVersion: joch.dev/v1alpha1',
        'kind: PolicyTest',
        'metadata:',
        '  name: t',
        'spec:',
        `  inputs: [${[...inputs, ...more].join(', ')}]`,
        ...(config ? [`  config: ${config}`] : []),
        '  cases:',
        '    - name: c',
        '      agent: finance/payments',
        '      capability: Tool/wire.transfer',
        '      outcome: deny',
        '',
      ].join('\n');
    const cases: [string, Record<string, string>, RegExp][] = [
      ['a config that does not exist', { 'joch-test.yaml': testFile([], 'nowhere.yaml') }, /spec\.config: no such file: nowhere\.yaml/],
      ['a config with an unknown key', { 'joch-test.yaml': testFile([], 'settings.yaml'), 'settings.yaml': 'polcy: {}\n' }, /settings\.yaml:1:1 JOCH001 joch\.yaml: Unrecognized key: "polcy"/],
      ['an input that is not valid YAML', { 'joch-test.yaml': testFile(['broken.yaml']), 'broken.yaml': 'kind: Policy\nmetadata: {name: x\n' }, /broken\.yaml:\d+:\d+ JOCH101 /],
    ];
    for (const [what, files, error] of cases) {
      const r = joch('policy', 'test', tmpRepo(files).root, '--format', 'json');
      expect(r.code, what).toBe(2);
      const out = JSON.parse(r.stdout) as { tests: { errors: string[]; cases: unknown[] }[] };
      expect(out.tests[0]?.cases, what).toEqual([]);
      expect(out.tests[0]?.errors.join('\n'), what).toMatch(error);
    }
  });

  it('refuses a test file nested too deeply or with an alias bomb, exit 2, without a crash', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${Array(10).fill('*a').join(', ')}]\nc: [${Array(10).fill('*b').join(', ')}]\n`;
    for (const [what, text, error] of [
      ['deep', `spec: ${'['.repeat(5_000)}\n`, /nests collections more than 256 levels deep at line 1, column/],
      ['bomb', bomb, /alias/i],
    ] as const) {
      const r = joch('policy', 'test', tmpRepo({ 'joch-test.yaml': text }).root, '--format', 'json');
      expect(r.code, what).toBe(2);
      expect((JSON.parse(r.stdout) as { tests: { errors: string[] }[] }).tests[0]?.errors.join('\n'), what).toMatch(error);
    }
  });

  it('needs the test subcommand', () => {
    expect(joch('policy', 'run').code).toBe(2);
  });
});
