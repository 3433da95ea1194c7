/**
 * The reference pass and its namespace rule (see the header of
 * src/schema/references.ts): every reference resolves to a resource of the
 * right kind and scope, or is an error at the reference's line.
 */
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/index.js';
import { ALL_CHECKS } from '../../src/schema/index.js';
import { at, tmpRepo, validate, yml } from '../support/repo.js';

const adapters = yml`
  apiVersion: joch.dev/v1alpha1
  kind: FrameworkAdapter
  metadata:
    name: full
  spec:
    framework: openai-agents-sdk
    capabilities:
      toolBinding: true
      mcpBinding: true
      modelRouterBinding: true
      a2a: true
  ---
  apiVersion: joch.dev/v1alpha1
  kind: FrameworkAdapter
  metadata:
    name: tools-only
  spec:
    framework: langgraph
    capabilities:
      toolBinding: true
`;

const tool = (name: string, namespace: string) => yml`
  apiVersion: tools.joch.dev/v1alpha1
  kind: Tool
  metadata:
    name: ${name}
    namespace: ${namespace}
  spec:
    type: rest
    endpoint: {url: https://api.example.com/x}
`;

const policy = (name: string, namespace: string) => yml`
  apiVersion: joch.dev/v1alpha1
  kind: Policy
  metadata:
    name: ${name}
    namespace: ${namespace}
  spec:
    rules:
      - when: {tool.sideEffect: external_write}
        action: deny
`;

/** An agent in `team` whose spec (after `framework`, from line 9) is `spec`, each line indented two spaces. */
const agent = (name: string, adapter: string, ...spec: string[]) =>
  [
    'apiVersion: joch.dev/v1alpha1',
    'kind: Agent',
    'metadata:',
    `  name: ${name}`,
    '  namespace: team',
    'spec:',
    '  framework:',
    `    adapterRef: {name: ${adapter}}`,
    ...spec,
    '',
  ].join('\n');

/**
 * Runs the checks of the validate stage (not the policy stage, which has its
 * own tests); the fixtures must be valid apart from their references (and the
 * `expected` other errors).
 */
async function references(
  files: Record<string, string>,
  expected: string[] = [],
): Promise<{ refs: Diagnostic[]; all: Diagnostic[]; run: Awaited<ReturnType<typeof validate>> }> {
  const repo = tmpRepo({ 'platform/adapters.yaml': adapters, ...files });
  const run = await validate(repo, { checks: new Set(ALL_CHECKS) });
  const other = run.diagnostics.filter((d) => !d.code.startsWith('JOCH5') && d.severity !== 'info');
  expect(other.map(at)).toEqual(expected);
  return { refs: run.diagnostics.filter((d) => d.code.startsWith('JOCH5')), all: run.diagnostics, run };
}

const edge = (run: Awaited<ReturnType<typeof validate>>, from: string, written: string) =>
  run.validation.references.find((r) => r.from === from && r.written === written);

describe('unresolved references', () => {
  it('is JOCH501 at the reference\'s line, with a did-you-mean', async () => {
    const { refs } = await references({
      'team/tools.yaml': tool('zendesk.search', 'team'),
      'team/agent.yaml': agent('triage', 'full', '  tools:', '    - name: zendesk.search', '    - name: zendesk.serch'),
    });
    expect(refs.map(at)).toEqual(['JOCH501 team/agent.yaml:11:13']);
    expect(refs[0]).toMatchObject({
      severity: 'error',
      message: 'Tool "zendesk.serch" not found in namespace team',
      hint: 'did you mean "zendesk.search"?',
      path: 'spec.tools[1].name',
      resource: { kind: 'Agent', namespace: 'team', name: 'triage' },
    });
  });

  it('a namespaced target is looked up in the referrer\'s namespace, and says where else it exists', async () => {
    const { refs, run } = await references({
      'other/tools.yaml': tool('slack.send', 'other'),
      'team/agent.yaml': agent('triage', 'full', '  tools:', '    - name: slack.send'),
    });
    expect(refs.map(at)).toEqual(['JOCH501 team/agent.yaml:10:13']);
    expect(refs[0]?.message).toBe('Tool "slack.send" not found in namespace team (it exists in other)');
    expect(edge(run, 'Agent/team/triage', 'slack.send')?.to).toBeUndefined();
  });

  it('an explicit `namespace:` in the reference is where it is looked up', async () => {
    const { refs, run } = await references({
      'other/tools.yaml': tool('slack.send', 'other'),
      'team/agent.yaml': agent('triage', 'full', '  tools:', '    - name: slack.send', '      namespace: other'),
    });
    expect(refs).toEqual([]);
    expect(edge(run, 'Agent/team/triage', 'slack.send')?.to).toBe('Tool/other/slack.send');
  });

  it('a cluster-scoped target is found by name alone, from any namespace', async () => {
    const { refs, run } = await references({ 'team/agent.yaml': agent('triage', 'full') });
    expect(refs).toEqual([]);
    expect(edge(run, 'Agent/team/triage', 'full')).toMatchObject({ kind: 'FrameworkAdapter', to: 'FrameworkAdapter//full', path: ['spec', 'framework', 'adapterRef', 'name'] });
  });
});

