/**
 * Joch Secrets are references, resolved at the data-plane boundary (docs:
 * trust-and-security-model.md): the tool and MCP gateway for tool and server
 * credentials, the model router for provider keys, the memory service for
 * stores. The agent's own pods never receive a value: the tool schema says so
 * ("resolved by the tool gateway, never by the agent"), and the agents'
 * NetworkPolicy would not let them reach the credential's destination anyway.
 *
 * A Joch Secret of source type `kubernetes` therefore becomes:
 * - a `valueFrom.secretKeyRef` (Kubernetes' own shape) in the CompiledAgentManifest,
 *   telling the resolving service which Secret and key to read; and
 * - a Role in the Secret's namespace granting that service's ServiceAccount
 *   `get` on exactly those Secrets (resourceNames), bound by a RoleBinding.
 * No value is ever read or emitted.
 */
import type { ReferenceEdge } from '../model/graph.js';
import { kubernetesLabelName } from '../model/names.js';
import type { Resource } from '../model/resource.js';
import type { UnitContext } from './context.js';
import { objectMeta } from './meta.js';
import type { CompiledObject, DataPlaneOptions } from './types.js';

export type Resolver = keyof DataPlaneOptions['components'];

/** Which data-plane service resolves a secret, by the kind of resource that references it. */
export function resolverFor(holderKind: string): Resolver {
  switch (holderKind) {
    case 'Tool':
    case 'MCPServer':
      return 'gateway';
    case 'Model':
      return 'router';
    case 'Memory':
    case 'RAG':
    case 'KnowledgeSource':
      return 'memory';
    default:
      // AgBOM signing keys and anything new: the control plane.
      return 'server';
  }
}

export interface SecretUse {
  readonly secret: Resource;
  readonly holder: Resource;
  readonly resolver: Resolver;
  /** The key the reference asks for, when it names one. */
  readonly key: string | undefined;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const seg of path) node = (node as Record<string | number, unknown> | undefined)?.[seg];
  return node;
}

function useOf(edge: ReferenceEdge, ctx: UnitContext): SecretUse | undefined {
  const holder = ctx.byKey.get(edge.from);
  const secret = edge.to ? ctx.byKey.get(edge.to) : undefined;
  if (!holder || !secret || secret.kind !== 'Secret') return undefined;
  const key = valueAt(holder.body, [...edge.path.slice(0, -1), 'key']);
  return { secret, holder, resolver: resolverFor(holder.kind), key: typeof key === 'string' ? key : undefined };
}

/** The secret references made by the given resources. */
export function secretUses(holders: readonly Resource[], ctx: UnitContext): SecretUse[] {
  const out: SecretUse[] = [];
  for (const h of holders) {
    for (const e of ctx.edgesFrom.get(h.key) ?? []) {
      if (e.kind !== 'Secret') continue;
      const use = useOf(e, ctx);
      if (use) out.push(use);
    }
  }
  return out;
}

interface KubernetesSource {
  readonly name: string;
  readonly key: string | undefined;
}

export function kubernetesSource(secret: Resource): KubernetesSource | undefined {
  const source = secret.spec.source as { type?: unknown; name?: unknown; key?: unknown } | undefined;
  if (source?.type !== 'kubernetes' || typeof source.name !== 'string') return undefined;
  return { name: source.name, key: typeof source.key === 'string' ? source.key : undefined };
}

function keyOf(key: string | undefined): { key?: string } {
  return key === undefined ? {} : { key };
}

/** How the CompiledAgentManifest names a secret: a reference, never a value. */
export function secretEntry(use: SecretUse): Record<string, unknown> {
  const s = use.secret;
  const source = s.spec.source as { type?: string; name?: string; key?: string };
  const k8s = kubernetesSource(s);
  return {
    name: s.name,
    namespace: s.namespace,
    usedBy: { kind: use.holder.kind, name: use.holder.name, namespace: use.holder.namespace },
    resolvedBy: use.resolver,
    ...(k8s
      ? { valueFrom: { secretKeyRef: { namespace: s.namespace, name: k8s.name, ...keyOf(use.key ?? k8s.key) } } }
      : { source: { type: source.type, name: source.name, ...(source.key ? { key: source.key } : {}) } }),
  };
}

/**
 * One Role and RoleBinding per (namespace, resolving service): `get` on the
 * Kubernetes Secrets that service resolves there, and nothing else.
 */
export function secretAccessObjects(ctx: UnitContext, secretResources: readonly Resource[]): CompiledObject[] {
  const holders = new Map<string, Resource>();
  for (const s of secretResources) {
    for (const e of ctx.edgesTo.get(s.key) ?? []) {
      const h = ctx.byKey.get(e.from);
      if (h && h.kind !== 'Secret') holders.set(h.key, h);
    }
  }
  const groups = new Map<string, { ns: string; resolver: Resolver; names: Set<string>; first: Resource }>();
  for (const use of secretUses([...holders.values()], ctx)) {
    const k8s = kubernetesSource(use.secret);
    const ns = use.secret.namespace;
    if (!k8s || !ns) continue;
    const id = `${ns}/${use.resolver}`;
    const g = groups.get(id) ?? { ns, resolver: use.resolver, names: new Set<string>(), first: use.secret };
    g.names.add(k8s.name);
    if (use.secret.key < g.first.key) g.first = use.secret;
    groups.set(id, g);
  }
  const out: CompiledObject[] = [];
  for (const g of groups.values()) out.push(...accessPair(ctx, g.ns, g.resolver, [...g.names].sort(), g.first));
  return out;
}

function accessPair(ctx: UnitContext, ns: string, resolver: Resolver, names: readonly string[], first: Resource): CompiledObject[] {
  const plane = ctx.options.dataPlane;
  const account = plane.components[resolver];
  const name = kubernetesLabelName('joch-secrets', account);
  const origin = { file: first.file, doc: first.doc, path: ['spec', 'source'] };
  const meta = () => objectMeta({ name, namespace: ns, component: 'secret-access', appName: account }, ctx.options.applySetId);
  return [
    {
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(),
        rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [...names], verbs: ['get'] }],
      },
      origin,
    },
    {
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name: account, namespace: plane.namespace }],
      },
      origin,
    },
  ];
}
