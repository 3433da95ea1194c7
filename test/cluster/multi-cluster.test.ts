/**
 * One repository, two clusters: two real kube-apiservers, each reached
 * through its own kubeconfig named in joch.yaml `clusters`. Each receives
 * exactly the share its Environments place there, keeps its own ApplySet,
 * and a prune in one leaves the other alone.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { placeObjects, shareOf } from '../../src/compile/index.js';
import type { KubeObject } from '../../src/cluster/index.js';
import { runCompile } from '../../src/pipeline/compile.js';
import { cli, tmpRepo } from '../support/repo.js';
import { RepoFixture, startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { ensureNamespace, getObject, kubeconfigVia } from '../reconcile/support/cluster.js';
import { show, syncRuntime } from '../reconcile/support/fleet.js';
import { readLive } from './engine-fixtures.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { describeCluster } from './require-cluster.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A port nothing listens on: a cluster that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** joch.yaml of examples/two-clusters with its clusters reached through these kubeconfig files. */
function twoClusterConfig(staging: string, prod: string): string {
  const example = readFileSync(path.join(ROOT, 'examples/two-clusters/joch.yaml'), 'utf8');
  const base = example.replace(/\nclusters:\n( {2}.*\n|\s*#.*\n)*/, '\n').replace(/\ndefaultCluster: .*\n/, '\n');
  return `${base}clusters:\n  staging-eu: {kubeconfig: ${JSON.stringify(staging)}}\n  prod-eu: {kubeconfig: ${JSON.stringify(prod)}}\ndefaultCluster: staging-eu\n`;
}

interface SummaryYaml {
  readonly phase: string;
  readonly clusters?: Record<string, { readonly phase: string; readonly message: string }>;
}

interface ApplyJson {
  readonly complete: boolean;
  readonly objects: readonly { readonly ref: { readonly apiVersion: string; readonly kind: string; readonly namespace?: string; readonly name: string } }[];
  readonly pruned: readonly { readonly ref: { readonly kind: string; readonly name: string }; readonly outcome: string }[];
  readonly errors: readonly unknown[];
}

const workload = (namespace: string, name: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name } });
const cronJob = (namespace: string, name: string): KubeObject => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { namespace, name } });

async function exists(kc: KubeConfig, o: KubeObject): Promise<boolean> {
  return (await readLive(kc, o)) !== undefined;
}

