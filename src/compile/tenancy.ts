/**
 * Team / Namespace and Environment (docs/specs/kubernetes/team-namespace.md,
 * environment.md). Every namespace a compiled object lives in is emitted, so
 * the set applies on an empty cluster; a Team's namespaces carry its label
 * and its members' roles as RoleBindings, and every namespace enforces the
 * restricted Pod Security Standard and denies all traffic by default. Neither
 * Team nor Environment has resource limits in its schema: a Team's quota
 * comes from joch.yaml (bounds.ts). An
 * Environment is a promotion boundary, not a namespace: it becomes the
 * `joch.dev/environment` label and env of the workloads deployed to it.
 */
import { finding, type Finding } from '../diagnostics/index.js';
import { JOCH_GROUPS } from '../model/kinds.js';
import { labelValue } from '../model/names.js';
import { refOf, type Resource } from '../model/resource.js';
import type { UnitContext } from './context.js';
import { LABEL, objectMeta } from './meta.js';
import type { CompiledObject, KubeObject } from './types.js';

export const TEAM_ROLES = ['admin', 'operator', 'viewer', 'approver', 'auditor'] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];

const READ = ['get', 'list', 'watch'];

/**
 * Desired state comes from Git, so only admins write it in the cluster;
 * operators start and stop runs, approvers decide approvals.
 */
const ROLE_RULES: Readonly<Record<TeamRole, readonly Record<string, unknown>[]>> = {
  viewer: [{ apiGroups: JOCH_GROUPS, resources: ['*'], verbs: READ }],
  auditor: [{ apiGroups: JOCH_GROUPS, resources: ['*'], verbs: READ }],
  operator: [
    { apiGroups: JOCH_GROUPS, resources: ['*'], verbs: READ },
    { apiGroups: ['runtime.joch.dev'], resources: ['executions'], verbs: ['create', 'delete'] },
  ],
  approver: [
    { apiGroups: JOCH_GROUPS, resources: ['*'], verbs: READ },
    { apiGroups: ['runtime.joch.dev'], resources: ['approvals', 'approvals/status'], verbs: ['update', 'patch'] },
  ],
  admin: [{ apiGroups: JOCH_GROUPS, resources: ['*'], verbs: ['*'] }],
};

export const teamRoleName = (role: TeamRole): string => `joch-team-${role}`;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export interface Owner {
  readonly team: Resource;
  readonly index: number;
}

/** The Team that lists each namespace; the first by name when several do (JOCH909 for the others). */
export function namespaceOwners(teams: readonly Resource[], findings: Finding[]): Map<string, Owner> {
  const out = new Map<string, Owner>();
  for (const team of [...teams].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    strings(team.spec.namespaces).forEach((ns, index) => {
      const first = out.get(ns);
      if (!first) out.set(ns, { team, index });
      else if (first.team !== team) {
        findings.push(
          finding('JOCH909', `namespace "${ns}" is also claimed by Team "${first.team.name}", which owns it`, { file: team.file, doc: team.doc, path: ['spec', 'namespaces', index] }, {
            resource: refOf(team),
          }),
        );
      }
    });
  }
  return out;
}

const DEFAULT_DENY_POLICY = 'joch-default-deny';

/**
 * Pod Security labels: agent pods meet "restricted", so it is enforced unless
 * joch.yaml opts out (`workloads.podSecurity: warn`, for a namespace shared
 * with workloads that cannot meet it yet); warn and audit stay on either way.
 */
function podSecurityLabels(ctx: UnitContext): Record<string, string> {
  return {
    ...(ctx.workloads.podSecurity === 'enforce' ? { 'pod-security.kubernetes.io/enforce': 'restricted' } : {}),
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/audit': 'restricted',
  };
}

/**
 * Every pod in the namespace may neither receive nor send anything; each
 * agent's own NetworkPolicy then opens exactly what it needs (its gateways
 * and DNS). Without it, any pod someone else starts in the namespace is open.
 */
