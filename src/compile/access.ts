/**
 * What an agent's pods run as and may reach, in each namespace they run in:
 * the CompiledAgentManifest ConfigMap, a ServiceAccount (the agent's workload
 * identity), a Role that can read nothing but the agent's own manifest and
 * custom resource, and a NetworkPolicy that lets its pods reach only the Joch
 * services the agent uses, and DNS (the trust zones of
 * docs/architecture/trust-and-security-model.md, enforced at the network layer).
 */
import type { AgentGraph } from '../model/graph.js';
import { kubernetesName, labelValue } from '../model/names.js';
import type { UnitContext } from './context.js';
import { LABEL, objectMeta, type Component } from './meta.js';
import { MANIFEST_FILE } from './pod.js';
import type { CompiledAgentManifest, CompiledObject, KubeObject } from './types.js';

type Json = Record<string, unknown>;

export interface AgentObjectNames {
  readonly serviceAccount: string;
  readonly configMap: string;
}

function meta(graph: AgentGraph, name: string, namespace: string, component: Component, ctx: UnitContext) {
  return objectMeta(
    { name, namespace, from: ctx.provenance(graph.agent), component, appName: graph.agent.name, agent: graph.agent.name },
    ctx.options.applySetId,
  );
}

const origin = (graph: AgentGraph) => ({ file: graph.agent.file, doc: graph.agent.doc, path: [] });

/** The manifest as pretty JSON: workers in any language read it without a YAML parser. */
export function manifestConfigMap(graph: AgentGraph, manifest: CompiledAgentManifest, names: AgentObjectNames, namespace: string, ctx: UnitContext): CompiledObject {
  return {
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(graph, names.configMap, namespace, 'agent-manifest', ctx),
      data: { [MANIFEST_FILE]: `${JSON.stringify(manifest, null, 2)}\n` },
    },
    origin: origin(graph),
  };
}

/** `pinnedConfigMaps`: the manifests of pinned versions that pods in the namespace read besides the agent's own. */
export function identityObjects(graph: AgentGraph, names: AgentObjectNames, namespace: string, ctx: UnitContext, pinnedConfigMaps: readonly string[] = []): CompiledObject[] {
  const sa = names.serviceAccount;
  const rules: Json[] = [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [names.configMap, ...pinnedConfigMaps], verbs: ['get', 'watch'] }];
  if (graph.agent.namespace === namespace) {
    rules.push({ apiGroups: ['joch.dev'], resources: ['agents'], resourceNames: [kubernetesName(graph.agent.name)], verbs: ['get'] });
  }
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(graph, sa, namespace, 'agent-identity', ctx), automountServiceAccountToken: false },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(graph, sa, namespace, 'agent-identity', ctx), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(graph, sa, namespace, 'agent-identity', ctx),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    },
  ];
  return objects.map((object) => ({ object, origin: origin(graph) }));
}

/** The Joch services the agent talks to; the control plane always, the rest by use. */
export function usedComponents(graph: AgentGraph, ctx: UnitContext): string[] {
  const c = ctx.options.dataPlane.components;
  const used = new Set<string>([c.server]);
  if (graph.tools.length || graph.mcpServers.length) used.add(c.gateway);
  if (graph.route) used.add(c.router);
  if (graph.memories.length || graph.rags.length) used.add(c.memory);
  const tracing = (graph.agent.spec.observability as { tracing?: unknown } | undefined)?.tracing;
  if (tracing !== 'disabled') used.add(c.trace);
  return [...used].sort();
}

export function networkPolicy(graph: AgentGraph, name: string, namespace: string, ctx: UnitContext): CompiledObject {
  const plane = ctx.options.dataPlane;
  const spec = {
    podSelector: { matchLabels: { [LABEL.agent]: labelValue(graph.agent.name) } },
    // Ingress listed with no rules: nothing may connect to the workers (they
    // pull their work from the control plane). An empty `ingress: []` would
    // mean the same but the API server drops it, so it is left out.
    policyTypes: ['Ingress', 'Egress'],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': plane.namespace } },
            podSelector: { matchExpressions: [{ key: LABEL.name, operator: 'In', values: usedComponents(graph, ctx) }] },
          },
        ],
      },
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ],
  };
  return {
    object: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(graph, name, namespace, 'agent-network', ctx), spec },
    origin: origin(graph),
  };
}
