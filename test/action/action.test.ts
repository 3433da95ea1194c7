/**
 * The GitHub Action as a workflow runs it: the committed bundle started with
 * node from a copy of the repository's files (no node_modules), the runner's
 * variables and a real pull_request payload, a workspace checked out from a
 * real Git server the way actions/checkout does (refs/pull/N/merge, one
 * commit deep by default), and a stand-in for the GitHub REST API at the
 * HTTP boundary, the one service these machines cannot reach.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCodes } from '../../src/diagnostics/index.js';
import { ACTIONS_BOT, startGitHubStandIn, type GitHubStandIn } from './github-api.js';
import { sarifValidator } from '../support/sarif.js';
import { annotations, checkout, downloadAction, git, Origin, runAction, type Edits, type PullRequest, type RunResult } from './runner.js';

const BOT_TOKEN = 'ghs_installation0123456789abcdefghijklmnop';
const PERSONAL_TOKEN = 'ghp_personal0123456789abcdefghijklmnopqrs';
const TRIAGE = 'support-platform/agents/support-triage.yaml';

const refundTool = [
  'apiVersion: tools.joch.dev/v1alpha1',
  'kind: Tool',
  'metadata:',
  '  name: payments.refund',
  '  namespace: support-platform',
  'spec:',
  '  type: rest',
  '  endpoint:',
  '    method: POST',
  '    url: https://payments.example.com/api/refunds',
  '  sideEffects:',
  '    level: financial',
  '    requiresApproval: false',
  '',
].join('\n');

const grantRefund = (s: string) => s.replace('    - name: slack.send\n', '    - name: slack.send\n    - name: payments.refund\n');

/** A rule of the team's policy that puts financial tools under approval. */
const refundsNeedApproval = (s: string) =>
  s.replace(
    '    - name: messages-to-people\n',
    [
      '    - name: refunds',
      '      when:',
      '        tool.sideEffect: financial',
      '      require:',
      '        approval: human',
      '        approvalRouting:',
      '          approvers: [team:support-platform-leads]',
      '          timeoutMinutes: 30',
      '          onTimeout: deny',
      '    - name: messages-to-people',
      '',
    ].join('\n'),
  );

