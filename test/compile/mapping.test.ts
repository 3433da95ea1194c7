/** Each Joch kind's mapping on examples/fleet: the object set and the key fields of every mapping. */
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, LABEL, type CompileInput, type CompileOutput, type KubeObject } from '../../src/compile/index.js';
import { toolSchemaHash } from '../../src/compile/manifest.js';
import { applySetId, defaultApplySetParent } from '../../src/model/applyset.js';
import { kindInfo } from '../../src/model/kinds.js';
import { isDnsSubdomain, kubernetesName } from '../../src/model/names.js';
import { FLEET, find, get, handBundle, loadFleet } from './helpers.js';

let input: CompileInput;
let out: CompileOutput;

beforeAll(async () => {
  const loaded = await loadFleet(FLEET);
  expect(loaded.errors).toBe(0);
  const bundles = new Map(loaded.graphs.map((g) => [g.agent.key, handBundle(g.agent.key)]));
  // support-triage: the policy stage puts slack.send under approval.
  bundles.set('Agent/support-platform/support-triage', handBundle('Agent/support-platform/support-triage', { name: 'slack.send', namespace: 'support-platform' }));
  input = { ...loaded, bundles };
  out = compile(input);
});

const builtIn = (o: KubeObject) => !o.apiVersion.includes('joch.dev/') && o.kind !== 'CustomResourceDefinition';
const ident = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
/** The pod template of a Deployment, a Job or a CronJob. */
const template = (o: KubeObject) => (o.kind === 'CronJob' ? get(o, 'spec', 'jobTemplate', 'spec', 'template') : get(o, 'spec', 'template')) as Record<string, unknown>;
const container = (o: KubeObject) => get(template(o), 'spec', 'containers', 0) as Record<string, unknown>;
const envOf = (o: KubeObject) => Object.fromEntries((container(o).env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));

