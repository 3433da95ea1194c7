/**
 * The diff's classification on crafted changes to the example fleet, each
 * loaded through the real pipeline (policy stage included): a new tool with
 * side effects, an approval requirement dropped, an MCP server unpinned or
 * below its trust threshold, a new model provider, a new data flow crossing
 * the trust boundary; risk-relevant changes come first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assessRisk, buildAgBom, diffFleets, diffViews, formatDiffMarkdown, formatDiffText, viewOfAgBom, viewOfCycloneDx, renderCycloneDx, type AgBomDiff, type InventoryView } from '../../src/agbom/index.js';
import type { ValidationRun } from '../../src/pipeline/index.js';
import { contextOf, editedFleet, EXAMPLE_FLEET, graphOf, handBundle, load, replaceOnce } from './helpers.js';
import { fact } from '../../src/agbom/view.js';

const CODE_RUN_TOOL = `---
apiVersion: tools.joch.dev/v1alpha1
kind: Tool
metadata:
  name: code.run
  namespace: research
spec:
  type: os
  description: Run a Python snippet in the sandbox.
  sideEffects:
    level: code_execution
`;

const NEWS_TOOL = `---
apiVersion: tools.joch.dev/v1alpha1
kind: Tool
metadata:
  name: news.search
  namespace: research
spec:
  type: rest
  description: Search news articles.
  endpoint:
    method: GET
    url: https://news.example.org/v1/search
  sideEffects:
    level: read_only
`;

const addResearchTool = (name: string, doc: string) => (t: string) => replaceOnce('    - name: notes.write\n', `    - name: notes.write\n    - name: ${name}\n`)(t) + doc;

const FLEETS = {
  base: EXAMPLE_FLEET,
  newTool: editedFleet({ 'research/research.yaml': addResearchTool('code.run', CODE_RUN_TOOL) }),
  newFlow: editedFleet({ 'research/research.yaml': addResearchTool('news.search', NEWS_TOOL) }),
  approval: editedFleet({ 'research/research.yaml': replaceOnce('    level: local_write\n    idempotent: true\n', '    level: local_write\n    idempotent: true\n    requiresApproval: true\n') }),
  unpinned: editedFleet({ 'platform/mcp-servers.yaml': replaceOnce('pinServerVersion: true\n    pinnedVersion: 1.2.0', 'pinServerVersion: false') }),
  provider: editedFleet({ 'support-platform/model-routes.yaml': replaceOnce('      - anthropic:claude-sonnet\n', '      - anthropic:claude-sonnet\n      - google:gemini-pro\n') }),
  pii: editedFleet({
    'support-platform/memory-and-knowledge.yaml': replaceOnce('sensitivity: public', 'sensitivity: pii'),
    'support-platform/tools/slack.yaml': replaceOnce('Post a message to a Slack channel of the support team.', 'Post a message to a Slack channel.'),
  }),
} as const;

const runs = new Map<keyof typeof FLEETS, ValidationRun>();

function view(fleet: keyof typeof FLEETS, agent: string, trust?: ReadonlyMap<string, number>): InventoryView {
  const run = runs.get(fleet)!;
  return viewOfAgBom(buildAgBom(graphOf(run, agent), handBundle(run, agent), contextOf(run, { mcpTrustScores: trust })));
}

function diff(before: keyof typeof FLEETS, after: keyof typeof FLEETS, agent: string): AgBomDiff {
  return diffViews(view(before, agent), view(after, agent));
}

beforeAll(async () => {
  const loaded = await Promise.all(Object.entries(FLEETS).map(async ([k, dir]) => [k, await load(dir)] as const));
  for (const [k, r] of loaded) runs.set(k as keyof typeof FLEETS, r);
}, 120_000);

describe('AgBOM diff', () => {
  it('finds nothing between two identical fleets', () => {
    const d = diff('base', 'base', 'support-triage');
    expect(d.changes).toEqual([]);
    expect(d.risks).toEqual([]);
    expect(formatDiffText([d])).toBe('No AgBOM changes.\n');
  });

  it('flags a new tool with side effects as high risk', () => {
    const d = diff('base', 'newTool', 'market-researcher');
    expect(d.risks[0]).toMatchObject({ code: 'new-side-effect-tool', severity: 'high', component: 'Tool/research/code.run' });
    expect(d.risks[0]!.message).toContain('code_execution');
    expect(d.changes[0]).toMatchObject({ kind: 'added', key: 'Tool/research/code.run', severity: 'high' });
  });

  it('flags an approval requirement dropped', () => {
    const d = diff('approval', 'base', 'market-researcher');
    expect(d.risks.map((r) => r.code)).toContain('approval-dropped');
    expect(d.risks.find((r) => r.code === 'approval-dropped')).toMatchObject({ severity: 'high', component: 'Tool/research/notes.write' });
    expect(diff('base', 'approval', 'market-researcher').risks.map((r) => r.code)).not.toContain('approval-dropped');
  });

  it('sees that a policy still requires approval when the tool record stops asking for it', async () => {
    // zendesk.create_ticket asks for approval itself, and the team policy requires it for external writes too.
    const dropped = await load(editedFleet({ 'support-platform/tools/zendesk.yaml': replaceOnce('    requiresApproval: true\n', '') }));
    const run = runs.get('base')!;
    const before = viewOfAgBom(buildAgBom(graphOf(run, 'support-triage'), handBundle(run, 'support-triage'), contextOf(run)));
    const after = viewOfAgBom(buildAgBom(graphOf(dropped, 'support-triage'), handBundle(dropped, 'support-triage'), contextOf(dropped)));
    expect(fact(after.components.get('Tool/support-platform/zendesk.create_ticket'), 'joch:tool:approvalBy')).toBe('policy support-platform/team-approvals#external-actions');
    const d = diffViews(before, after);
    expect(d.risks.map((r) => r.code)).not.toContain('approval-dropped');
    expect(d.changes.find((c) => c.key === 'Tool/support-platform/zendesk.create_ticket')!.details).toContain('joch:tool:requiresApproval: true -> false');
  });

  it('flags an MCP server unpinned', () => {
    const d = diff('base', 'unpinned', 'support-triage');
    expect(d.risks[0]).toMatchObject({ code: 'mcp-unpinned', severity: 'high', component: 'MCPServer//github' });
  });

  it('flags an MCP server that falls below its trust threshold', () => {
    const ok = view('base', 'support-triage', new Map([['github', 0.9]]));
    const low = view('base', 'support-triage', new Map([['github', 0.5]]));
    const d = diffViews(ok, low);
    expect(d.risks).toEqual([expect.objectContaining({ code: 'mcp-below-trust-threshold', severity: 'high', component: 'MCPServer//github' })]);
    expect(d.risks[0]!.message).toContain('0.5');
  });

  it('flags a new model provider', () => {
    const d = diff('base', 'provider', 'support-triage');
    expect(d.risks[0]).toMatchObject({ code: 'new-model-provider', severity: 'high', component: 'Model//gemini-pro' });
    expect(d.risks[0]!.message).toContain('google');
  });

  it('flags a new data flow crossing the trust boundary, and a classification raised on one', () => {
    const added = diff('base', 'newFlow', 'market-researcher');
    // One finding per component, not one per stock flow; internal data only is medium.
    expect(added.risks.map((r) => `${r.code} ${r.severity}`)).toEqual(['trust-boundary-flow medium']);
    expect(added.risks[0]!.message).toContain('news.example.org');
    expect(added.risks[0]!.message).toMatch(/new outbound flow .* new inbound flow|new inbound flow .* new outbound flow/);
    expect(added.risks.map((r) => r.code)).not.toContain('new-side-effect-tool');
    const raised = diff('base', 'pii', 'support-triage');
    const flows = raised.risks.filter((r) => r.code === 'trust-boundary-flow');
    expect(flows.length).toBeGreaterThan(0);
    expect(flows.every((r) => r.message.includes('classification raised internal -> pii'))).toBe(true);
  });

  it('puts risk-relevant changes before ordinary ones', () => {
    const d = diff('base', 'pii', 'support-triage');
    const severities = d.changes.map((c) => c.severity);
    expect(severities[0]).toBe('high');
    expect([...severities].sort((a, b) => ['high', 'medium', 'low'].indexOf(a) - ['high', 'medium', 'low'].indexOf(b))).toEqual(severities);
    const slack = d.changes.find((c) => c.key === 'Tool/support-platform/slack.send')!;
    expect(slack.details.some((l) => l.startsWith('version:'))).toBe(true);
    expect(d.changes.indexOf(slack)).toBeGreaterThan(0);
  });

  it('reads stored CycloneDX documents like fresh ones, and reports agents added and removed', () => {
    const run = runs.get('base')!;
    const bom = buildAgBom(graphOf(run, 'billing-agent'), undefined, contextOf(run));
    const stored = viewOfCycloneDx(JSON.parse(JSON.stringify(renderCycloneDx(bom))));
    expect(diffViews(stored, viewOfAgBom(bom)).changes).toEqual([]);
    const [gone] = diffFleets([stored], []);
    expect(gone!.changes.every((c) => c.kind === 'removed')).toBe(true);
    expect(gone!.after).toBeUndefined();
    expect(formatDiffMarkdown([gone!])).toContain('| - | `Agent/finance-ops/billing-agent` |');
  });
});

describe('high-risk AgBOMs', () => {
  it('list unpinned MCP servers and tools with external side effects that run without approval', () => {
    const triage = assessRisk(view('unpinned', 'support-triage'));
    expect(triage.risks).toEqual([expect.objectContaining({ code: 'mcp-unpinned', component: 'MCPServer//github' })]);
    // No policy puts the new code-execution tool under approval here, and the record does not ask for it.
    const run = runs.get('newTool')!;
    const researcher = assessRisk(viewOfAgBom(buildAgBom(graphOf(run, 'market-researcher'), undefined, contextOf(run))));
    expect(researcher.risks).toEqual([expect.objectContaining({ code: 'side-effects-without-approval', component: 'Tool/research/code.run' })]);
    expect(assessRisk(view('newTool', 'market-researcher')).risks).toEqual([]);
  });

  it('count approvals from the policy bundle, and never local writes', () => {
    const base = runs.get('base')!;
    for (const g of base.graphs) {
      expect(assessRisk(view('base', g.agent.name)).risks, g.agent.key).toEqual([]);
    }
    // Without a bundle, only the tool records' own approvals count: the messaging tools show up.
    const bare = base.graphs.flatMap((g) => assessRisk(viewOfAgBom(buildAgBom(g, undefined, contextOf(base)))).risks.map((r) => r.component));
    expect(bare).toEqual(expect.arrayContaining(['Tool/support-platform/slack.send', 'Tool/finance-ops/email.send']));
    expect(bare).not.toContain('Tool/research/notes.write');
  });

  it('list policy errors and warnings for the agent or its components, not infos or other agents\' findings', () => {
    const v = view('base', 'support-triage');
    const risks = assessRisk(v, [
      { code: 'JOCH702', severity: 'error', message: 'github unpinned', resource: { kind: 'MCPServer', name: 'github' }, agent: 'Agent/support-platform/support-triage', capability: 'MCPServer//github' },
      { code: 'JOCH811', severity: 'error', message: 'denied to escalation', resource: { kind: 'Model', name: 'gpt-5-thinking' }, agent: 'Agent/support-platform/support-escalation' },
      { code: 'JOCH810', severity: 'info', message: 'deferred', resource: { kind: 'Policy', namespace: 'support-platform', name: 'no-customer-data-exfiltration' } },
      { code: 'JOCH801', severity: 'warning', message: 'unknown key', resource: { kind: 'Policy', namespace: 'support-platform', name: 'no-customer-data-exfiltration' } },
      { code: 'JOCH501', severity: 'error', message: 'not a policy finding', resource: { kind: 'MCPServer', name: 'github' } },
    ]).risks;
    expect(risks.map((r) => [r.code, r.severity, r.component])).toEqual([
      ['JOCH702', 'high', 'MCPServer//github'],
      ['JOCH801', 'medium', 'Policy/support-platform/no-customer-data-exfiltration'],
    ]);
  });
});
