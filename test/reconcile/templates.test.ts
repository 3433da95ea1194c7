/**
 * templates/ on a real API server: every install manifest is accepted; the
 * names rbac.yaml grants by name are the ones the compiler emits; the
 * ServiceAccount they create applies and prunes every kind the compiler
 * emits (team ClusterRoles and RoleBindings, agents' Roles, secret-access
 * Roles included) and cannot do what the loop does not need (read Secrets
 * outside its own two, bind or grant what it does not hold, write
 * ClusterRoleBindings). Then two replicas running as that ServiceAccount:
 * one leads and applies, the other waits; when the leader is killed, the
 * other takes over and applies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { applySet, applySetId, type ApplyOptions } from '../../src/cluster/index.js';
import { crdName, DEFAULT_DATA_PLANE } from '../../src/compile/index.js';
import { resolverFor } from '../../src/compile/secrets.js';
import { TEAM_ROLES, teamRoleName } from '../../src/compile/tenancy.js';
import { JOCH_GROUPS, KINDS } from '../../src/model/kinds.js';
import { kubernetesLabelName } from '../../src/model/names.js';
import { runCompile } from '../../src/pipeline/compile.js';
import { describeCluster } from '../cluster/require-cluster.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { ensureNamespace, getObject } from './support/cluster.js';
import { bumpAgent, eventually, fleetRepo } from './support/fleet.js';
import { kill, spawnJoch, type JochProcess } from './support/process.js';

const TEMPLATES = path.resolve(import.meta.dirname, '../../templates');
const EXAMPLE_FLEET = path.resolve(import.meta.dirname, '../../examples/fleet');
const SA_USER = 'system:serviceaccount:joch-system:joch-sync';
let root: string;
let git: GitHttpServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-install-'));
  git = await startGitHttpServer({ root });
});

afterAll(async () => {
  await git?.close();
  await rm(root, { recursive: true, force: true });
});

function templates(): KubernetesObject[] {
  // In the order `kubectl apply -f templates/` reads them: by file name, then as written.
  return readdirSync(TEMPLATES)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(TEMPLATES, f), 'utf8')).map((d) => d.toJS() as KubernetesObject));
}

/** What an administrator does to let joch-sync write in a namespace it did not create. */
async function openToJoch(kc: KubeConfig, namespace: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .patchNamespace({ name: namespace, body: { metadata: { labels: { 'joch.dev/sync-allowed': 'true' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
}

async function forbidden(call: () => Promise<unknown>): Promise<boolean> {
  return (await denial(call)) !== undefined;
}

/** The API server's message when `call` is refused with 403; undefined when it succeeds (any other failure throws). */
async function denial(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (e) {
    if (e instanceof ApiException && e.code === 403) return String((JSON.parse(String(e.body)) as { message?: unknown }).message);
    throw e;
  }
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** The resourceNames of the rules of `role` (in rbac.yaml) on `resource` with `verb`. */
function namesGranted(role: KubernetesObject & { rules?: Rule[] }, resource: string, verb: string): string[] {
  return (role.rules ?? []).filter((r) => r.resources?.includes(resource) && r.verbs.includes(verb)).flatMap((r) => r.resourceNames ?? []).sort();
}

/** Server-side apply as `kc`, dry-run: what the API server would say to that write, with nothing written. */
function dryRunApply(kc: KubeConfig, object: KubernetesObject): Promise<unknown> {
  return KubernetesObjectApi.makeApiClient(kc).patch(object, undefined, 'All', 'joch', true, PatchStrategy.ServerSideApply);
}

const RBAC = 'rbac.authorization.k8s.io';
const role = (namespace: string, name: string, rules: Rule[]): KubernetesObject => ({ apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name, namespace }, rules }) as KubernetesObject;
const roleBinding = (namespace: string, name: string, roleRef: { kind: string; name: string }, subjects: object[]): KubernetesObject =>
  ({ apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name, namespace }, roleRef: { apiGroup: RBAC, ...roleRef }, subjects }) as KubernetesObject;

describeCluster(
  'install templates',
  (cluster) => {
    it('apply cleanly in one pass, in file order, and grant by name exactly what the compiler emits under those names', async () => {
      const admin = KubernetesObjectApi.makeApiClient(cluster().kubeconfig);
      const objects = templates();
      expect(new Set(objects.map((o) => o.kind))).toEqual(
        new Set([
          'Namespace',
          'ServiceAccount',
          'ClusterRole',
          'ClusterRoleBinding',
          'Role',
          'RoleBinding',
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
          'ConfigMap',
          'Deployment',
          'Service',
          'NetworkPolicy',
        ]),
      );
      for (const o of objects) {
        await admin.patch(o, undefined, undefined, 'joch-install', true, PatchStrategy.ServerSideApply);
      }
      for (const o of objects) expect(await getObject(cluster().kubeconfig, o.apiVersion as string, o.kind as string, o.metadata?.namespace, o.metadata?.name as string)).toBeDefined();

      // A Joch kind, team role or data-plane service added to the compiler must be added to rbac.yaml too.
      const clusterRole = objects.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'joch-sync') as KubernetesObject & { rules: Rule[] };
      expect(namesGranted(clusterRole, 'customresourcedefinitions', 'patch')).toEqual(KINDS.map(crdName).sort());
      expect(namesGranted(clusterRole, 'clusterroles', 'patch')).toEqual(TEAM_ROLES.map(teamRoleName).sort());
      expect(namesGranted(clusterRole, 'clusterroles', 'bind')).toEqual(TEAM_ROLES.map(teamRoleName).sort());
      const secretRoles = [...new Set(KINDS.map((k) => resolverFor(k.kind)))].map((r) => kubernetesLabelName('joch-secrets', DEFAULT_DATA_PLANE.components[r])).sort();
      expect(namesGranted(clusterRole, 'roles', 'escalate')).toEqual(secretRoles);
      expect(clusterRole.rules.find((r) => r.resources?.includes('*'))?.apiGroups?.sort()).toEqual([...JOCH_GROUPS].sort());
      // Nothing cluster-wide on Secrets or ClusterRoleBindings; on ClusterRoles, list, and the rest only by name.
      for (const r of clusterRole.rules) {
        for (const kind of ['secrets', 'clusterrolebindings']) expect(r.resources).not.toContain(kind);
        if (r.resources?.includes('clusterroles') && r.verbs.some((v) => v !== 'list' && v !== 'watch')) expect(r.resourceNames?.length).toBeGreaterThan(0);
      }
      const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata?.name === 'joch-sync-rbac') as KubernetesObject & {
        spec: { variables: { expression: string }[]; validations: { expression: string }[] };
      };
      expect(policy.spec.variables[0]?.expression).toBe(`object.metadata.name in [${secretRoles.map((n) => `'${n}'`).join(', ')}]`);
      // The scope policy pins the ApplySet id of the default inventory, joch-system/joch-inventory.
      const scope = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata?.name === 'joch-sync-scope') as KubernetesObject & {
        spec: { variables: { name: string; expression: string }[] };
      };
      expect(scope.spec.variables.find((v) => v.name === 'applySetId')?.expression).toBe(`'${applySetId({ name: 'joch-inventory', namespace: 'joch-system' })}'`);
      // The groups a team ClusterRole may grant on are the Joch API groups.
      expect(policy.spec.validations.some((v) => v.expression.includes(`g in [${[...JOCH_GROUPS].sort().map((g) => `'${g}'`).join(', ')}]`))).toBe(true);
    });

    it('as that ServiceAccount: applies every kind the compiler emits, and prunes all but Namespaces it cannot check', async () => {
      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const run = await runCompile({ paths: [], cwd: EXAMPLE_FLEET });
      if (!run.output) throw new Error(`examples/fleet does not compile: ${run.diagnostics.map((d) => d.message).join('; ')}`);
      const objects = run.output.objects.map(({ object }) => object);
      const named = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
      // What needs more than plain apply rights is there: the team ClusterRoles and bindings to them
      // (held, no escalate), agents' Roles bound in the same apply (bind), secret-access Roles (escalate).
      expect(named('ClusterRole').sort()).toEqual(TEAM_ROLES.map(teamRoleName).sort());
      expect(objects.filter((o) => o.kind === 'RoleBinding' && (o['roleRef'] as { kind: string }).kind === 'ClusterRole').length).toBeGreaterThan(0);
      expect(new Set(named('Role').filter((n) => n.startsWith('joch-secrets-')))).toEqual(new Set(['joch-secrets-joch-gateway', 'joch-secrets-joch-memory', 'joch-secrets-joch-router', 'joch-secrets-joch-server']));
      expect(named('Role').filter((n) => !n.startsWith('joch-secrets-')).length).toBeGreaterThan(0);
      expect(named('ClusterRoleBinding')).toEqual([]);

      const options: ApplyOptions = { kubeconfig: sa.kubeconfig, inventory: { name: 'joch-inventory', namespace: 'joch-system' } };
      const applied = await applySet(objects.map((object) => ({ object })), options);
      expect(applied.errors).toEqual([]);
      expect(applied.complete).toBe(true);
      for (const o of objects) expect(await getObject(cluster().kubeconfig, o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name), `${o.kind} ${o.metadata.name}`).toBeDefined();
      const secretAccess = (await getObject(cluster().kubeconfig, `${RBAC}/v1`, 'Role', 'platform', 'joch-secrets-joch-router')) as { rules?: Rule[] } | undefined;
      expect(secretAccess?.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['anthropic-credentials', 'openai-credentials'], verbs: ['get'] }]);
      // Its ApplySet parent is the one Secret it writes.
      const parent = await sa.kubeconfig.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: 'joch-system', name: 'joch-inventory' });
      expect(parent.metadata?.labels?.['applyset.kubernetes.io/id']).toBe(applied.inventory.id);

      // Everything but the CRDs leaves: every member is deleted but the Namespaces. Checking that a
      // Namespace holds nothing of anyone else's lists every namespaced kind, Secrets included, which
      // this account may not: the Namespace is kept, with that reason, and it is not an error.
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
      const pruned = await applySet(crds.map((object) => ({ object })), { ...options, pruneGuard: { allowMassPrune: true } });
      expect(pruned.errors).toEqual([]);
      const kept = pruned.pruned.filter((p) => p.outcome !== 'deleted');
      expect(kept.map((p) => `${p.ref.kind} ${p.ref.name}`).sort()).toEqual(named('Namespace').map((n) => `Namespace ${n}`).sort());
      for (const p of kept) {
        expect(p.outcome).toBe('kept');
        expect(p.reason).toMatch(new RegExp(`^cannot verify namespace ${p.ref.name} is free of objects owned by others \\(\\w+: .*forbidden`));
      }
      expect(pruned.pruned.filter((p) => p.outcome === 'deleted').length).toBe(objects.length - crds.length - kept.length);
      expect(await getObject(cluster().kubeconfig, `${RBAC}/v1`, 'Role', 'platform', 'joch-secrets-joch-router')).toBeUndefined();
    });

    it('as that ServiceAccount: cannot read other Secrets, grant or bind what it does not hold, or write ClusterRoleBindings', async () => {
      const kc = cluster().kubeconfig;
      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const core = sa.kubeconfig.makeApiClient(CoreV1Api);
      await ensureNamespace(kc, 'outsider');
      const adminCore = kc.makeApiClient(CoreV1Api);
      // Opened to joch by an administrator, so that what RBAC and joch-sync-rbac refuse is what is tested here.
      await openToJoch(kc, 'outsider');
      await adminCore.createNamespacedSecret({ namespace: 'outsider', body: { metadata: { name: 'token' }, stringData: { token: 'x' } } });
      await adminCore.createNamespacedSecret({ namespace: 'joch-system', body: { metadata: { name: 'joch-server-key' }, stringData: { key: 'x' } } });
      await kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRole({
        namespace: 'outsider',
        body: { metadata: { name: 'secret-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] },
      });

      // Secrets: none outside joch-system, and there only its own two.
      expect(await forbidden(() => core.listSecretForAllNamespaces())).toBe(true);
      for (const namespace of ['kube-system', 'outsider', 'joch-system']) expect(await forbidden(() => core.listNamespacedSecret({ namespace }))).toBe(true);
      expect(await forbidden(() => core.readNamespacedSecret({ namespace: 'outsider', name: 'token' }))).toBe(true);
      expect(await forbidden(() => core.readNamespacedSecret({ namespace: 'joch-system', name: 'joch-server-key' }))).toBe(true);

      // Nothing the loop does not need.
      expect(await forbidden(() => core.listPodForAllNamespaces())).toBe(true);
      expect(await forbidden(() => core.listNode())).toBe(true);
      expect(await forbidden(() => core.createNamespacedPod({ namespace: 'joch-system', body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } } }))).toBe(true);
      const leases = sa.kubeconfig.makeApiClient(CoordinationV1Api);
      expect(await forbidden(() => leases.listNamespacedLease({ namespace: 'kube-system' }))).toBe(true);
      expect(await forbidden(() => leases.readNamespacedLease({ namespace: 'joch-system', name: 'joch-server' }))).toBe(true);
      expect(await forbidden(() => sa.kubeconfig.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'certificates.cert-manager.io' }))).toBe(true);

      const as = (o: KubernetesObject) => denial(() => dryRunApply(sa.kubeconfig, o));
      const notHeld = /attempting to grant RBAC permissions not currently held/;
      const byPolicy = /ValidatingAdmissionPolicy 'joch-sync-rbac'/;
      const me = [{ kind: 'ServiceAccount', name: 'joch-sync', namespace: 'joch-system' }];
      const exec: Rule[] = [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }];
      const readToken: Rule[] = [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['token'], verbs: ['get'] }];

      // No ClusterRoleBinding, no ClusterRole but the team ones, and those only with what it holds.
      expect(await as({ apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'joch-team-viewer' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'joch-team-viewer' }, subjects: [{ apiGroup: RBAC, kind: 'User', name: 'x' }] } as KubernetesObject)).toMatch(
        /cannot patch resource "clusterrolebindings"/,
      );
      expect(await forbidden(() => sa.kubeconfig.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({ body: { metadata: { name: 'x' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'view' }, subjects: me } }))).toBe(true);
      expect(await as({ apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] } as KubernetesObject)).toMatch(/cannot patch resource "clusterroles"/);
      expect(await as({ apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'joch-team-admin' }, rules: exec } as KubernetesObject)).toMatch(notHeld);
      expect(await as({ apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'joch-team-admin' }, rules: readToken } as KubernetesObject)).toMatch(notHeld);

      // Roles: only what it holds, except that a joch-secrets Role may grant get on named Secrets, and nothing else.
      expect(await as(role('outsider', 'agent', exec))).toMatch(notHeld);
      expect(await as(role('outsider', 'agent', readToken))).toMatch(notHeld);
      expect(await as(role('outsider', 'joch-secrets-joch-trace', readToken))).toMatch(notHeld);
      expect(await as(role('outsider', 'joch-secrets-joch-gateway', exec))).toMatch(byPolicy);
      expect(await as(role('outsider', 'joch-secrets-joch-gateway', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]))).toMatch(byPolicy);
      expect(await as(role('outsider', 'joch-secrets-joch-gateway', [{ ...readToken[0], verbs: ['get', 'list'] } as Rule]))).toMatch(byPolicy);
      expect(await as(role('outsider', 'joch-secrets-joch-gateway', readToken))).toBeUndefined();

      // A team ClusterRole carries only Joch rights, even ones it holds.
      const deployments: Rule[] = [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] }];
      expect(await as({ apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'joch-team-admin' }, rules: deployments } as KubernetesObject)).toMatch(byPolicy);

      // Bindings: not to what it does not hold, and to a Role only as the compiler binds them.
      expect(await as(roleBinding('outsider', 'cluster-admin', { kind: 'ClusterRole', name: 'cluster-admin' }, me))).toMatch(notHeld);
      const team = { kind: 'ClusterRole', name: 'joch-team-admin' };
      const person = [{ apiGroup: RBAC, kind: 'User', name: 'alice@example.com' }];
      expect(await as(roleBinding('outsider', 'joch-team-admin', team, [{ apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' }]))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'joch-team-admin', team, [{ apiGroup: RBAC, kind: 'User', name: 'system:anonymous' }]))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'joch-team-admin', team, me))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'admins', team, person))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'joch-team-admin', team, person))).toBeUndefined();
      expect(await as(roleBinding('outsider', 'secret-reader', { kind: 'Role', name: 'secret-reader' }, me))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'secret-reader', { kind: 'Role', name: 'secret-reader' }, [{ apiGroup: RBAC, kind: 'User', name: SA_USER }]))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'agent', { kind: 'Role', name: 'secret-reader' }, [{ kind: 'ServiceAccount', name: 'agent', namespace: 'outsider' }]))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'joch-secrets-joch-gateway', { kind: 'Role', name: 'joch-secrets-joch-gateway' }, me))).toMatch(byPolicy);
      expect(await as(roleBinding('outsider', 'joch-secrets-joch-gateway', { kind: 'Role', name: 'joch-secrets-joch-gateway' }, [{ kind: 'ServiceAccount', name: 'joch-gateway', namespace: 'joch-system' }]))).toBeUndefined();
    });

    it('as that ServiceAccount: writes only where it may, deletes only namespaces it created, nothing in kube-system', async () => {
      const kc = cluster().kubeconfig;
      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const as = (o: KubernetesObject) => denial(() => dryRunApply(sa.kubeconfig, o));
      const byScope = /ValidatingAdmissionPolicy 'joch-sync-scope'/;
      const deploymentIn = (namespace: string): KubernetesObject =>
        ({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'agent', namespace },
          spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'a' }] } } },
        }) as KubernetesObject;
      const serviceAccountIn = (namespace: string): KubernetesObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent', namespace } });
      const bindingIn = (namespace: string) => roleBinding(namespace, 'agent', { kind: 'Role', name: 'agent' }, [{ kind: 'ServiceAccount', name: 'agent', namespace }]);

      // kube-system: nothing, whatever the RBAC rules allow.
      for (const o of [deploymentIn('kube-system'), serviceAccountIn('kube-system'), bindingIn('kube-system')]) {
        expect(await as(o), o.kind).toMatch(/joch-sync may not write in namespace kube-system/);
      }
      // A namespace someone else made: refused until an administrator opens it.
      await ensureNamespace(kc, 'someone-else');
      for (const o of [deploymentIn('someone-else'), serviceAccountIn('someone-else'), bindingIn('someone-else')]) {
        expect(await as(o), o.kind).toMatch(/joch-sync writes only in namespaces it created/);
      }
      // It cannot open one to itself, nor claim it as its own.
      const saCore = sa.kubeconfig.makeApiClient(CoreV1Api);
      const relabel = (name: string, labels: Record<string, string>) =>
        denial(() => saCore.patchNamespace({ name, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
      expect(await relabel('someone-else', { 'joch.dev/sync-allowed': 'true' })).toMatch(byScope);
      expect(await relabel('someone-else', { 'applyset.kubernetes.io/part-of': applySetId({ name: 'joch-inventory', namespace: 'joch-system' }) })).toMatch(byScope);
      // Namespaces: it deletes those it created, not the others (opened to it or not), never kube-system.
      expect(await denial(() => saCore.deleteNamespace({ name: 'someone-else' }))).toMatch(byScope);
      await openToJoch(kc, 'someone-else');
      expect(await as(deploymentIn('someone-else'))).toBeUndefined();
      expect(await denial(() => saCore.deleteNamespace({ name: 'someone-else' }))).toMatch(/joch-sync deletes only namespaces it created/);
      expect(await denial(() => saCore.deleteNamespace({ name: 'kube-system' }))).toMatch(/forbidden/);
      const own = { applySet: applySetId({ name: 'joch-inventory', namespace: 'joch-system' }) };
      await saCore.createNamespace({ body: { metadata: { name: 'made-by-joch', labels: { 'applyset.kubernetes.io/part-of': own.applySet } } } });
      expect(await as(deploymentIn('made-by-joch'))).toBeUndefined();
      // A dry run: the namespace would otherwise stay a member of the ApplySet the later tests use.
      expect(await denial(() => saCore.deleteNamespace({ name: 'made-by-joch', dryRun: 'All' }))).toBeUndefined();
      await kc
        .makeApiClient(CoreV1Api)
        .patchNamespace({ name: 'made-by-joch', body: { metadata: { labels: { 'applyset.kubernetes.io/part-of': null } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    });

    it('as that ServiceAccount: gives a Team access to namespaces that already exist', async () => {
      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const run = await runCompile({ paths: [], cwd: EXAMPLE_FLEET });
      if (!run.output) throw new Error('examples/fleet does not compile');
      const objects = run.output.objects.map(({ object }) => object);
      const teamBindings = objects.filter((o) => o.kind === 'RoleBinding' && (o['roleRef'] as { kind: string }).kind === 'ClusterRole');
      const teamRoles = objects.filter((o) => o.kind === 'ClusterRole');
      // The namespaces are there, not yet the team roles: each binding is dry-run before its role exists.
      const existing = [...new Set(teamBindings.map((b) => b.metadata.namespace as string))];
      for (const ns of existing) await ensureNamespace(cluster().kubeconfig, ns);
      for (const r of teamRoles) expect(await getObject(cluster().kubeconfig, `${RBAC}/v1`, 'ClusterRole', undefined, r.metadata.name), r.metadata.name).toBeUndefined();
      // The one ApplySet parent it may write still holds the CRDs (and the Namespaces it could not prune).
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
      const options: ApplyOptions = { kubeconfig: sa.kubeconfig, inventory: { name: 'joch-inventory', namespace: 'joch-system' } };
      // Namespaces someone else made are opened to it by an administrator (the refusal before that: the test above).
      for (const ns of existing) await openToJoch(cluster().kubeconfig, ns);
      const applied = await applySet([...crds, ...teamRoles, ...teamBindings].map((object) => ({ object })), options);
      expect(applied.errors).toEqual([]);
      for (const b of teamBindings) expect(await getObject(cluster().kubeconfig, `${RBAC}/v1`, 'RoleBinding', b.metadata.namespace, b.metadata.name)).toBeDefined();
      const cleared = await applySet(crds.map((object) => ({ object })), { ...options, pruneGuard: { allowMassPrune: true } });
      expect(cleared.errors).toEqual([]);
    });

    it('two replicas as that ServiceAccount: one leads and applies, the other takes over when it is killed', async () => {
      const sa = await cluster().serviceAccountIdentity('joch-system', 'joch-sync');
      const { repo } = await fleetRepo(root, 'leader.git', 2);
      const replica = (id: string): JochProcess =>
        spawnJoch([
          'sync',
          '--repo', git.url(repo.name),
          '--kubeconfig', sa.kubeconfigPath,
          '--leader-elect', '--lease-duration', '3s', '--lease-namespace', 'joch-system',
          '--identity', id,
          '--interval', '300ms',
          '--cache-dir', path.join(root, `cache-${id}`),
        ]);
      const a = replica('replica-a');
      const b = replica('replica-b');
      const all = [a, b];
      try {
        const leader = await eventually('a leader', () => all.find((p) => p.saw('became the leader')), 60_000);
        const follower = leader === a ? b : a;
        await eventually('the leader to apply', () => leader.saw('applied') || undefined, 60_000);
        const leases = cluster().kubeconfig.makeApiClient(CoordinationV1Api);
        const lease = () => leases.readNamespacedLease({ name: 'joch-sync', namespace: 'joch-system' });
        expect((await lease()).spec?.holderIdentity).toBe(leader === a ? 'replica-a' : 'replica-b');
        // Several renewals go by: the follower never leads, never applies.
        const renewals = new Set<string>();
        await eventually('three renewals', async () => {
          renewals.add(String((await lease()).spec?.renewTime));
          return renewals.size >= 3 || undefined;
        }, 30_000);
        expect(follower.saw('became the leader')).toBe(false);
        expect(follower.saw('applied')).toBe(false);

        await kill(leader, 'SIGKILL');
        const killedAt = Date.now();
        const next = await bumpAgent(repo, 1, '8.0.0');
        await eventually('the follower to lead and apply the new commit', async () => {
          const agent = await getObject(cluster().kubeconfig, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001');
          return (agent?.spec as { framework?: { image?: string } } | undefined)?.framework?.image?.endsWith(':8.0.0') || undefined;
        }, 60_000);
        const took = follower.lines.find((l) => l.msg === 'became the leader');
        expect(took?.seenAt).toBeGreaterThan(killedAt);
        // The custom resource changes during the apply; the log line, naming the commit, comes when the apply returns.
        const applied = await eventually('the follower to log its apply of the commit', () => follower.lines.find((l) => String(l.msg).startsWith('applied') && l['revision'] === next), 30_000);
        expect(applied.seenAt).toBeGreaterThan(killedAt);
        expect((await lease()).spec).toMatchObject({ holderIdentity: follower === a ? 'replica-a' : 'replica-b', leaseTransitions: 1 });
        // What it applied is recorded as that commit where the ServiceAccount writes: the Agent's status
        // subresource (the revision its content comes from) and an Applied Event in its namespace.
        await eventually('the Agent status to name the commit', async () => {
          const agent = await getObject(cluster().kubeconfig, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001');
          return agent?.status?.['sourceRevision'] === next || undefined;
        }, 30_000);
        const events = cluster().kubeconfig.makeApiClient(CoreV1Api);
        await eventually('an Applied Event for the commit', async () => {
          const list = await events.listNamespacedEvent({ namespace: 'team-000' });
          return list.items.find((e) => e.involvedObject.name === 'agent-00001' && e.reason === 'Applied' && e.message?.includes(`applied revision ${next.slice(0, 12)}`)) ?? undefined;
        }, 30_000);

        // A graceful stop gives the Lease up at once.
        follower.child.kill('SIGTERM');
        expect((await follower.exited).code).toBe(0);
        expect((await lease()).spec?.holderIdentity).toBeUndefined();
      } finally {
        for (const p of all) await kill(p);
      }
    }, 90_000);
  },
  { testTimeoutMs: 90_000 },
);