describe('the object set of examples/fleet', () => {
  it('has no findings', () => {
    expect(out.findings).toEqual([]);
  });

  it('emits exactly these built-in objects', () => {
    expect(out.objects.filter((o) => builtIn(o.object)).map((o) => ident(o.object))).toEqual([
      'Namespace /finance-ops', 'Namespace /platform', 'Namespace /research', 'Namespace /support-platform',
      'ClusterRole /joch-team-admin', 'ClusterRole /joch-team-approver', 'ClusterRole /joch-team-auditor', 'ClusterRole /joch-team-operator', 'ClusterRole /joch-team-viewer',
      'ServiceAccount finance-ops/billing-agent',
      'Role finance-ops/billing-agent', 'Role finance-ops/joch-secrets-joch-gateway', 'Role finance-ops/joch-secrets-joch-memory',
      'RoleBinding finance-ops/billing-agent', 'RoleBinding finance-ops/joch-secrets-joch-gateway', 'RoleBinding finance-ops/joch-secrets-joch-memory',
      'RoleBinding finance-ops/joch-team-admin', 'RoleBinding finance-ops/joch-team-approver', 'RoleBinding finance-ops/joch-team-auditor',
      'ConfigMap finance-ops/billing-agent-manifest', 'NetworkPolicy finance-ops/billing-agent', 'NetworkPolicy finance-ops/joch-default-deny',
      'Deployment finance-ops/billing-agent-prod', 'Deployment finance-ops/billing-agent-staging',
      'PodDisruptionBudget finance-ops/billing-agent-prod', 'PodDisruptionBudget finance-ops/billing-agent-staging',
      'CronJob finance-ops/billing-reconcile-nightly',
      'Role platform/joch-secrets-joch-gateway', 'Role platform/joch-secrets-joch-router', 'Role platform/joch-secrets-joch-server',
      'RoleBinding platform/joch-secrets-joch-gateway', 'RoleBinding platform/joch-secrets-joch-router', 'RoleBinding platform/joch-secrets-joch-server',
      'NetworkPolicy platform/joch-default-deny',
      'ServiceAccount research/market-researcher',
      'Role research/joch-secrets-joch-gateway', 'Role research/joch-secrets-joch-memory', 'Role research/market-researcher',
      'RoleBinding research/joch-secrets-joch-gateway', 'RoleBinding research/joch-secrets-joch-memory', 'RoleBinding research/joch-team-admin', 'RoleBinding research/joch-team-viewer',
      'RoleBinding research/market-researcher',
      'ConfigMap research/market-researcher-manifest', 'NetworkPolicy research/joch-default-deny', 'NetworkPolicy research/market-researcher',
      'Deployment research/market-researcher-dev', 'Deployment research/market-researcher-staging',
      'PodDisruptionBudget research/market-researcher-dev', 'PodDisruptionBudget research/market-researcher-staging',
      'ServiceAccount support-platform/support-escalation', 'ServiceAccount support-platform/support-triage',
      'Role support-platform/joch-secrets-joch-gateway', 'Role support-platform/joch-secrets-joch-memory', 'Role support-platform/support-escalation', 'Role support-platform/support-triage',
      'RoleBinding support-platform/joch-secrets-joch-gateway', 'RoleBinding support-platform/joch-secrets-joch-memory',
      'RoleBinding support-platform/joch-team-admin', 'RoleBinding support-platform/joch-team-approver', 'RoleBinding support-platform/joch-team-operator',
      'RoleBinding support-platform/support-escalation', 'RoleBinding support-platform/support-triage',
      'ConfigMap support-platform/support-escalation-manifest', 'ConfigMap support-platform/support-triage-manifest',
      'NetworkPolicy support-platform/joch-default-deny', 'NetworkPolicy support-platform/support-escalation', 'NetworkPolicy support-platform/support-triage',
      'Deployment support-platform/support-escalation-prod', 'Deployment support-platform/support-triage-prod', 'Deployment support-platform/support-triage-staging',
      'HorizontalPodAutoscaler support-platform/support-triage-prod',
      'PodDisruptionBudget support-platform/support-escalation-prod', 'PodDisruptionBudget support-platform/support-triage-prod', 'PodDisruptionBudget support-platform/support-triage-staging',
    ]);
  });

  it('emits one custom resource per Joch resource, in its canonical group, and one CRD per kind', () => {
    const crs = out.objects.filter((o) => o.object.apiVersion.includes('joch.dev/'));
    expect(crs.map((o) => `${o.object.apiVersion} ${ident(o.object)}`).sort()).toEqual(
      input.resources.map((r) => `${kindInfo(r.kind)?.group}/v1alpha1 ${r.kind} ${r.namespace ?? ''}/${kubernetesName(r.name)}`).sort(),
    );
    expect(out.objects.filter((o) => o.object.kind === 'CustomResourceDefinition')).toHaveLength(25);
    const written = input.resources.find((r) => r.kind === 'Deployment' && r.apiVersion === 'ops.joch.dev/v1alpha1');
    expect(written).toBeDefined();
    expect(find(out.objects, 'joch.dev/v1alpha1', 'Agent', 'support-triage').spec).toEqual(input.resources.find((r) => r.key === 'Agent/support-platform/support-triage')?.spec);
  });

  it('maps names Kubernetes does not allow to stable, valid names, keeping the Joch name for references', () => {
    const tool = find(out.objects, 'tools.joch.dev/v1alpha1', 'Tool', kubernetesName('zendesk.create_ticket'), 'support-platform');
    expect(tool.metadata.name).toMatch(/^zendesk\.create-ticket-[0-9a-f]{8}$/);
    expect(isDnsSubdomain(tool.metadata.name)).toBe(true);
    expect(tool.metadata.annotations?.['joch.dev/name']).toBe('zendesk.create_ticket');
    const agent = find(out.objects, 'joch.dev/v1alpha1', 'Agent', 'support-triage');
    expect(get(agent, 'spec', 'tools')).toContainEqual({ name: 'zendesk.create_ticket' });
    const cam = out.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage');
    expect((get(cam?.manifest, 'spec', 'tools') as { name: string }[]).map((t) => t.name)).toContain('zendesk.create_ticket');
  });

  it('puts the common labels, the inventory label and the source on every object', () => {
    const id = applySetId(defaultApplySetParent());
    for (const { object, origin } of out.objects) {
      const l = object.metadata.labels ?? {};
      expect(l[LABEL.inventory], ident(object)).toBe(id);
      expect(l[LABEL.managedBy]).toBe('joch');
      expect(l[LABEL.partOf]).toBe('joch');
      expect(l[LABEL.name]).toBeTruthy();
      expect(l[LABEL.instance]).toBeTruthy();
      expect(l[LABEL.component]).toBeTruthy();
      expect(l['joch.dev/source-commit']).toBeUndefined();
      if (origin) expect(input.resources.some((r) => r.file === origin.file && r.doc === origin.doc), ident(object)).toBe(true);
      else expect(['CustomResourceDefinition', 'ClusterRole']).toContain(object.kind);
      // Objects compiled from one Joch resource say which, and its content hash; aggregates of several do not.
      const aggregate = l[LABEL.component] === 'secret-access' || (l[LABEL.component] === 'namespace' && !object.metadata.annotations?.['joch.dev/source']) || object.kind === 'ClusterRole';
      if (object.kind === 'CustomResourceDefinition') expect(l[LABEL.sourceHash]).toMatch(/^[0-9a-f]{12}$/);
      else if (aggregate) expect(l[LABEL.sourceHash], ident(object)).toBeUndefined();
      else {
        expect(l[LABEL.sourceHash], ident(object)).toMatch(/^[0-9a-f]{12}$/);
        expect(object.metadata.annotations?.['joch.dev/source'], ident(object)).toBe(origin?.file.replace(/^examples\/fleet\//, ''));
        expect(object.metadata.annotations?.['joch.dev/name'], ident(object)).toBeTruthy();
      }
    }
    const agentObjects = out.objects.filter((o) => o.object.metadata.labels?.[LABEL.agent] === 'support-triage').map((o) => ident(o.object));
    expect(agentObjects).toEqual(expect.arrayContaining(['Deployment support-platform/support-triage-prod', 'ConfigMap support-platform/support-triage-manifest', 'Agent support-platform/support-triage', 'Eval support-platform/support-triage-quality']));
  });
});

describe('Deployment -> apps/v1 Deployment, HPA, PDB', () => {
  it('compiles an autoscaled rolling deployment: no replicas, an HPA, probes, node selector, gateways', () => {
    const d = find(out.objects, 'apps/v1', 'Deployment', 'support-triage-prod', 'support-platform');
    expect(get(d, 'spec', 'replicas')).toBeUndefined();
    expect(get(d, 'spec', 'strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(get(d, 'spec', 'selector')).toEqual({ matchLabels: { 'joch.dev/deployment': 'support-triage-prod' } });
    expect(get(d, 'spec', 'template', 'metadata', 'labels', 'joch.dev/deployment')).toBe('support-triage-prod');
    expect(get(d, 'spec', 'template', 'spec', 'nodeSelector')).toEqual({ workload: 'agent-runtime' });
    expect(get(d, 'spec', 'template', 'spec', 'serviceAccountName')).toBe('support-triage');
    expect(get(d, 'spec', 'template', 'spec', 'automountServiceAccountToken')).toBe(false);
    expect(container(d).image).toBe('ghcr.io/peasantsai/joch-worker:1.0.0');
    const env = envOf(d);
    expect(env).toMatchObject({
      JOCH_AGENT: 'support-triage',
      JOCH_ENVIRONMENT: 'prod',
      JOCH_LOG_LEVEL: 'info',
      JOCH_GATEWAY_URL: 'http://joch-tool-gateway.joch-system.svc',
      JOCH_MCP_GATEWAY_URL: 'http://joch-mcp-gateway.joch-system.svc',
      JOCH_ROUTER_URL: 'http://joch-router.joch-system.svc',
      JOCH_READINESS_PROMPT: 'Reply with READY in JSON.',
      JOCH_MANIFEST_PATH: '/etc/joch/manifest/manifest.json',
    });
    expect(get(container(d), 'readinessProbe', 'httpGet', 'path')).toBe('/healthz/synthetic/readiness');
    expect(get(container(d), 'livenessProbe')).toMatchObject({ httpGet: { path: '/healthz/heartbeat', port: 'health' }, periodSeconds: 30 });
    expect(d.metadata.labels?.[LABEL.environment]).toBe('prod');
    const cam = out.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage');
    expect(get(d, 'spec', 'template', 'metadata', 'annotations', 'joch.dev/manifest-hash')).toBe(cam?.hash);

    const hpa = find(out.objects, 'autoscaling/v2', 'HorizontalPodAutoscaler', 'support-triage-prod', 'support-platform');
    expect(get(hpa, 'spec')).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'support-triage-prod' },
      minReplicas: 2,
      maxReplicas: 12,
      metrics: [
        {
          type: 'External',
          external: { metric: { name: 'joch_queue_depth', selector: { matchLabels: { 'joch.dev/deployment': 'support-triage-prod' } } }, target: { type: 'AverageValue', averageValue: '50' } },
        },
      ],
    });
  });

  it('compiles recreate, fixed replicas and no probes when none are given', () => {
    const staging = find(out.objects, 'apps/v1', 'Deployment', 'support-triage-staging', 'support-platform');
    expect(get(staging, 'spec', 'strategy')).toEqual({ type: 'Recreate' });
    expect(get(staging, 'spec', 'replicas')).toBe(1);
    expect(container(staging).readinessProbe).toBeUndefined();
    const billing = find(out.objects, 'apps/v1', 'Deployment', 'billing-agent-prod', 'finance-ops');
    expect(get(billing, 'spec', 'replicas')).toBe(2);
    expect(get(billing, 'spec', 'strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(out.objects.some((o) => o.object.kind === 'HorizontalPodAutoscaler' && o.object.metadata.name === 'billing-agent-prod')).toBe(false);
  });

  it('gives every Deployment a PodDisruptionBudget over the same pods that never blocks a drain', () => {
    for (const d of out.objects.filter((o) => o.object.apiVersion === 'apps/v1')) {
      const pdb = find(out.objects, 'policy/v1', 'PodDisruptionBudget', d.object.metadata.name, d.object.metadata.namespace);
      expect(get(pdb, 'spec')).toEqual({ maxUnavailable: 1, selector: get(d.object, 'spec', 'selector'), unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    }
  });

  it('runs pods that meet the restricted Pod Security Standard and carry no secret', () => {
    for (const o of out.objects.filter((x) => x.object.apiVersion === 'apps/v1' || x.object.apiVersion === 'batch/v1')) {
      const pod = get(template(o.object), 'spec') as Record<string, unknown>;
      expect(get(pod, 'securityContext')).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(get(container(o.object), 'securityContext')).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(JSON.stringify(pod)).not.toMatch(/secretKeyRef|secretRef|"secret"/);
      expect(get(pod, 'volumes', 1, 'projected', 'sources', 0, 'serviceAccountToken')).toEqual({ audience: 'joch.dev', expirationSeconds: 3600, path: 'token' });
    }
  });
});

describe('agent identity and network', () => {
  it('gives each running agent a ServiceAccount whose Role reads only its own manifest and custom resource', () => {
    const sa = find(out.objects, 'v1', 'ServiceAccount', 'support-triage', 'support-platform');
    expect(sa.automountServiceAccountToken).toBe(false);
    const role = find(out.objects, 'rbac.authorization.k8s.io/v1', 'Role', 'support-triage', 'support-platform');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['support-triage-manifest'], verbs: ['get', 'watch'] },
      { apiGroups: ['joch.dev'], resources: ['agents'], resourceNames: ['support-triage'], verbs: ['get'] },
    ]);
    const rb = find(out.objects, 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'support-triage', 'support-platform');
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'support-triage' });
    expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'support-triage', namespace: 'support-platform' }]);
  });

  it('lets an agent reach only the Joch services it uses, and DNS', () => {
    const np = find(out.objects, 'networking.k8s.io/v1', 'NetworkPolicy', 'market-researcher', 'research');
    expect(get(np, 'spec', 'podSelector')).toEqual({ matchLabels: { 'joch.dev/agent': 'market-researcher' } });
    expect(get(np, 'spec', 'policyTypes')).toEqual(['Ingress', 'Egress']);
    expect(get(np, 'spec', 'ingress')).toBeUndefined();
    expect(get(np, 'spec', 'egress')).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'joch-system' } },
            podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['joch-gateway', 'joch-memory', 'joch-router', 'joch-server', 'joch-trace'] }] },
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
    ]);
    // The pods of every workload carry the label the policy selects.
    for (const o of out.objects.filter((x) => x.object.apiVersion === 'apps/v1' || x.object.apiVersion === 'batch/v1')) {
      expect(get(template(o.object), 'metadata', 'labels', 'joch.dev/agent')).toBe(o.object.metadata.labels?.[LABEL.agent]);
    }
  });
});

