/**
 * planApply diffs against a real kube-apiserver: normalised, field-level,
 * free of server defaults and other managers' fields, Secret values masked,
 * in text and JSON.
 */
import { expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { applySet, formatPlanJson, formatPlanText, planApply } from '../../src/cluster/index.js';
import type { DesiredObject, PlanOptions } from '../../src/cluster/index.js';
import { describeCluster } from './require-cluster.js';
import { applyAs, configMap, deployment, desired, namespace, secret } from './engine-fixtures.js';

describeCluster('cluster engine: diff', (cluster) => {
  const opts = (): PlanOptions => ({ kubeconfig: cluster().kubeconfig, inventory: { name: 'diff-suite', namespace: 'diff-a' } });
  const set = (over: { data?: Record<string, string>; image?: string; cpu?: string; token?: string; labels?: Record<string, string> } = {}): DesiredObject[] => [
    desired(namespace('diff-a')),
    desired(configMap('diff-a', 'cfg', over.data ?? { a: '1', b: '2' }, over.labels ? { labels: over.labels } : {}), 5),
    desired(deployment('diff-a', 'web', { image: over.image ?? 'img:1', cpu: over.cpu ?? '0.5' }), 9),
    desired(secret('diff-a', 'creds', { token: over.token ?? 'first-secret-value', user: 'bot' }), 14),
  ];

  it('a creation lists the desired fields only, never server defaults, and masks Secret values', async () => {
    const plan = await planApply(set(), opts());
    expect(plan.errors).toEqual([]);
    expect(plan.summary).toMatchObject({ create: 4, update: 0 });
    const dep = plan.objects.find((o) => o.ref.kind === 'Deployment');
    const paths = dep?.diff.map((c) => c.path) ?? [];
    expect(paths).toContain('spec.template.spec.containers');
    // Defaults the API server would add (strategy, imagePullPolicy...) are not shown.
    expect(paths.join(' ')).not.toMatch(/strategy|imagePullPolicy|revisionHistoryLimit/);
    const sec = plan.objects.find((o) => o.ref.kind === 'Secret');
    expect(sec?.diff.filter((c) => c.path.startsWith('data'))).toEqual([
      { path: 'data.token', op: 'add', sensitive: true },
      { path: 'data.user', op: 'add', sensitive: true },
    ]);
    expect(formatPlanJson(plan)).not.toContain(Buffer.from('first-secret-value').toString('base64'));
    expect(formatPlanText(plan)).not.toContain(Buffer.from('first-secret-value').toString('base64'));
    // Namespaced objects in a namespace this plan creates cannot be dry-run yet.
    expect(plan.objects.find((o) => o.ref.kind === 'ConfigMap')).toMatchObject({
      validation: 'deferred',
      deferredBecause: 'namespace diff-a is created in this apply',
    });
    expect(plan.objects.find((o) => o.ref.kind === 'Namespace')?.validation).toBe('dry-run');
  });

  it('after apply, equivalent spellings (quantities, empty values) and other managers are no change', async () => {
    expect((await applySet(set(), opts())).errors).toEqual([]);
    const kc = cluster().kubeconfig;
    // The server stored cpu "0.5" as "500m" and memory "1024Mi" as "1Gi".
    const live = await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'diff-a' });
    expect(live.items.map((c) => c.metadata?.name)).toContain('cfg');
    await applyAs(kc, 'label-bot', configMap('diff-a', 'cfg', {}, { labels: { team: 'x' } }));
    const plan = await planApply(set({ cpu: '500m' }), opts());
    expect(plan.objects.filter((o) => o.action !== 'unchanged')).toEqual([]);
    expect(plan.counters.dryRuns).toBe(0);
  });

  it('shows a readable field-level diff of what changes, including removals', async () => {
    const plan = await planApply(
      set({ data: { a: '1', c: '3' }, image: 'img:2', cpu: '1', token: 'second-secret-value', labels: { tier: 'gold' } }),
      opts(),
    );
    expect(plan.errors).toEqual([]);
    const diff = (kind: string): unknown => plan.objects.find((o) => o.ref.kind === kind)?.diff;
    expect(diff('ConfigMap')).toEqual([
      { path: 'metadata.labels.tier', op: 'add', after: 'gold' },
      { path: 'data.c', op: 'add', after: '3' },
      { path: 'data.b', op: 'remove', before: '2' },
    ]);
    expect(diff('Deployment')).toEqual([
      { path: 'spec.template.spec.containers[name=app].image', op: 'change', before: 'img:1', after: 'img:2' },
      { path: 'spec.template.spec.containers[name=app].resources.limits.cpu', op: 'change', before: '500m', after: '1' },
    ]);
    expect(diff('Secret')).toEqual([{ path: 'data.token', op: 'change', sensitive: true }]);
    expect(plan.objects.find((o) => o.ref.kind === 'Namespace')?.action).toBe('unchanged');

    const text = formatPlanText(plan);
    expect(text).toContain('ApplySet applyset-');
    expect(text).toContain('0 to create, 3 to update, 0 to recreate, 0 to delete, 1 unchanged');
    expect(text).toContain('~ apps/v1 Deployment diff-a/web [update]  manifests/deployment-web.yaml:9:1');
    expect(text).toContain('    ~ spec.template.spec.containers[name=app].image: "img:1" -> "img:2"');
    expect(text).toContain('    - data.b: "2"');
    expect(text).toContain('    ~ data.token: (sensitive value changed)');
    const json = formatPlanJson(plan);
    for (const leaked of ['second-secret-value', 'first-secret-value']) {
      expect(json).not.toContain(Buffer.from(leaked).toString('base64'));
      expect(text).not.toContain(Buffer.from(leaked).toString('base64'));
    }
    expect(JSON.parse(json)).toMatchObject({ summary: { update: 3, unchanged: 1 } });
  });

  it('a reorder of an associative list is a change (server-side apply reorders it)', async () => {
    const base = set();
    const dep = base.find((d) => d.object.kind === 'Deployment');
    const spec = (dep?.object['spec'] as { template: { spec: { containers: { env: unknown[] }[] } } }).template.spec;
    spec.containers[0]?.env.reverse();
    const plan = await planApply(base, opts());
    expect(plan.objects.find((o) => o.ref.kind === 'Deployment')?.diff).toEqual([
      { path: 'spec.template.spec.containers[name=app].env', op: 'change', before: '(order)', after: '(new order)' },
    ]);
  });
});