describe('provider:model', () => {
  const models = yml`
    apiVersion: model.joch.dev/v1alpha1
    kind: Model
    metadata:
      name: gpt-5-thinking
    spec:
      provider: openai
      model: gpt-5.5-thinking
    ---
    apiVersion: model.joch.dev/v1alpha1
    kind: Model
    metadata:
      name: claude-sonnet
    spec:
      provider: anthropic
      model: claude-sonnet-4-5
  `;
  const route = (primary: string, fallback: string) => yml`
    apiVersion: model.joch.dev/v1alpha1
    kind: ModelRoute
    metadata:
      name: r
      namespace: team
    spec:
      strategy:
        primary: ${primary}
        fallback:
          - ${fallback}
  `;

  it('a model of another provider is JOCH502, with the right spelling and the Model as related', async () => {
    const { refs, run } = await references({ 'models.yaml': models, 'route.yaml': route('anthropic:gpt-5-thinking', 'anthropic:claude-sonnet') });
    expect(refs.map(at)).toEqual(['JOCH502 route.yaml:8:14']);
    expect(refs[0]).toMatchObject({
      message: 'Model "gpt-5-thinking" has provider "openai", not "anthropic"',
      hint: 'write "openai:gpt-5-thinking"',
      related: [expect.objectContaining({ file: 'models.yaml', line: 6, column: 13, message: 'the Model' })],
    });
    expect(edge(run, 'ModelRoute/team/r', 'anthropic:claude-sonnet')?.to).toBe('Model//claude-sonnet');
  });

  it('resolves by spec.model when no Model has that name', async () => {
    const { refs, run } = await references({ 'models.yaml': models, 'route.yaml': route('openai:gpt-5.5-thinking', 'anthropic:claude-sonnet-4-5') });
    expect(refs).toEqual([]);
    expect(edge(run, 'ModelRoute/team/r', 'openai:gpt-5.5-thinking')?.to).toBe('Model//gpt-5-thinking');
    expect(edge(run, 'ModelRoute/team/r', 'anthropic:claude-sonnet-4-5')?.to).toBe('Model//claude-sonnet');
  });

  it('a model nobody serves is JOCH501 with the nearest provider:name', async () => {
    const { refs } = await references({ 'models.yaml': models, 'route.yaml': route('openai:gpt-5-thinking', 'anthropic:claude-sonet') });
    expect(refs.map(at)).toEqual(['JOCH501 route.yaml:10:9']);
    expect(refs[0]).toMatchObject({ message: 'no Model serves "anthropic:claude-sonet"', hint: 'did you mean "anthropic:claude-sonnet"?' });
  });
});