describe('Execution -> batch/v1 Job, or a CronJob when scheduled', () => {
  it('runs once, without retries, within a deadline, on the schedule its annotation names, never overlapping', () => {
    const cron = find(out.objects, 'batch/v1', 'CronJob', 'billing-reconcile-nightly', 'finance-ops');
    expect(get(cron, 'spec', 'schedule')).toBe('0 2 * * *');
    expect(get(cron, 'spec', 'concurrencyPolicy')).toBe('Forbid');
    const job = get(cron, 'spec', 'jobTemplate', 'spec') as Record<string, unknown>;
    expect(get(job, 'backoffLimit')).toBe(0);
    expect(get(job, 'activeDeadlineSeconds')).toBe(3600);
    expect(get(job, 'suspend')).toBeUndefined();
    expect(get(job, 'ttlSecondsAfterFinished')).toBeUndefined();
    expect(get(job, 'template', 'spec', 'restartPolicy')).toBe('Never');
    expect(get(job, 'template', 'spec', 'serviceAccountName')).toBe('billing-agent');
    expect(envOf(cron)).toMatchObject({ JOCH_EXECUTION_ID: 'billing-reconcile-nightly', JOCH_EXECUTION_TRIGGER: 'schedule', JOCH_AGENT: 'billing-agent' });
    expect(container(cron).image).toBe('ghcr.io/peasantsai/joch-worker:1.0.0');
    // The pod template is immutable: nothing in it may follow the agent's manifest.
    expect(get(job, 'template', 'metadata', 'annotations')).toBeUndefined();
  });
});

