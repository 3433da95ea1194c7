/**
 * The dependency graph is complete (every node has an entry, leaves
 * included), refs are deterministic and never dangle, compositions say what
 * is incomplete, and no secret value ever reaches a document.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildAgBom,
  checkCycloneDxIntegrity,
  renderAgBom,
  renderCycloneDx,
  type AgBom,
  type CycloneDxBom,
} from '../../src/agbom/index.js';
import type { AgentGraph } from '../../src/model/graph.js';
import type { Resource } from '../../src/model/resource.js';
import type { ValidationRun } from '../../src/pipeline/index.js';
import { bomOf, contextOf, EXAMPLE_FLEET, graphOf, handBundle, load } from './helpers.js';

let run: ValidationRun;
beforeAll(async () => {
  run = await load(EXAMPLE_FLEET);
});

function nodes(doc: CycloneDxBom): string[] {
  return [doc.metadata.component, ...doc.components, ...doc.services].map((c) => c['bom-ref']);
}

function deps(doc: CycloneDxBom, ref: string): readonly string[] {
  return doc.dependencies.find((d) => d.ref === ref)?.dependsOn ?? [];
}

describe('dependency graph', () => {
  it('has exactly one entry per node, leaves included, and no dangling ref', () => {
    for (const g of run.graphs) {
      const doc = renderCycloneDx(bomOf(run, g.agent.name, handBundle(run, g.agent.name)));
      const all = nodes(doc);
      expect(new Set(all).size, g.agent.key).toBe(all.length);
      expect(doc.dependencies.map((d) => d.ref).sort()).toEqual([...all].sort());
      for (const d of doc.dependencies) for (const to of d.dependsOn) expect(all).toContain(to);
      expect(doc.dependencies.some((d) => d.dependsOn.length === 0)).toBe(true);
    }
  });

  it('links what the records link: agent, route, models, endpoints, tools, RAG, secrets', () => {
    const doc = renderCycloneDx(bomOf(run, 'support-triage'));
    const ref = (prefix: string) => nodes(doc).find((r) => r.startsWith(prefix))!;
    const agent = doc.metadata.component['bom-ref'];
    expect(agent).toBe('Agent/support-platform/support-triage@1.4.0');
    for (const p of ['FrameworkAdapter//openai-agents-sdk@', 'ModelRoute/support-platform/support-default@', 'Tool/support-platform/slack.send@', 'MCPServer//github@1.2.0', 'Memory/support-platform/support-triage-working@', 'RAG/support-platform/support-docs-rag@', 'Policy/support-platform/no-customer-data-exfiltration@']) {
      expect(deps(doc, agent), p).toContain(ref(p));
    }
    expect(deps(doc, ref('ModelRoute/'))).toEqual([ref('Model//claude-sonnet@'), ref('Model//gpt-5-thinking@')]);
    expect(deps(doc, ref('Model//gpt-5-thinking@'))).toEqual([ref('Model//gpt-5-thinking#endpoint@')]);
    expect(deps(doc, ref('Model//gpt-5-thinking#endpoint@'))).toEqual([ref('Secret/platform/openai-api-key@')]);
    expect(deps(doc, ref('RAG/'))).toEqual(
      [ref('KnowledgeSource/support-platform/support-docs-public@'), ref('KnowledgeSource/support-platform/support-runbooks-internal@'), ref('Model//text-embedding-3-large@'), ref('Secret/support-platform/support-postgres@')].sort(),
    );
    expect(deps(doc, ref('Tool/support-platform/zendesk.create_ticket@'))).toEqual([ref('Secret/support-platform/zendesk-api-token@')]);
    expect(deps(doc, ref('Secret/platform/openai-api-key@'))).toEqual([]);
  });

  it('derives bom-refs from kind, namespace, name and version', () => {
    const bom = bomOf(run, 'support-triage');
    for (const c of bom.inventory.components) {
      expect(c.ref).toBe(`${c.key}@${c.version}`);
      expect(c.key.startsWith(`${c.kind}/${c.namespace ?? ''}/`)).toBe(true);
    }
    const tool = bom.inventory.components.find((c) => c.key === 'Tool/support-platform/slack.send')!;
    expect(tool.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('marks MCP servers whose tools are discovered at run time, and the agent without a policy bundle, as incomplete', () => {
    const doc = renderCycloneDx(bomOf(run, 'support-triage'));
    const incomplete = doc.compositions.find((c) => c.aggregate === 'incomplete')!.dependencies!;
    expect(incomplete).toContain('MCPServer//github@1.2.0');
    expect(incomplete).toContain(doc.metadata.component['bom-ref']);
    const withBundle = renderCycloneDx(bomOf(run, 'support-triage', handBundle(run, 'support-triage')));
    expect(withBundle.compositions.find((c) => c.aggregate === 'complete')!.dependencies).toContain(withBundle.metadata.component['bom-ref']);
    expect(withBundle.compositions.find((c) => c.aggregate === 'unknown')).toEqual({ aggregate: 'unknown', assemblies: [withBundle.metadata.component['bom-ref']] });
  });

  it('drops the classes the AgBOM settings exclude, and says so', () => {
    const g = graphOf(run, 'support-triage');
    const settings: Resource = { ...g.agbomSettings[0]!, spec: { ...g.agbomSettings[0]!.spec, components: { secrets: false } } };
    const bom = buildAgBom({ ...g, agbomSettings: [settings] }, undefined, contextOf(run));
    expect(bom.inventory.components.some((c) => c.class === 'secret')).toBe(false);
    expect(bom.inventory.excluded).toEqual(['secret']);
    const doc = renderCycloneDx(bom);
    expect(checkCycloneDxIntegrity(doc)).toEqual([]);
    expect(doc.metadata.properties).toContainEqual({ name: 'joch:agbom:excluded', value: 'secret' });
  });

  it('has its integrity checker catch dangling, duplicate and missing entries', () => {
    const doc = renderCycloneDx(bomOf(run, 'support-triage'));
    const first = doc.dependencies[0]!;
    expect(checkCycloneDxIntegrity({ ...doc, dependencies: doc.dependencies.slice(1) })).toContain(`${first.ref} has no dependency entry`);
    expect(checkCycloneDxIntegrity({ ...doc, dependencies: [...doc.dependencies, { ref: first.ref, dependsOn: ['nowhere'] }] })).toEqual(
      expect.arrayContaining([`two dependency entries for ${first.ref}`, `${first.ref} depends on unknown ref nowhere`]),
    );
    expect(checkCycloneDxIntegrity({ ...doc, components: [...doc.components, doc.components[0]!] })).toContain(`duplicate bom-ref ${doc.components[0]!['bom-ref']}`);
    const badName = { ...doc, components: [{ ...doc.components[0]!, properties: [{ name: 'joch.sideEffect', value: 'x' }] }, ...doc.components.slice(1)] };
    expect(checkCycloneDxIntegrity(badName).join()).toMatch(/joch\.sideEffect/);
  });
});

describe('secrets', () => {
  const SECRET = 'sk-live-0123456789abcdefSECRETVALUE';

  /** A graph whose records carry credential-looking values where a careless projection would copy them. */
  function poisoned(g: AgentGraph): AgentGraph {
    const poison = (r: Resource): Resource => ({
      ...r,
      annotations: { ...r.annotations, 'example.com/token': SECRET },
      body: { ...r.body, leaked: SECRET },
    });
    return {
      ...g,
      agent: poison(g.agent),
      tools: g.tools.map((t) => ({
        ...t,
        resource: poison({
          ...t.resource,
          spec: { ...t.resource.spec, endpoint: { ...(t.resource.spec.endpoint as object), url: `https://bot:${SECRET}@hooks.example.com/send?token=${SECRET}` } },
        }),
      })),
      secrets: g.secrets.map((s) => ({ ...s, resource: poison({ ...s.resource, spec: { ...s.resource.spec, value: SECRET, data: { token: SECRET } } }) })),
    };
  }

  it('never copies a secret value into any format, but names every secret reference', () => {
    const g = poisoned(graphOf(run, 'support-triage'));
    const bom: AgBom = buildAgBom(g, undefined, contextOf(run));
    for (const f of ['cyclonedx', 'spdx', 'swid'] as const) {
      const text = renderAgBom(bom, f).text;
      expect(text, f).not.toContain(SECRET);
      expect(text, f).not.toContain('bot:');
    }
    const cdx = renderAgBom(bom, 'cyclonedx').text;
    const spdx = renderAgBom(bom, 'spdx').text;
    for (const s of g.secrets) {
      expect(cdx).toContain(`"id": "Secret/${s.resource.namespace}/${s.resource.name}"`);
      expect(spdx).toContain(`Secret/${s.resource.namespace}/${s.resource.name}`);
    }
    const slack = renderCycloneDx(bom).services.find((s) => s.name === 'slack.send')!;
    expect(slack.endpoints).toEqual(['https://hooks.example.com/send']);
  });

  it('inventories secrets as crypto material references without a value', () => {
    const doc = renderCycloneDx(bomOf(run, 'support-triage'));
    const secrets = doc.components.filter((c) => c.type === 'cryptographic-asset');
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      const material = (s.cryptoProperties as { relatedCryptoMaterialProperties: Record<string, unknown> }).relatedCryptoMaterialProperties;
      expect(material).not.toHaveProperty('value');
      expect(['token', 'password', 'credential']).toContain(material.type);
    }
    expect(secrets.find((s) => s.name === 'slack-bot-token')!.cryptoProperties).toMatchObject({ relatedCryptoMaterialProperties: { type: 'token' } });
  });
});