describe('references from cluster-scoped resources', () => {
  const environment = yml`
    apiVersion: ops.joch.dev/v1alpha1
    kind: Environment
    metadata:
      name: prod
    spec:
      policies:
        - name: guardrails
  `;

  it('resolve in the default namespace first', async () => {
    const { refs, run } = await references({
      'joch.yaml': 'defaultNamespace: platform\n',
      'env.yaml': environment,
      'p/platform.yaml': policy('guardrails', 'platform'),
      'p/other.yaml': policy('guardrails', 'other'),
    });
    expect(refs).toEqual([]);
    expect(edge(run, 'Environment//prod', 'guardrails')?.to).toBe('Policy/platform/guardrails');
  });

  it('else in the one namespace that has that name', async () => {
    const { refs, run } = await references({ 'env.yaml': environment, 'p/other.yaml': policy('guardrails', 'other') });
    expect(refs).toEqual([]);
    expect(edge(run, 'Environment//prod', 'guardrails')?.to).toBe('Policy/other/guardrails');
  });

  it('and are ambiguous (JOCH504) when several namespaces have it and the default does not', async () => {
    const { refs } = await references({
      'env.yaml': environment,
      'p/a.yaml': policy('guardrails', 'team-a'),
      'p/b.yaml': policy('guardrails', 'team-b'),
    });
    expect(refs.map(at)).toEqual(['JOCH504 env.yaml:7:13']);
    expect(refs[0]).toMatchObject({
      message: 'Policy "guardrails" exists in several namespaces (team-a, team-b); name the namespace',
      hint: 'add `namespace:` to the reference',
    });
  });

  it('Team.defaultPolicies take `namespace/name` strings', async () => {
    const { refs, run } = await references({
      'p/a.yaml': policy('approvals', 'team-a'),
      'p/b.yaml': policy('approvals', 'team-b'),
      'team.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Team
        metadata:
          name: support
        spec:
          defaultPolicies:
            - team-b/approvals
            - team-c/approvals
            - approvals
      `,
    });
    expect(edge(run, 'Team//support', 'approvals')).toBeDefined();
    const resolved = run.validation.references.filter((r) => r.from === 'Team//support').map((r) => [formatIndex(r.path), r.to]);
    expect(resolved).toEqual([
      ['spec.defaultPolicies.0', 'Policy/team-b/approvals'],
      ['spec.defaultPolicies.1', undefined],
      ['spec.defaultPolicies.2', undefined],
    ]);
    expect(refs.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH501 team.yaml:8:7 Policy "approvals" not found in namespace team-c (it exists in team-a, team-b)',
      'JOCH504 team.yaml:9:7 Policy "approvals" exists in several namespaces (team-a, team-b); name the namespace',
    ]);
    expect(refs[1]?.hint).toBe('write it as "<namespace>/approvals"');
  });
});

function formatIndex(path: readonly (string | number)[]): string {
  return path.join('.');
}

describe('kinds and capabilities', () => {
  it('an agent needing a capability its adapter lacks is JOCH503, related to the adapter\'s capabilities', async () => {
    const mcp = yml`
      apiVersion: tools.joch.dev/v1alpha1
      kind: MCPServer
      metadata:
        name: github
      spec:
        transport: streamable_http
        endpoint:
          url: https://mcp.example.com/github
    `;
    const { refs } = await references({
      'mcp.yaml': mcp,
      'team/tools.yaml': tool('search', 'team'),
      'team/agent.yaml': agent('triage', 'tools-only', '  tools:', '    - name: search', '  mcpServers:', '    - name: github'),
    });
    expect(refs.map(at)).toEqual(['JOCH503 team/agent.yaml:8:24']);
    expect(refs[0]).toMatchObject({
      message: 'the agent needs the adapter capability "mcpBinding" because it uses MCP servers, but FrameworkAdapter "tools-only" does not declare it',
      related: [expect.objectContaining({ file: 'platform/adapters.yaml', line: 19, column: 3, message: 'the adapter capabilities' })],
    });
  });

  it('a RAG source of the wrong kind is JOCH504 at the source', async () => {
    const { refs } = await references(
      {
        'team/rag.yaml': yml`
          apiVersion: memory.joch.dev/v1alpha1
          kind: RAG
          metadata:
            name: docs
            namespace: team
          spec:
            sources:
              - name: docs-site
                kind: Tool
        `,
        'team/tools.yaml': tool('docs-site', 'team'),
      },
      // The schema knows the kind too.
      ['JOCH304 team/rag.yaml:9:13'],
    );
    expect(refs.map(at)).toEqual(['JOCH504 team/rag.yaml:8:7']);
    expect(refs[0]?.message).toBe('spec.sources[0] refers to a Tool; only KnowledgeSource is allowed here');
  });

  it('runtime records (a ToolCall) are not reference-checked', async () => {
    const { refs, all } = await references({
      'team/call.yaml': yml`
        apiVersion: runtime.joch.dev/v1alpha1
        kind: ToolCall
        metadata:
          name: call-1
          namespace: team
        spec:
          executionRef: {name: exec-that-lives-in-the-cluster}
          agentRef: {name: no-such-agent}
          toolRef: {name: no-such-tool}
      `,
    });
    expect(refs).toEqual([]);
    expect(all.map(at)).toEqual(['JOCH207 team/call.yaml:2:7']);
  });
});
