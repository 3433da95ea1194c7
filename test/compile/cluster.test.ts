/**
 * The compiled objects against a real kube-apiserver: every CRD is accepted
 * and becomes Established, every custom resource of examples/fleet and every
 * built-in object is accepted by server-side apply, and nothing we send is
 * pruned or dropped (a field the CRD schema forgot would silently vanish).
 * `joch compile --stdout` goes through `kubectl apply -f -` as well.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { expect, it } from 'vitest';
import { compile, type CompileOutput, type KubeObject } from '../../src/compile/index.js';
import { kindInfo } from '../../src/model/kinds.js';
import { describeCluster } from '../cluster/require-cluster.js';
import { FLEET, ROOT, copyFleet, loadFleet, withBundles } from './helpers.js';

const MANAGER = 'joch-compile-test';

/** Every scalar leaf as [path, value]; empty collections count as leaves. */
function leaves(value: unknown, at: string[] = [], out: [string[], unknown][] = []): [string[], unknown][] {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (!entries.length) out.push([at, value]);
    for (const [k, v] of entries) leaves(v, [...at, k], out);
  } else out.push([at, value]);
  return out;
}

function dropped(sent: KubeObject, live: unknown): string[] {
  const missing: string[] = [];
  for (const [p, v] of leaves(sent)) {
    const got = p.reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], live);
    if (JSON.stringify(got) !== JSON.stringify(v)) missing.push(`${p.join('.')}: sent ${JSON.stringify(v)}, live ${JSON.stringify(got)}`);
  }
  return missing;
}

/** The REST path of an object: Joch kinds by the catalog, built-in ones by the usual plural. */
function objectPath(o: KubeObject): string {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const plural = kindInfo(o.kind)?.group === group ? (kindInfo(o.kind)?.plural as string) : o.kind.toLowerCase().replace(/y$/, 'ie') + 's';
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${plural}/${encodeURIComponent(o.metadata.name)}`;
}

/** Raw JSON calls, so nothing is lost to a client's typed models; fieldValidation=Strict rejects unknown fields. */
async function call(kc: KubeConfig, method: 'GET' | 'PATCH' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(kc.getCurrentCluster()?.server ?? '');
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...opts,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...(opts.headers ?? {}), Accept: 'application/json', ...(payload ? { 'Content-Type': method === 'PATCH' ? 'application/apply-patch+yaml' : 'application/json', 'Content-Length': payload.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown }));
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function waitEstablished(kc: KubeConfig, name: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const { json } = await call(kc, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const conditions = (json as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() - t0 > 30_000) throw new Error(`CRD ${name} not established`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every Team namespace under a quota that counts cpu, memory and pods: the fleet must fit it. */
const QUOTA_CONFIG = `
workloads:
  teams:
${['finance-ops', 'research', 'support-platform']
  .map((team) => `    ${team}:\n      quota:\n        requests.cpu: "4"\n        requests.memory: 8Gi\n        limits.cpu: "16"\n        limits.memory: 32Gi\n        pods: "40"`)
  .join('\n')}
`;

let compiled: CompileOutput | undefined;
async function output(): Promise<CompileOutput> {
  compiled ??= compile(withBundles(await loadFleet(copyFleet(FLEET, { 'joch.yaml': (t) => `${t}${QUOTA_CONFIG}` }))));
  return compiled;
}

async function waitQuotaComputed(kc: KubeConfig, namespace: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const { json } = await call(kc, 'GET', `/api/v1/namespaces/${namespace}/resourcequotas/joch-team-quota`);
    if (Object.keys((json as { status?: { hard?: object } }).status?.hard ?? {}).length) return;
    if (Date.now() - t0 > 30_000) throw new Error(`the quota of ${namespace} was never computed`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The pod template of a compiled workload, or undefined for anything else. */
function podTemplate(o: KubeObject): { metadata?: { labels?: Record<string, string> }; spec: Record<string, unknown> } | undefined {
  if (o.apiVersion === 'apps/v1' && o.kind === 'Deployment') return (o.spec as { template: never }).template;
  if (o.apiVersion === 'batch/v1' && o.kind === 'Job') return (o.spec as { template: never }).template;
  if (o.apiVersion === 'batch/v1' && o.kind === 'CronJob') return (o.spec as { jobTemplate: { spec: { template: never } } }).jobTemplate.spec.template;
  return undefined;
}

/** Creates the pod with a server-side dry run: every admission plugin decides, nothing is stored. */
async function dryRunPod(kc: KubeConfig, namespace: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec };
  return call(kc, 'POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All&fieldValidation=Strict`, pod);
}