function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not found`);
  return i + 1;
}

interface SarifLog {
  runs: {
    tool: { driver: { rules: { id: string; fullDescription?: { text: string }; help?: { text: string; markdown: string }; helpUri?: string; properties?: Record<string, unknown> }[] } };
    originalUriBaseIds: Record<string, { uri: string }>;
    results: { ruleId: string; level: string; partialFingerprints?: Record<string, string>; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[];
  }[];
}

let validateSarif: ValidateFunction;

function sarifOf(r: RunResult): SarifLog {
  const log = JSON.parse(readFileSync(r.outputs['sarif-file'] ?? r.sarifFile, 'utf8')) as SarifLog;
  expect(validateSarif(log), JSON.stringify(validateSarif.errors)).toBe(true);
  return log;
}

// Every test checks out a pull request over HTTP and starts the Action one or more times.
describe('the Action, run as the runner runs it', { timeout: 120_000 }, () => {
  let action: { dir: string; main: string };
  let origin: Origin;
  let api: GitHubStandIn;
  const workspaces: string[] = [];
  let nextPr = 1;

  beforeAll(async () => {
    validateSarif = sarifValidator();
    action = downloadAction();
    origin = await Origin.start({
      // A repository holds more than Joch records: none of these may be read as one.
      '.github/workflows/ci.yml': 'name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n',
      'charts/web/templates/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n',
    });
    api = await startGitHubStandIn();
    api.tokens.set(BOT_TOKEN, ACTIONS_BOT);
    api.tokens.set(PERSONAL_TOKEN, { login: 'octo-reviewer', type: 'User', canReadUser: true });
  });

  afterAll(async () => {
    await api?.close();
    await origin?.close();
    for (const w of workspaces) rmSync(w, { recursive: true, force: true });
    if (action) rmSync(action.dir, { recursive: true, force: true });
  });

  function open(edits: Edits): PullRequest {
    return origin.pullRequest(nextPr++, edits);
  }

  async function review(pr: PullRequest, options: { depth?: 'shallow' | 'full'; inputs?: Record<string, string>; token?: string; eventBase?: string } = {}): Promise<RunResult & { workspace: string }> {
    const workspace = await checkout(origin, pr, options.depth ?? 'shallow');
    workspaces.push(workspace);
    const event = options.eventBase ? { ...pr, base: options.eventBase } : pr;
    const r = await runAction(action.main, { workspace, pr: event, inputs: options.inputs ?? {}, apiUrl: api.url, token: options.token ?? BOT_TOKEN });
    return { ...r, workspace };
  }

  it('runs from the committed files alone: action.yml names a node24 main that exists, and there is no node_modules', () => {
    const yml = readFileSync(path.join(action.dir, 'action.yml'), 'utf8');
    expect(yml).toMatch(/using: node24/);
    expect(readFileSync(action.main, 'utf8').length).toBeGreaterThan(0);
    expect(() => readFileSync(path.join(action.dir, 'node_modules/yaml/package.json'))).toThrow();
  });

  it('passes a harmless pull request and says that no agent gains or loses a power, from a one-commit checkout', async () => {
    const pr = open({ [TRIAGE]: (s) => s.replace('Routes incoming Zendesk tickets', 'Routes all incoming Zendesk tickets') });
    const r = await review(pr, { inputs: { comment: 'false' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The checkout had only the merge commit; the base was fetched by its id.
    expect(git(r.workspace, 'cat-file', '-t', pr.base)).toBe('commit');
    expect(r.summary).toContain('✅ **The check passes**');
    expect(r.summary).toContain(`against base \`${pr.base.slice(0, 12)}\``);
    expect(r.summary).toMatch(/No agent gains or loses a capability|gains no capability · loses none/);
    expect(r.summary).not.toContain('No comparison');
    expect(r.outputs).toMatchObject({ errors: '0', escalations: '0', 'risky-changes': '0' });
    // Workflows and chart templates are not Joch records.
    expect(r.stdout).not.toMatch(/JOCH(101|201|204)/);
  });

  it('fails a production agent gaining an unapproved financial tool, annotated at the grant', async () => {
    const pr = open({ 'support-platform/tools/payments.yaml': refundTool, [TRIAGE]: grantRefund });
    const r = await review(pr, { inputs: { comment: 'false' } });
    expect(r.code).toBe(1);
    const head = grantRefund(readFileSync(path.join(origin.root, 'author', TRIAGE), 'utf8'));
    const grant = lineOf(head, '- name: payments.refund');
    const found = annotations(r.stdout);
    expect(found).toContain(`warning JOCH951 ${TRIAGE}:${grant}`);
    expect(found.some((a) => a.startsWith('error JOCH701 '))).toBe(true);
    // The verdict line says where the agent runs, what it gains and who approves.
    const verdict = r.summary.split('\n').find((l) => l.includes('**support-platform/support-triage**')) ?? '';
    expect(verdict).toContain('**production**: prod');
    // The baseline denies it in production, and the summary says the tool asks for no approval itself.
    expect(verdict).toMatch(/gains tool `payments\.refund` \(financial; denied by baseline [^;]+; the tool itself sets requiresApproval: false\)/);
    expect(r.summary).toContain('❌ **The check fails**');
    expect(r.summary).not.toContain('no errors');
    // One count everywhere: outputs, annotations, SARIF results, the summary.
    const escalations = found.filter((a) => / JOCH9[56]\d /.test(a)).length;
    expect(Number(r.outputs.escalations)).toBe(escalations);
    expect(r.outputs['risky-changes']).toBe(r.outputs.escalations);
    expect(r.summary).toContain(`### Escalations (${escalations})`);
    const sarif = sarifOf(r);
    const results = sarif.runs[0]!.results.filter((x) => /^JOCH9[56]\d$/.test(x.ruleId));
    expect(results).toHaveLength(escalations);
    expect(results.find((x) => x.ruleId === 'JOCH951')?.locations[0]?.physicalLocation.region.startLine).toBe(grant);
  });

  it('passes the same tool when a policy requires approval, annotated as an escalation; fail-on-risk: high fails it', async () => {
    const edits = {
      'support-platform/tools/payments.yaml': refundTool,
      [TRIAGE]: grantRefund,
      'support-platform/policies.yaml': refundsNeedApproval,
    };
    const pr = open(edits);
    const green = await review(pr, { inputs: { comment: 'false' } });
    expect(green.code).toBe(0);
    const grant = lineOf(grantRefund(readFileSync(path.join(origin.root, 'author', TRIAGE), 'utf8')), '- name: payments.refund');
    expect(annotations(green.stdout)).toContain(`warning JOCH951 ${TRIAGE}:${grant}`);
    expect(green.summary).toContain('approval required by policy support-platform/external-send-requires-approval#refunds; the tool itself sets requiresApproval: false');
    expect(green.summary).toContain('⚠️ **The check passes, with 1 escalation (1 high) for a reviewer**');

    // fail-on-risk holds even where fail-on lets errors pass.
    const red = await review(pr, { inputs: { comment: 'false', 'fail-on-risk': 'high', 'fail-on': 'never' } });
    expect(red.code).toBe(1);
    expect(annotations(red.stdout)).toContain(`error JOCH951 ${TRIAGE}:${grant}`);
    expect(red.summary).toContain('❌ **The check fails**: 1 escalation at or above high (fail-on-risk)');
  });

  it('places a change to a tool the agent already had at the changed field of the tool', async () => {
    const zendesk = 'support-platform/tools/zendesk.yaml';
    const pr = open({ [zendesk]: (s) => s.replace('    level: read_only\n', '    level: external_write\n') });
    const r = await review(pr, { inputs: { comment: 'false' } });
    expect(r.code).toBe(0);
    const level = lineOf(readFileSync(path.join(origin.root, 'author', zendesk), 'utf8'), 'level: read_only');
    const raised = annotations(r.stdout).filter((a) => a.includes(' JOCH952 '));
    expect(raised.length).toBeGreaterThan(0);
    for (const a of raised) expect(a).toBe(`warning JOCH952 ${zendesk}:${level}`);
    expect(r.summary).toContain('side effect read_only -> external_write');
  });

  it('fetches a base named by branch when the checkout does not have it', async () => {
    const pr = open({ [TRIAGE]: (s) => s.replace('Routes incoming Zendesk tickets', 'Routes incoming Zendesk tickets fast') });
    const r = await review(pr, { inputs: { comment: 'false', base: 'main' } });
    expect(r.code).toBe(0);
    expect(r.summary).toContain(`against base \`${pr.base.slice(0, 12)}\``);
  });

  it('gives the same review from a full-depth checkout', async () => {
    const pr = open({ 'support-platform/tools/payments.yaml': refundTool, [TRIAGE]: grantRefund, 'support-platform/policies.yaml': refundsNeedApproval });
    const shallow = await review(pr, { inputs: { comment: 'false' } });
    const full = await review(pr, { depth: 'full', inputs: { comment: 'false' } });
    expect(full.code).toBe(shallow.code);
    expect(annotations(full.stdout)).toEqual(annotations(shallow.stdout));
    expect(full.summary).toBe(shallow.summary);
  });

  it('fails, with the remedy, when the base can be neither found nor fetched, and marks the earlier comment stale', async () => {
    const pr = open({ 'support-platform/tools/payments.yaml': refundTool, [TRIAGE]: grantRefund, 'support-platform/policies.yaml': refundsNeedApproval });
    const first = await review(pr);
    expect(first.outputs.comment).toBe('created');
    const before = api.commentsOn(pr.number)[0]!.body;
    expect(before).toContain('1 escalation');

    const missing = 'f'.repeat(40);
    const r = await review(pr, { eventBase: missing });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error title=joch::.*could not be fetched.*fetch-depth: 0.*fail-on-missing-base: false/m);
    expect(r.outputs.escalations).toBe('0');
    // The comment keeps its review, under a banner: no weaker result replaces it.
    const comments = api.commentsOn(pr.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('**Out of date.**');
    expect(comments[0]!.body).toContain('1 escalation');

    const accepted = await review(pr, { eventBase: missing, inputs: { 'fail-on-missing-base': 'false', comment: 'false' } });
    expect(accepted.code).toBe(0);
    expect(accepted.summary).toContain('_No comparison with the base:');
  });

  it('reads joch.yaml paths by default, and without joch.yaml only the files that declare a Joch apiVersion', async () => {
    const pr = open({ 'joch.yaml': null, 'notes/other.yaml': 'title: not a record\nitems: [1, 2]\n' });
    const r = await review(pr, { inputs: { comment: 'false', 'fail-on': 'never' } });
    expect(r.stdout).not.toMatch(/title=JOCH(101|201|204) /);
    expect(r.stdout).not.toContain('.github/workflows');
    expect(r.summary).toContain('that declare a Joch apiVersion (no joch.yaml)');
    expect(r.summary).toMatch(/\d+ resources in \d+ files/);
  });

  it('keeps one comment over two runs with a personal token, naming the head it reviewed, and leaves others alone', async () => {
    const pr = open({ [TRIAGE]: (s) => s.replace('Routes incoming Zendesk tickets', 'Routes every incoming Zendesk ticket') });
    // A bot's comment that quotes the marker is not ours to edit.
    api.comments.push({ id: 1, issue: pr.number, body: '<!-- joch-review -->\nquoted by another bot', user: { login: 'other-app[bot]', type: 'Bot' } });
    const one = await review(pr, { token: PERSONAL_TOKEN });
    const two = await review(pr, { token: PERSONAL_TOKEN });
    expect([one.outputs.comment, two.outputs.comment]).toEqual(['created', 'updated']);
    const ours = api.commentsOn(pr.number).filter((c) => c.user.login === 'octo-reviewer');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toContain(`Reviewed \`${pr.head.slice(0, 12)}\``);
    expect(api.commentsOn(pr.number).find((c) => c.id === 1)!.body).toBe('<!-- joch-review -->\nquoted by another bot');
    expect(one.stdout + two.stdout).not.toContain(PERSONAL_TOKEN);
  });

  it('warns with GitHub\'s message and a hint on a 403, and the check still reflects the review', async () => {
    const pr = open({ [TRIAGE]: (s) => s.replace('Routes incoming Zendesk tickets', 'Routes the incoming Zendesk tickets') });
    api.failWrites(403, 'Resource not accessible by integration');
    const r = await review(pr);
    expect(r.code).toBe(0);
    expect(r.outputs.comment).toBe('failed');
    expect(r.stdout).toMatch(/^::warning title=joch::the review comment was not written: POST .* answered 403: Resource not accessible by integration\. The token needs `pull-requests: write`.*fork/m);
  });

  it('marks its comment stale when GitHub refuses an update (422), rather than leave it contradicting the check', async () => {
    const pr = open({ 'support-platform/tools/payments.yaml': refundTool, [TRIAGE]: grantRefund, 'support-platform/policies.yaml': refundsNeedApproval });
    expect((await review(pr)).outputs.comment).toBe('created');
    api.failWrites(422, 'Validation Failed');
    const r = await review(pr, { inputs: { 'fail-on-risk': 'high' } });
    expect(r.code).toBe(1);
    expect(r.outputs.comment).toBe('failed');
    expect(r.stdout).toContain('answered 422: Validation Failed');
    expect(api.commentsOn(pr.number)[0]!.body).toContain('**Out of date.**');
  });

  it('warns when the token is empty instead of skipping the comment silently', async () => {
    const pr = open({ [TRIAGE]: (s) => s.replace('Routes incoming Zendesk tickets', 'Routes incoming Zendesk tickets quickly') });
    const workspace = await checkout(origin, pr, 'shallow');
    workspaces.push(workspace);
    const r = await runAction(action.main, { workspace, pr, apiUrl: api.url, token: '' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('::warning title=joch::no review comment: the github-token input is empty');
  });

  it('reports a bad input value in one line with the allowed values', async () => {
    const pr = open({});
    const r = await review(pr, { inputs: { 'fail-on': 'Warning' } });
    expect(r.code).toBe(2);
    expect(r.stdout.trim()).toBe('::error title=joch::input fail-on: "Warning" is not allowed; use one of error, warning, never');
    expect(r.stderr).toBe('');
  });

  it('writes SARIF that code scanning takes without warnings: full rules, fingerprints, an absolute base', async () => {
    const pr = open({ 'support-platform/tools/payments.yaml': refundTool, [TRIAGE]: grantRefund });
    const r = await review(pr, { inputs: { comment: 'false' } });
    const run = sarifOf(r).runs[0]!;
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual(allCodes().map((c) => c.code));
    for (const rule of run.tool.driver.rules) {
      expect(rule.fullDescription?.text.length, rule.id).toBeGreaterThan(0);
      expect(rule.help?.text.length, rule.id).toBeGreaterThan(0);
      expect(rule.help?.markdown.length, rule.id).toBeGreaterThan(0);
      expect(rule.helpUri).toBe(`https://github.com/acme/joch/blob/v1/docs/codes.md#${rule.id.toLowerCase()}`);
      const security = /^JOCH(6|7|8|95|96)/.test(rule.id);
      expect(rule.properties?.['security-severity'] !== undefined, rule.id).toBe(security);
    }
    expect(run.originalUriBaseIds.SRCROOT?.uri).toBe(`${pathToFileURL(r.workspace).href}/`);
    expect(run.results.length).toBeGreaterThan(0);
    for (const result of run.results) expect(result.partialFingerprints?.['jochFinding/v1']).toMatch(/^[0-9a-f]{32}$/);
    // Every helpUri anchor exists in the generated reference.
    const reference = readFileSync(path.join(action.dir, 'docs/codes.md'), 'utf8');
    for (const c of allCodes()) expect(reference).toContain(`### ${c.code}\n`);
  });
});