describe('Secret -> secretKeyRef wiring at the data plane, never a value', () => {
  it('names the Kubernetes Secret and key in the manifest, for the service that resolves it', () => {
    const cam = out.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage');
    const secrets = get(cam?.manifest, 'spec', 'secrets') as Record<string, unknown>[];
    expect(secrets).toContainEqual({
      name: 'zendesk-api-token',
      namespace: 'support-platform',
      usedBy: { kind: 'Tool', name: 'zendesk.create_ticket', namespace: 'support-platform' },
      resolvedBy: 'gateway',
      valueFrom: { secretKeyRef: { namespace: 'support-platform', name: 'zendesk', key: 'api-token' } },
    });
    expect(secrets).toContainEqual({
      name: 'slack-bot-token',
      namespace: 'support-platform',
      usedBy: { kind: 'Tool', name: 'slack.send', namespace: 'support-platform' },
      resolvedBy: 'gateway',
      source: { type: 'vault', name: 'secret/data/support/slack', key: 'bot-token' },
    });
    expect(secrets.find((s) => s.name === 'openai-api-key')).toMatchObject({ resolvedBy: 'router', valueFrom: { secretKeyRef: { name: 'openai-credentials', key: 'api-key' } } });
  });

  it('lets each resolving service get exactly the Kubernetes Secrets it resolves, in their namespace', () => {
    const router = find(out.objects, 'rbac.authorization.k8s.io/v1', 'Role', 'joch-secrets-joch-router', 'platform');
    expect(router.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['anthropic-credentials', 'openai-credentials'], verbs: ['get'] }]);
    const memory = find(out.objects, 'rbac.authorization.k8s.io/v1', 'Role', 'joch-secrets-joch-memory', 'support-platform');
    expect(get(memory, 'rules', 0, 'resourceNames')).toEqual(['support-postgres', 'support-redis']);
    const binding = find(out.objects, 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'joch-secrets-joch-router', 'platform');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'joch-router', namespace: 'joch-system' }]);
    // Vault and AWS sources get no Kubernetes access.
    const gateway = find(out.objects, 'rbac.authorization.k8s.io/v1', 'Role', 'joch-secrets-joch-gateway', 'support-platform');
    expect(get(gateway, 'rules', 0, 'resourceNames')).toEqual(['zendesk']);
    expect(out.objects.some((o) => o.object.apiVersion === 'v1' && o.object.kind === 'Secret')).toBe(false);
  });
});