describeCluster('compiled objects on a real kube-apiserver', (cluster) => {
  it('accepts every CRD, every custom resource and every built-in object, dropping nothing', async () => {
    const out = await output();
    const kc = cluster().kubeconfig;
    const failures: string[] = [];
    const apply = async (o: KubeObject) => {
      const { status, json } = await call(kc, 'PATCH', `${objectPath(o)}?fieldManager=${MANAGER}&force=true&fieldValidation=Strict`, o);
      const what = `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (status !== 200 && status !== 201) failures.push(`${what}: ${status} ${JSON.stringify(json)}`);
      else for (const d of dropped(o, json)) failures.push(`${what}: ${d}`);
    };
    const crds = out.objects.filter((o) => o.object.kind === 'CustomResourceDefinition');
    expect(crds.length).toBe(25);
    for (const c of crds) await apply(c.object);
    expect(failures).toEqual([]);
    for (const c of crds) await waitEstablished(kc, c.object.metadata.name);

    // Everything else in emitted order: namespaces first, then each namespace's objects.
    const rest = out.objects.filter((o) => o.object.kind !== 'CustomResourceDefinition');
    for (const o of rest) await apply(o.object);
    expect(failures).toEqual([]);
    const custom = rest.filter((o) => o.object.apiVersion.includes('joch.dev/'));
    expect(custom.length).toBe(out.objects.filter((o) => o.object.apiVersion.includes('joch.dev/') && o.object.kind !== 'CustomResourceDefinition').length);
    expect(custom.length).toBeGreaterThanOrEqual(76);

    // The mapped name is what the API server stores; the Joch name rides along.
    const tool = await call(kc, 'GET', '/apis/tools.joch.dev/v1alpha1/namespaces/support-platform/tools/zendesk.create-ticket-f37f36c1');
    expect(tool.status).toBe(200);
    expect((tool.json as KubeObject).metadata.annotations?.['joch.dev/name']).toBe('zendesk.create_ticket');

    // `kubectl get joch` lists Joch resources of every kind through the category.
    const list = spawnSync('kubectl', ['--kubeconfig', cluster().kubeconfigPath, 'get', 'joch', '-A', '-o', 'name'], { encoding: 'utf8' });
    if (list.error === undefined) {
      expect(list.status, list.stderr).toBe(0);
      expect(list.stdout.trim().split('\n').length).toBe(custom.length);
    }
  });

  it('admits a pod of every compiled workload under restricted Pod Security and the Team quota, and refuses what breaks either', async () => {
    const out = await output();
    const kc = cluster().kubeconfig;
    // Namespaces, defaults and quotas (applied again: server-side apply makes it a no-op after the first test).
    for (const o of out.objects.filter((x) => ['Namespace', 'LimitRange', 'ResourceQuota'].includes(x.object.kind))) {
      const applied = await call(kc, 'PATCH', `${objectPath(o.object)}?fieldManager=${MANAGER}&force=true&fieldValidation=Strict`, o.object);
      expect(applied.status, `${o.object.kind} ${o.object.metadata.name}`).toBeLessThan(300);
    }
    for (const ns of ['finance-ops', 'research', 'support-platform']) {
      await waitQuotaComputed(kc, ns);
      const namespace = await call(kc, 'GET', `/api/v1/namespaces/${ns}`);
      expect((namespace.json as KubeObject).metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    }
    const workloads = out.objects.map((o) => o.object).filter((o) => podTemplate(o) !== undefined);
    expect(workloads.map((w) => w.kind).sort()).toEqual(['CronJob', 'Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment']);
    const refused: string[] = [];
    for (const w of workloads) {
      const t = podTemplate(w);
      const ns = w.metadata.namespace as string;
      const { status, json } = await dryRunPod(kc, ns, `${w.metadata.name}-probe`, t?.spec ?? {}, t?.metadata?.labels);
      if (status !== 201) refused.push(`${w.kind} ${ns}/${w.metadata.name}: ${status} ${JSON.stringify((json as { message?: string }).message)}`);
    }
    expect(refused).toEqual([]);

    // The controls: the same namespace refuses a pod that breaks either rule, so the admissions above were decided.
    const deployment = workloads.find((w) => w.kind === 'Deployment' && w.metadata.namespace === 'finance-ops') as KubeObject;
    const spec = podTemplate(deployment)?.spec as { containers: Record<string, unknown>[] };
    const unconfined = { ...spec, securityContext: {}, containers: spec.containers.map((c) => ({ ...c, securityContext: {} })) };
    const psa = await dryRunPod(kc, 'finance-ops', 'unconfined-probe', unconfined);
    expect(psa.status).toBe(403);
    expect((psa.json as { message: string }).message).toMatch(/violates PodSecurity "restricted/);
    const greedy = { ...spec, containers: spec.containers.map((c) => ({ ...c, resources: { requests: { cpu: '5', memory: '256Mi' }, limits: { cpu: '5', memory: '1Gi' } } })) };
    const quota = await dryRunPod(kc, 'finance-ops', 'greedy-probe', greedy);
    expect(quota.status).toBe(403);
    expect((quota.json as { message: string }).message).toMatch(/exceeded quota: joch-team-quota/);
  });

  it('takes `joch compile --stdout` through `kubectl apply -f -` (CRDs first, as kubectl needs)', async () => {
    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (kubectl.error) return void console.warn('kubectl is not installed: the kubectl leg is skipped');
    const bin = path.join(ROOT, 'bin/joch.js');
    expect(existsSync(bin)).toBe(true);
    const fleet = copyFleet(FLEET);
    const kubeconfig = cluster().kubeconfigPath;
    for (const crds of ['only', 'skip']) {
      const joch = spawnSync(process.execPath, [bin, 'compile', fleet, '--stdout', '--crds', crds], { encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(joch.status, joch.stderr).toBe(0);
      const applied = spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--field-manager', MANAGER, '--force-conflicts', '-f', '-'], {
        input: joch.stdout,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      expect(applied.status, applied.stderr).toBe(0);
      if (crds === 'only') {
        const wait = spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'wait', '--for', 'condition=Established', 'crd', '-l', 'app.kubernetes.io/managed-by=joch', '--timeout', '60s'], { encoding: 'utf8' });
        expect(wait.status, wait.stderr).toBe(0);
      }
    }
  });
  // The quota controller computes each quota's status; admission cannot charge a pod against a quota without it.
}, { controllerManager: true, controllers: ['resourcequota-controller'] });