/** A copy of an example with joch.yaml's clusters pointing at the test clusters' kubeconfig files. */
function repoOf(example: string, clusters: string): string {
  const repo = tmpRepo();
  cpSync(path.join(ROOT, 'examples', example), repo.root, { recursive: true });
  const file = path.join(repo.root, 'joch.yaml');
  const config = readFileSync(file, 'utf8').replace(/\nclusters:\n( {2}.*\n|\s*#.*\n)*/, '\n').replace(/\ndefaultCluster: .*\n/, '\n');
  writeFileSync(file, `${config}${clusters}`);
  return repo.root;
}

/** A copy of a working tree with another joch.yaml. */
function repoWith(work: string, config: string): string {
  const root = tmpRepo().root;
  for (const f of readdirSync(work).filter((f) => f !== '.git')) cpSync(path.join(work, f), path.join(root, f), { recursive: true });
  writeFileSync(path.join(root, 'joch.yaml'), config);
  return root;
}

const refKey = (r: ApplyJson['objects'][number]['ref']) => `${r.apiVersion.split('/').slice(0, -1).join('/') || ''}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
const objectKey = (o: KubeObject) => `${o.apiVersion.split('/').slice(0, -1).join('/') || ''}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describeCluster(
  'two clusters from one repository',
  (first) => {
    let second: TestCluster | undefined;
    const staging = () => first();
    const prod = () => {
      if (!second) throw new Error('the second cluster did not start');
      return second;
    };
    beforeAll(async () => {
      second = await startTestCluster();
    }, 120_000);
    afterAll(async () => {
      await second?.stop();
    }, 30_000);

    it('the example fleet: staging and prod workloads each go to their own cluster, dev (not mapped) to none', async () => {
      const root = repoOf(
        'fleet',
        [
          'clusters:',
          `  staging-agent-cluster: {kubeconfig: ${JSON.stringify(staging().kubeconfigPath)}}`,
          `  prod-agent-cluster: {kubeconfig: ${JSON.stringify(prod().kubeconfigPath)}}`,
          'defaultCluster: staging-agent-cluster',
          '',
        ].join('\n'),
      );
      const r = await cli(['apply', '-o', 'json'], root);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const results = (JSON.parse(r.stdout) as { clusters: Record<string, ApplyJson> }).clusters;
      expect(Object.keys(results).sort()).toEqual(['prod-agent-cluster', 'staging-agent-cluster']);

      // Each cluster received exactly its share, object for object.
      const run = await runCompile({ paths: [], cwd: root });
      const placement = placeObjects({ resources: run.validation.set.resources, graphs: run.validation.graphs, references: run.validation.validation.references, output: run.output!, config: run.validation.project.config.config });
      for (const name of ['staging-agent-cluster', 'prod-agent-cluster']) {
        const share = shareOf(placement, name)!.objects.map((o) => objectKey(o.object)).sort();
        expect(results[name]?.objects.map((o) => refKey(o.ref)).sort(), name).toEqual(share);
        expect(results[name]?.complete).toBe(true);
      }

      const s = staging().kubeconfig;
      const p = prod().kubeconfig;
      expect(await exists(s, workload('support-platform', 'support-triage-staging'))).toBe(true);
      expect(await exists(s, cronJob('finance-ops', 'billing-reconcile-nightly'))).toBe(true);
      expect(await exists(s, workload('support-platform', 'support-triage-prod'))).toBe(false);
      expect(await exists(p, workload('support-platform', 'support-triage-prod'))).toBe(true);
      expect(await exists(p, workload('finance-ops', 'billing-agent-prod'))).toBe(true);
      expect(await exists(p, workload('support-platform', 'support-triage-staging'))).toBe(false);
      expect(await exists(p, cronJob('finance-ops', 'billing-reconcile-nightly'))).toBe(false);
      for (const kc of [s, p]) expect(await exists(kc, workload('research', 'market-researcher-dev'))).toBe(false);
      // support-escalation runs only in prod: its identity is not in staging.
      expect(await exists(p, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: 'support-platform', name: 'support-escalation' } })).toBe(true);
      expect(await exists(s, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: 'support-platform', name: 'support-escalation' } })).toBe(false);

      // Nothing left to do in either.
      const again = await cli(['diff'], root);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('cluster prod-agent-cluster:');
      expect(again.stdout).toContain('cluster staging-agent-cluster:');
    });

    it('applying to the cluster dev names, which joch.yaml does not map, is an error at the Environment', async () => {
      const root = repoOf('fleet', `clusters:\n  staging-agent-cluster: {kubeconfig: ${JSON.stringify(staging().kubeconfigPath)}}\n`);
      const r = await cli(['apply', '--cluster', 'dev-agent-cluster'], root);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('platform/environments.yaml:12:14 error JOCH005 Environment dev runs on cluster dev-agent-cluster, which joch.yaml clusters does not map');
      expect(r.stderr).toContain('nothing was sent to the cluster');
    });

    it('the two-cluster example replaces the fleet: each cluster prunes only its own, and a prune in one leaves the other untouched', async () => {
      const clusters = [
        'clusters:',
        `  staging-eu: {kubeconfig: ${JSON.stringify(staging().kubeconfigPath)}}`,
        `  prod-eu: {kubeconfig: ${JSON.stringify(prod().kubeconfigPath)}}`,
        'defaultCluster: staging-eu',
        '',
      ].join('\n');
      const root = repoOf('two-clusters', clusters);
      const s = staging().kubeconfig;
      const p = prod().kubeconfig;
      const r = await cli(['apply', '--allow-mass-prune', '-o', 'json'], root);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const results = (JSON.parse(r.stdout) as { clusters: Record<string, ApplyJson> }).clusters;
      // The fleet's workloads left each cluster through its own inventory.
      const deleted = (c: string) => results[c]!.pruned.filter((x) => x.outcome === 'deleted' && x.ref.kind === 'Deployment').map((x) => x.ref.name).sort();
      expect(deleted('staging-eu')).toEqual(expect.arrayContaining(['billing-agent-staging', 'market-researcher-staging', 'support-triage-staging']));
      expect(deleted('staging-eu')).not.toContain('support-triage-prod');
      expect(deleted('prod-eu')).toEqual(expect.arrayContaining(['billing-agent-prod', 'support-escalation-prod', 'support-triage-prod']));
      expect(deleted('prod-eu')).not.toContain('support-triage-staging');
      expect(await exists(s, workload('support', 'support-triage-staging'))).toBe(true);
      expect(await exists(p, workload('support', 'support-triage-prod'))).toBe(true);
      expect(await exists(p, workload('support', 'support-digest-prod'))).toBe(true);
      expect(await exists(s, workload('support', 'support-digest-prod'))).toBe(false);

      // support-digest leaves the repository. Applying only to staging changes nothing anywhere:
      // it never ran there, and prod is not touched until it is applied to.
      const file = path.join(root, 'support.yaml');
      const docs = readFileSync(file, 'utf8').split('\n---\n');
      writeFileSync(file, docs.filter((d) => !/name: support-digest(-prod)?\n/.test(d)).join('\n---\n'));
      const onlyStaging = await cli(['apply', '--cluster', 'staging-eu', '-o', 'json'], root);
      expect(onlyStaging.code).toBe(0);
      // (The fleet's namespaces stay Terminating without a namespace controller, so they are pruned again.)
      expect((JSON.parse(onlyStaging.stdout) as ApplyJson).pruned.filter((x) => x.outcome === 'deleted' && x.ref.kind !== 'Namespace')).toEqual([]);
      expect(await exists(p, workload('support', 'support-digest-prod'))).toBe(true);

      const onlyProd = await cli(['apply', '--cluster', 'prod-eu', '-o', 'json'], root);
      expect(onlyProd.code).toBe(0);
      const pruned = (JSON.parse(onlyProd.stdout) as ApplyJson).pruned.filter((x) => x.outcome === 'deleted').map((x) => `${x.ref.kind} ${x.ref.name}`);
      expect(pruned).toEqual(expect.arrayContaining(['Deployment support-digest-prod', 'ServiceAccount support-digest', 'Agent support-digest']));
      expect(await exists(p, workload('support', 'support-digest-prod'))).toBe(false);
      expect(await exists(p, workload('support', 'support-triage-prod'))).toBe(true);
      expect(await exists(s, workload('support', 'support-triage-staging'))).toBe(true);
      rmSync(root, { recursive: true, force: true });
    });

    it('apply with one cluster down: the other gets its share, the outage is reported, the exit code is 1', async () => {
      const down = await kubeconfigVia(prod(), await closedPort(), tmpRepo().root, 'down.kubeconfig');
      const root = repoOf('two-clusters', twoClusterConfig(staging().kubeconfigPath, down).replace(/^[\s\S]*?\nclusters:/, 'clusters:'));
      const file = path.join(root, 'support.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('support-triage:1.4.0', 'support-triage:1.6.0'));
      const r = await cli(['apply'], root);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('cluster staging-eu:');
      expect(r.stderr).toMatch(/cluster prod-eu: .*(unreachable|connect|ECONNREFUSED)/i);
      const agent = await readLive(staging().kubeconfig, { apiVersion: 'joch.dev/v1alpha1', kind: 'Agent', metadata: { namespace: 'support', name: 'support-triage' } });
      expect((agent?.['spec'] as { framework?: { image?: string } } | undefined)?.framework?.image).toBe('ghcr.io/example/support-triage:1.6.0');
    });

    it('examples/two-clusters as committed: its contexts come from the kubeconfig in use, which needs no current context', async () => {
      const entry = (name: string, c: TestCluster) => ({
        cluster: { name, cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') } },
        user: { name, user: { token: c.adminToken } },
        context: { name: `kind-joch-${name}`, context: { cluster: name, user: name } },
      });
      const both = [entry('staging', staging()), entry('prod', prod())];
      const file = path.join(tmpRepo().root, 'kubeconfig');
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: both.map((b) => b.cluster), users: both.map((b) => b.user), contexts: both.map((b) => b.context) }));
      const r = await cli(['diff', '--kubeconfig', file, 'examples/two-clusters'], ROOT);
      expect(r.stderr).toBe('');
      // The earlier tests left prod without support-digest and staging with another image: both differ.
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/cluster prod-eu:[\s\S]*support-digest-prod[\s\S]*cluster staging-eu:/);
    });

    it('two cluster names that reach one API server with one inventory are refused before anything is sent', async () => {
      const root = repoOf(
        'two-clusters',
        ['clusters:', `  staging-eu: {kubeconfig: ${JSON.stringify(staging().kubeconfigPath)}}`, `  prod-eu: {kubeconfig: ${JSON.stringify(staging().kubeconfigPath)}}`, 'defaultCluster: staging-eu', ''].join('\n'),
      );
      const r = await cli(['apply'], root);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('clusters prod-eu and staging-eu reach the same API server with the same inventory joch-system/joch-inventory');
      expect(await exists(staging().kubeconfig, workload('support', 'support-triage-prod'))).toBe(false);
    });
  },
  { testTimeoutMs: 180_000 },
);