describe('Team and Environment', () => {
  it('labels team namespaces and binds members to their roles there', () => {
    const ns = find(out.objects, 'v1', 'Namespace', 'support-platform');
    expect(ns.metadata.labels?.[LABEL.team]).toBe('support-platform');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/warn']).toBe('restricted');
    expect(find(out.objects, 'v1', 'Namespace', 'platform').metadata.labels?.[LABEL.team]).toBeUndefined();
    const admin = find(out.objects, 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'joch-team-admin', 'support-platform');
    expect(admin.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice@example.com' }]);
    expect(admin.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'joch-team-admin' });
    const viewer = find(out.objects, 'rbac.authorization.k8s.io/v1', 'ClusterRole', 'joch-team-viewer');
    expect(JSON.stringify(viewer.rules)).not.toMatch(/create|update|patch|delete|\*"\]\}$/);
  });

  it('refuses a system: identity as a Team member, at its line, and binds the people', () => {
    const resources = input.resources.map((r) =>
      r.key === 'Team//support-platform'
        ? { ...r, spec: { ...r.spec, members: [...(r.spec.members as object[]), { user: 'system:serviceaccount:ci:deployer', role: 'admin' }] } }
        : r,
    );
    expect(resources).not.toEqual(input.resources);
    const refused = compile({ ...input, resources });
    const members = (input.resources.find((r) => r.key === 'Team//support-platform')?.spec.members as object[]).length;
    expect(refused.findings.map((f) => [f.code, f.severity, f.message, 'path' in f.at ? f.at.path.join('.') : ''])).toEqual([
      ['JOCH911', 'error', 'Team member "system:serviceaccount:ci:deployer" is a system: identity; Team members are people', `spec.members.${members}.user`],
    ]);
    const admin = find(refused.objects, 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'joch-team-admin', 'support-platform');
    expect(admin.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice@example.com' }]);
  });

  it('maps an Environment to labels and env, not to a namespace or a quota', () => {
    expect(out.objects.some((o) => o.object.kind === 'Namespace' && ['prod', 'staging', 'dev'].includes(o.object.metadata.name))).toBe(false);
    expect(out.objects.some((o) => o.object.kind === 'ResourceQuota')).toBe(false);
    const dev = find(out.objects, 'apps/v1', 'Deployment', 'market-researcher-dev', 'research');
    expect(dev.metadata.labels?.[LABEL.environment]).toBe('dev');
    expect(envOf(dev)).toMatchObject({ JOCH_ENVIRONMENT: 'dev', JOCH_LOG_LEVEL: 'debug' });
  });
});

describe('CompiledAgentManifest', () => {
  it('resolves every reference of the agent', () => {
    const cam = out.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage');
    const spec = cam?.manifest.spec as Record<string, unknown>;
    expect(cam?.manifest.apiVersion).toBe('internal.joch.dev/v1');
    expect(get(spec, 'framework')).toMatchObject({ adapter: 'openai-agents-sdk', adapterImage: 'ghcr.io/peasantsai/joch-adapter-openai:1.0.0', pythonModule: 'support.agents.triage:agent' });
    expect(get(spec, 'modelRoute', 'primary')).toMatchObject({ ref: 'openai:gpt-5-thinking', provider: 'openai', model: 'gpt-5.5-thinking' });
    expect((get(spec, 'modelRoute', 'fallback') as { ref: string }[]).map((m) => m.ref)).toEqual(['anthropic:claude-sonnet']);
    const tools = get(spec, 'tools') as Record<string, unknown>[];
    expect(tools.map((t) => [t.name, t.sideEffect, t.requiresApproval])).toEqual([
      ['zendesk.search', 'read_only', false],
      ['zendesk.create_ticket', 'external_write', true],
      ['slack.send', 'communication', true],
    ]);
    const slack = tools[2] as Record<string, unknown>;
    expect(slack.approval).toEqual({ approvers: ['team:leads'], timeoutMinutes: 30, onTimeout: 'deny' });
    expect(get(slack, 'policyDecision', 'outcome')).toBe('require-approval');
    const slackTool = input.resources.find((r) => r.key === 'Tool/support-platform/slack.send');
    expect(slack.schemaSha).toBe(slackTool && toolSchemaHash(slackTool));
    expect(slack.schemaSha).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((get(spec, 'mcpServers') as Record<string, unknown>[]).map((m) => [m.name, m.pinnedVersion])).toEqual([
      ['github', '1.2.0'],
      ['postgres-readonly', '0.9.3'],
    ]);
    expect(Object.keys(get(spec, 'memories') as object)).toEqual(['longTerm', 'working']);
    expect(get(spec, 'memories', 'working', 'name')).toBe('support-triage-working');
    expect(get(spec, 'rag', 0, 'sources')).toHaveLength(2);
    expect(get(spec, 'handoffs')).toEqual([{ name: 'support-escalation', namespace: 'support-platform' }]);
    expect(get(spec, 'policies', 'resolved')).toEqual(['joch-baseline@000000000000', 'platform/handmade@abc123def456']);
    expect(get(spec, 'policies', 'bundleHash')).toBe(input.bundles.get('Agent/support-platform/support-triage')?.hash);
    expect(get(spec, 'policies', 'runtimeRules', 0, 'rule')).toBe('cap');
    expect(get(spec, 'observability')).toMatchObject({ traceEndpoint: 'http://joch-trace.joch-system.svc:4318', abomEndpoint: 'http://joch-server.joch-system.svc', tracing: 'enabled' });
  });

  it('is mounted from a ConfigMap that holds the manifest without the commit', () => {
    const entry = out.manifests.find((m) => m.agent === 'Agent/support-platform/support-triage');
    const cm = find(out.objects, 'v1', 'ConfigMap', 'support-triage-manifest', 'support-platform');
    const held = JSON.parse(get(cm, 'data', 'manifest.json') as string) as Record<string, unknown>;
    expect(held.spec).toEqual(entry?.manifest.spec);
    const d = find(out.objects, 'apps/v1', 'Deployment', 'support-triage-prod', 'support-platform');
    expect(get(d, 'spec', 'template', 'spec', 'volumes', 0)).toEqual({ name: 'manifest', configMap: { name: 'support-triage-manifest' } });
  });

  it('carries the source commit on the manifest file only', () => {
    const withCommit = compile({ ...input, revision: '0123456789abcdef0123456789abcdef01234567', commitTime: 1_700_000_000 });
    const entry = withCommit.manifests[0];
    expect(entry?.manifest.metadata.annotations['joch.dev/source-commit']).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(entry?.manifest.metadata.annotations['joch.dev/source-commit-time']).toBe('2023-11-14T22:13:20.000Z');
    // Objects do not change with the commit.
    expect(JSON.stringify(withCommit.objects)).toBe(JSON.stringify(out.objects));
  });

  it('has no policy section only when no bundle was given and bundles are not required (unit tests)', () => {
    const bare = compile({ ...input, bundles: new Map() }, { requirePolicyBundles: false });
    expect(bare.findings).toEqual([]);
    expect(get(bare.manifests[0]?.manifest, 'spec', 'policies')).toBeUndefined();
    const strict = compile({ ...input, bundles: new Map() });
    expect(strict.findings.map((f) => f.code)).toEqual(['JOCH906', 'JOCH906', 'JOCH906', 'JOCH906']);
  });
});