function defaultDenyPolicy(ns: string, from: Resource | undefined, appName: string, ctx: UnitContext): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta({ name: DEFAULT_DENY_POLICY, namespace: ns, from: from ? ctx.provenance(from) : undefined, component: 'namespace', appName }, ctx.options.applySetId),
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

export function namespaceObjects(used: ReadonlyMap<string, Resource>, owner: ReadonlyMap<string, Owner>, ctx: UnitContext): CompiledObject[] {
  const names = [...new Set([...used.keys(), ...owner.keys()])].filter((n) => n !== ctx.options.dataPlane.namespace).sort();
  return names.flatMap((ns) => {
    const o = owner.get(ns);
    const from = o?.team ?? (used.get(ns) as Resource);
    const appName = o ? o.team.name : ns;
    const object: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: objectMeta(
        {
          name: ns,
          from: o ? ctx.provenance(o.team) : undefined,
          component: 'namespace',
          appName,
          labels: { ...(o ? { [LABEL.team]: labelValue(o.team.name) } : {}), ...podSecurityLabels(ctx) },
        },
        ctx.options.applySetId,
      ),
    };
    const origin = o ? { file: o.team.file, doc: o.team.doc, path: ['spec', 'namespaces', o.index] } : { file: from.file, doc: from.doc, path: ['metadata', 'namespace'] };
    return [
      { object, origin },
      { object: defaultDenyPolicy(ns, o?.team, appName, ctx), origin },
    ];
  });
}

/** One ClusterRole per team role, shared by every Team (emitted when a Team exists). */
export function teamClusterRoles(ctx: UnitContext): CompiledObject[] {
  return TEAM_ROLES.map((role) => ({
    object: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: objectMeta({ name: teamRoleName(role), component: 'team-access', appName: 'joch', instance: teamRoleName(role) }, ctx.options.applySetId),
      rules: ROLE_RULES[role],
    },
    origin: undefined,
  }));
}

/**
 * A RoleBinding per role with members, in each namespace the team owns.
 * Members are people: a `system:` identity (a ServiceAccount, a node, a
 * group of them) is refused at its line, since a team role bound to one
 * grants that access to workloads, and the install's admission policy would
 * refuse the binding at apply time anyway.
 */
export function teamRoleBindings(team: Resource, ownedNamespaces: readonly string[], ctx: UnitContext, findings: Finding[]): CompiledObject[] {
  const all = Array.isArray(team.spec.members) ? (team.spec.members as { user?: unknown; role?: unknown }[]) : [];
  const members = all.filter((m, index) => {
    if (typeof m.user !== 'string' || !m.user.startsWith('system:')) return true;
    const at = { file: team.file, doc: team.doc, path: ['spec', 'members', index, 'user'] };
    findings.push(finding('JOCH911', `Team member "${m.user}" is a system: identity; Team members are people`, at, { resource: { kind: 'Team', name: team.name } }));
    return false;
  });
  const out: CompiledObject[] = [];
  for (const role of TEAM_ROLES) {
    const users = [...new Set(members.filter((m) => m.role === role && typeof m.user === 'string').map((m) => m.user as string))].sort();
    if (!users.length) continue;
    for (const ns of ownedNamespaces) {
      out.push({
        object: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: objectMeta(
            { name: teamRoleName(role), namespace: ns, from: ctx.provenance(team), component: 'team-access', appName: team.name, labels: { [LABEL.team]: labelValue(team.name) } },
            ctx.options.applySetId,
          ),
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: teamRoleName(role) },
          subjects: users.map((u) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u })),
        },
        origin: { file: team.file, doc: team.doc, path: ['spec', 'members'] },
      });
    }
  }
  return out;
}

/** The namespaces each Team owns (after resolving claims). */
export function ownedNamespaces(owner: ReadonlyMap<string, Owner>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [ns, o] of owner) out.set(o.team.key, [...(out.get(o.team.key) ?? []), ns].sort());
  return out;
}