describeCluster(
  'joch sync over two clusters',
  (first) => {
    let second: TestCluster | undefined;
    let git: GitHttpServer | undefined;
    let dir = '';
    const runtimes: Awaited<ReturnType<typeof syncRuntime>>[] = [];
    const prod = () => {
      if (!second) throw new Error('the second cluster did not start');
      return second;
    };
    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'joch-multi-sync-'));
      git = await startGitHttpServer({ root: dir });
      second = await startTestCluster();
    }, 120_000);
    afterEach(async () => {
      for (const r of runtimes.splice(0)) await r.shutdown(5_000);
    });
    afterAll(async () => {
      await git?.close();
      await second?.stop();
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    /** A served repository holding examples/two-clusters with these kubeconfig files in joch.yaml. */
    async function servedRepo(name: string, staging: string, prodKubeconfig: string): Promise<RepoFixture> {
      const repo = await RepoFixture.create(dir, name);
      for (const f of readdirSync(path.join(ROOT, 'examples/two-clusters'))) cpSync(path.join(ROOT, 'examples/two-clusters', f), path.join(repo.work, f));
      await repo.write({ 'joch.yaml': twoClusterConfig(staging, prodKubeconfig) });
      await repo.commit('two clusters');
      await repo.push('HEAD:refs/heads/main');
      return repo;
    }

    async function start(repo: RepoFixture, flags: Parameters<typeof syncRuntime>[0]) {
      const runtime = await syncRuntime({ repo: git!.url(repo.name), 'cache-dir': path.join(dir, `cache-${repo.name}-${runtimes.length}`), interval: '1h', target: 'cluster', ...flags }, dir);
      runtimes.push(runtime);
      return runtime;
    }

    it('with one cluster down, applies the other and reports the outage in the status commit and the metrics; then converges both', async () => {
      const down = await kubeconfigVia(prod(), await closedPort(), dir, 'prod-down.kubeconfig');
      const repo = await servedRepo('outage.git', first().kubeconfigPath, down);
      const sync = await start(repo, { kubeconfig: first().kubeconfigPath, 'metrics-port': '0' });

      const r1 = await sync.reconciler.runCycle();
      expect(r1.result).toBe('failed');
      expect(r1.errors.map((e) => e.message).join('\n')).toContain('cluster prod-eu:');
      // Staging got its share all the same.
      expect(await exists(first().kubeconfig, workload('support', 'support-triage-staging'))).toBe(true);
      expect(await exists(prod().kubeconfig, workload('support', 'support-triage-prod'))).toBe(false);
      const summary = parse(await show(repo, 'joch/status:summary.yaml')) as SummaryYaml;
      expect(summary.phase).toBe('Failed');
      expect(summary.clusters?.['staging-eu']?.phase).toBe('Synced');
      expect(summary.clusters?.['prod-eu']?.phase).toBe('Unreachable');
      const metrics = await sync.metrics.text();
      expect(metrics).toContain('joch_cluster_synced{cluster="staging-eu"} 1');
      expect(metrics).toContain('joch_cluster_synced{cluster="prod-eu"} 0');

      // The cluster comes back (its kubeconfig is fixed in Git): the next cycle applies its share, and says so.
      await repo.commitAndPush({ 'joch.yaml': twoClusterConfig(first().kubeconfigPath, prod().kubeconfigPath) }, 'prod is reachable again');
      const r2 = await sync.reconciler.runCycle();
      expect(r2.result, JSON.stringify(r2.errors)).toBe('applied');
      expect(await exists(prod().kubeconfig, workload('support', 'support-triage-prod'))).toBe(true);
      expect(await exists(prod().kubeconfig, workload('support', 'support-triage-staging'))).toBe(false);
      const after = parse(await show(repo, 'joch/status:summary.yaml')) as SummaryYaml;
      // Progressing: the workloads never become ready without a controller manager; nothing failed.
      expect(['Synced', 'Progressing']).toContain(after.phase);
      expect(Object.fromEntries(Object.entries(after.clusters ?? {}).map(([k, v]) => [k, v.phase]))).toEqual({ 'prod-eu': 'Synced', 'staging-eu': 'Synced' });
      // The status of a custom resource is written in the cluster that holds it, and so are its Events.
      const cr = await getObject(prod().kubeconfig, 'ops.joch.dev/v1alpha1', 'Deployment', 'support', 'support-triage-prod');
      expect((cr?.status as { phase?: string } | undefined)?.phase).toBeDefined();
      const events = async (kc: KubeConfig) =>
        (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'support', fieldSelector: 'involvedObject.name=support-triage-prod' })).items.map((e) => e.reason);
      expect(await events(prod().kubeconfig)).toContain('Applied');
      expect(await events(first().kubeconfig)).toEqual([]);
    });

    it('prod reached through a kubeconfig Secret in the home cluster; a missing Secret, a missing key or garbage fail prod only, naming the Secret and never its content', async () => {
      const home = first().kubeconfig;
      const core = home.makeApiClient(CoreV1Api);
      await ensureNamespace(home, 'joch-clusters');
      const kubeconfigText = readFileSync(prod().kubeconfigPath, 'utf8');
      const marker = 'garbage-token-7f3a9c';
      const secret = (name: string, data: Record<string, string>) =>
        core.createNamespacedSecret({ namespace: 'joch-clusters', body: { metadata: { name }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } });
      await secret('prod-kubeconfig', { kubeconfig: kubeconfigText });
      // YAML that does not parse, with a token on the line before the error: a parser message would quote it.
      await secret('prod-garbage', { kubeconfig: `token: ${marker}\nclusters: {{{ [` });
      const withRef = (ref: string) => twoClusterConfig(first().kubeconfigPath, 'unused').replace(/ {2}prod-eu: .*\n/, `  prod-eu: {secretRef: ${ref}}\n`);
      const repo = await servedRepo('secret-ref.git', first().kubeconfigPath, 'unused');
      await repo.commitAndPush({ 'joch.yaml': withRef('{namespace: joch-clusters, name: prod-kubeconfig}') }, 'prod through a Secret');
      const sync = await start(repo, { kubeconfig: first().kubeconfigPath });

      const r1 = await sync.reconciler.runCycle();
      expect(r1.result, JSON.stringify(r1.errors)).toBe('applied');
      expect(await exists(prod().kubeconfig, workload('support', 'support-triage-prod'))).toBe(true);
      expect(await exists(prod().kubeconfig, workload('support', 'support-triage-staging'))).toBe(false);
      expect(await exists(home, workload('support', 'support-triage-staging'))).toBe(true);
      expect(await exists(home, workload('support', 'support-triage-prod'))).toBe(false);
      const synced = parse(await show(repo, 'joch/status:summary.yaml')) as SummaryYaml;
      expect(synced.clusters?.['prod-eu']?.phase).toBe('Synced');

      const image = async () => ((await getObject(home, 'joch.dev/v1alpha1', 'Agent', 'support', 'support-triage'))?.spec as { framework?: { image?: string } } | undefined)?.framework?.image;
      const broken: [string, RegExp][] = [
        ['{namespace: joch-clusters, name: prod-missing}', /no Secret joch-clusters\/prod-missing\b/],
        ['{namespace: joch-clusters, name: prod-kubeconfig, key: config}', /the Secret joch-clusters\/prod-kubeconfig has no key config/],
        ['{namespace: joch-clusters, name: prod-garbage}', /the Secret joch-clusters\/prod-garbage key kubeconfig does not hold a kubeconfig/],
      ];
      let tag = '1.4.0';
      for (const [i, [ref, expected]] of broken.entries()) {
        // Each broken revision also moves support-triage to a new image: staging still gets it.
        const next = `1.7.${i}`;
        const support = readFileSync(path.join(repo.work, 'support.yaml'), 'utf8').replace(`support-triage:${tag}`, `support-triage:${next}`);
        tag = next;
        await repo.commitAndPush({ 'joch.yaml': withRef(ref), 'support.yaml': support }, `prod through ${ref}`);
        const r = await sync.reconciler.runCycle();
        expect(r.result, ref).toBe('failed');
        expect(await image()).toBe(`ghcr.io/example/support-triage:${tag}`);
        const summary = parse(await show(repo, 'joch/status:summary.yaml')) as SummaryYaml;
        expect(summary.clusters?.['staging-eu']?.phase, ref).toBe('Synced');
        expect(summary.clusters?.['prod-eu']?.phase, ref).toBe('Unreachable');
        expect(summary.clusters?.['prod-eu']?.message, ref).toMatch(expected);
        expect(summary.clusters?.['prod-eu']?.message, ref).not.toMatch(/^cluster prod-eu:/);
        expect(r.errors.map((e) => e.message).join('\n'), ref).toMatch(expected);
      }

      // The CLI reads the Secret through the kubeconfig in use, as sync reads it through its own cluster.
      await repo.commitAndPush({ 'joch.yaml': withRef('{namespace: joch-clusters, name: prod-kubeconfig}') }, 'prod through a Secret again');
      const diff = await cli(['diff', '--kubeconfig', first().kubeconfigPath], repo.work);
      expect(diff.stderr).toBe('');
      expect(diff.stdout).toContain('cluster prod-eu:');
      const garbage = await cli(['diff', '--kubeconfig', first().kubeconfigPath, '--cluster', 'prod-eu'], repoWith(repo.work, withRef('{namespace: joch-clusters, name: prod-garbage}')));
      expect(garbage.code).not.toBe(0);
      expect(garbage.stderr).toMatch(/cluster prod-eu: the Secret joch-clusters\/prod-garbage key kubeconfig does not hold a kubeconfig/);

      // The Secret is read every cycle: its kubeconfig changed in place (here to a server that is down) takes effect without a change in Git, and so does putting it back.
      const rotate = async (text: string, next: string) => {
        await core.replaceNamespacedSecret({ namespace: 'joch-clusters', name: 'prod-kubeconfig', body: { metadata: { name: 'prod-kubeconfig' }, data: { kubeconfig: Buffer.from(text).toString('base64') } } });
        const support = readFileSync(path.join(repo.work, 'support.yaml'), 'utf8').replace(`support-triage:${tag}`, `support-triage:${next}`);
        tag = next;
        await repo.commitAndPush({ 'support.yaml': support }, `support-triage ${next}`);
        return sync.reconciler.runCycle();
      };
      const prodPhase = async () => (parse(await show(repo, 'joch/status:summary.yaml')) as SummaryYaml).clusters?.['prod-eu']?.phase;
      const moved = await rotate(readFileSync(await kubeconfigVia(prod(), await closedPort(), dir, 'rotated.kubeconfig'), 'utf8'), '1.8.0');
      expect(moved.result).toBe('failed');
      expect(await prodPhase()).toBe('Unreachable');
      expect(await image()).toBe('ghcr.io/example/support-triage:1.8.0');
      const back = await rotate(kubeconfigText, '1.8.1');
      expect(back.result, JSON.stringify(back.errors)).toBe('applied');
      expect(await prodPhase()).toBe('Synced');
      const prodImage = (await getObject(prod().kubeconfig, 'joch.dev/v1alpha1', 'Agent', 'support', 'support-triage'))?.spec as { framework?: { image?: string } } | undefined;
      expect(prodImage?.framework?.image).toBe('ghcr.io/example/support-triage:1.8.1');

      // Neither the token of prod's kubeconfig nor the garbage ever shows: not in logs, output or the status branch.
      const statusHistory = await repo.served(['log', '-p', 'joch/status']);
      const seen = [JSON.stringify(sync.logs.lines), statusHistory, diff.stdout, diff.stderr, garbage.stdout, garbage.stderr, JSON.stringify(r1.errors)].join('\n');
      expect(statusHistory).toContain('prod-eu');
      expect(sync.logs.lines.map((l) => String(l['msg'])).filter((m) => m.includes('cluster prod-eu: cluster prod-eu:'))).toEqual([]);
      for (const content of [prod().adminToken, marker, Buffer.from(kubeconfigText).toString('base64').slice(0, 40)]) expect(seen).not.toContain(content);
    });

    it("a Role granting get on the Secret by name is all the home cluster's identity needs; any other Secret is refused by name", async () => {
      const home = first().kubeconfig;
      await ensureNamespace(home, 'joch-kubeconfigs');
      const data = { kubeconfig: Buffer.from(readFileSync(prod().kubeconfigPath, 'utf8')).toString('base64') };
      for (const name of ['prod-allowed', 'prod-other']) await home.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace: 'joch-kubeconfigs', body: { metadata: { name }, data } });
      const reader = await first().serviceAccountIdentity('joch-kubeconfigs', 'joch-sync');
      const rbac = home.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: 'joch-kubeconfigs',
        body: { metadata: { name: 'joch-cluster-kubeconfigs' }, rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['prod-allowed'], verbs: ['get'] }] },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: 'joch-kubeconfigs',
        body: {
          metadata: { name: 'joch-cluster-kubeconfigs' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'joch-cluster-kubeconfigs' },
          subjects: [{ kind: 'ServiceAccount', namespace: 'joch-kubeconfigs', name: 'joch-sync' }],
        },
      });
      const config = (secret: string) =>
        twoClusterConfig(first().kubeconfigPath, 'unused').replace(/ {2}prod-eu: .*\n/, `  prod-eu: {secretRef: {namespace: joch-kubeconfigs, name: ${secret}}}\n`).replace(/^[\s\S]*?\nclusters:/, 'clusters:');
      const allowed = await cli(['diff', '--kubeconfig', reader.kubeconfigPath, '--cluster', 'prod-eu'], repoOf('two-clusters', config('prod-allowed')));
      expect(allowed.stderr).toBe('');
      // 0 or 1: the diff was computed against prod (whether earlier tests left it in sync is theirs to say).
      expect([0, 1]).toContain(allowed.code);
      expect(allowed.stdout).toContain('ApplySet');
      const other = await cli(['diff', '--kubeconfig', reader.kubeconfigPath, '--cluster', 'prod-eu'], repoOf('two-clusters', config('prod-other')));
      expect(other.code).not.toBe(0);
      expect(other.stderr).toContain('cluster prod-eu: may not get the Secret joch-kubeconfigs/prod-other: grant joch get on that Secret by name');
      expect(`${allowed.stdout}${other.stdout}${other.stderr}`).not.toContain(prod().adminToken);
    });

    it('a shard (--cluster) applies only its cluster, under its own Lease and status branch', async () => {
      const repo = await servedRepo('shard.git', first().kubeconfigPath, prod().kubeconfigPath);
      const shard = await start(repo, { kubeconfig: prod().kubeconfigPath, cluster: ['prod-eu'], 'leader-elect': true, identity: 'prod-replica' });
      expect(shard.info.statusBranch).toBe('joch/status-prod-eu');
      await ensureNamespace(prod().kubeconfig, 'joch-system');
      shard.leader?.start();
      await shard.leader?.whenLeading();
      // A new image for support-triage: the prod shard applies it to prod only.
      const file = path.join(repo.work, 'support.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('support-triage:1.4.0', 'support-triage:1.5.0'));
      await repo.commit('support-triage 1.5.0');
      await repo.push('HEAD:refs/heads/main');
      const image = async (kc: KubeConfig) => ((await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'support', 'support-triage'))?.spec as { framework?: { image?: string } } | undefined)?.framework?.image;
      const before = await image(first().kubeconfig);
      const r = await shard.reconciler.runCycle();
      expect(r.result, JSON.stringify(r.errors)).toBe('applied');
      expect(await image(prod().kubeconfig)).toBe('ghcr.io/example/support-triage:1.5.0');
      expect(await image(first().kubeconfig)).toBe(before);
      const summary = parse(await show(repo, 'joch/status-prod-eu:summary.yaml')) as SummaryYaml;
      expect(Object.keys(summary.clusters ?? {})).toEqual(['prod-eu']);
      const lease = await getObject(prod().kubeconfig, 'coordination.k8s.io/v1', 'Lease', 'joch-system', 'joch-sync-prod-eu');
      expect((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity).toBe('prod-replica');
    });
  },
  { testTimeoutMs: 180_000 },
);
