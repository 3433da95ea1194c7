/**
 * `joch diff` and `joch apply` as a user runs them, against a real
 * kube-apiserver: the example fleet compiled, planned, applied, re-planned;
 * Joch custom resources get their status; a repository with errors is never
 * sent to the cluster.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { describeCluster } from '../cluster/require-cluster.js';

const FLEET = new URL('../../examples/fleet/', import.meta.url).pathname;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function joch(argv: string[], cwd: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), isTTY: false });
  return { code, stdout, stderr };
}

describeCluster(
  'joch diff and joch apply',
  (cluster) => {
    let repo: string;
    const kc = () => ['--kubeconfig', cluster().kubeconfigPath];

    beforeAll(async () => {
      repo = mkdtempSync(path.join(tmpdir(), 'joch-cli-cluster-'));
      cpSync(FLEET, repo, { recursive: true });
      await cluster().kubeconfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'joch-system' } } });
    });
    afterAll(() => rmSync(repo, { recursive: true, force: true }));

    it('diff on an empty cluster lists every object to create and exits 1', async () => {
      const r = await joch(['diff', '.', ...kc()], repo);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/\+ apiextensions\.k8s\.io\/v1 CustomResourceDefinition agents\.joch\.dev/);
      expect(r.stdout).toMatch(/\+ joch\.dev\/v1alpha1 Agent support-platform\/support-triage/);
    });

    it('apply creates everything and writes the status of each Joch resource; diff then exits 0', async () => {
      const applied = await joch(['apply', '.', ...kc()], repo);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);

      const agent = (await cluster()
        .kubeconfig.makeApiClient(CustomObjectsApi)
        .getNamespacedCustomObject({ group: 'joch.dev', version: 'v1alpha1', namespace: 'support-platform', plural: 'agents', name: 'support-triage' })) as {
        status?: { phase?: string; compiledHash?: string; sourceRevision?: string; conditions?: { type: string; status: string }[] };
      };
      expect(agent.status?.phase).toBeDefined();
      expect(agent.status?.compiledHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(agent.status?.sourceRevision).toBe('working-tree');
      expect(agent.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Applied', status: 'True' }));

      const again = await joch(['diff', '.', ...kc(), '--format', 'json'], repo);
      expect(again.code).toBe(0);
      const plan = JSON.parse(again.stdout) as { summary: { create: number; update: number; delete: number; unchanged: number } };
      expect(plan.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
      expect(plan.summary.unchanged).toBeGreaterThan(100);
    });

    it('shows a change to one agent as an update of its objects', async () => {
      const file = path.join(repo, 'support-platform/agents/support-escalation.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace('image: ghcr.io/example/support-escalation:2.1.0', 'image: ghcr.io/example/support-escalation:2.2.0'));
      try {
        const r = await joch(['diff', '.', ...kc()], repo);
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/~ apps\/v1 Deployment support-platform\/support-escalation-prod/);
        expect(r.stdout).toContain('support-escalation:2.2.0');
        expect(r.stdout).not.toMatch(/^\+ /m);
      } finally {
        writeFileSync(file, before);
      }
    });

    it('sends nothing when the repository has errors, and says where they are', async () => {
      const file = path.join(repo, 'support-platform/agents/support-triage.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace('- name: zendesk.search', '- name: zendesk.serch'));
      try {
        const diff = await joch(['diff', '.', ...kc()], repo);
        expect(diff.code).toBe(2);
        const apply = await joch(['apply', '.', ...kc()], repo);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain('support-platform/agents/support-triage.yaml:');
        expect(apply.stderr).toContain('JOCH501');
        expect(apply.stderr).toContain('nothing was sent to the cluster');
      } finally {
        writeFileSync(file, before);
      }
    });

    it('get lists the custom resources in the cluster, and -o name and -o json read them too', async () => {
      const table = await joch(['get', 'agents', '-A', ...kc()], repo);
      expect(table.stderr).toBe('');
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+SOURCE$/);
      expect(table.stdout).toMatch(/^support-platform\s+support-triage\s+https:\/\/127\.0\.0\.1:\d+$/m);
      const names = await joch(['get', 'agent', '-n', 'support-platform', '-o', 'name', ...kc()], repo);
      expect(names.stdout.split('\n')).toContain('agent/support-triage');
      expect(names.stdout).not.toMatch(/research/);
      const one = await joch(['get', 'jagent', 'support-triage', '-n', 'support-platform', '-o', 'json', ...kc()], repo);
      const body = JSON.parse(one.stdout) as { kind: string; metadata: { name: string }; status?: { conditions?: unknown[] } };
      expect(body.kind).toBe('Agent');
      expect(body.metadata.name).toBe('support-triage');
      // The cluster's copy, with the status apply wrote: not the repository's document.
      expect(body.status?.conditions?.length).toBeGreaterThan(0);
    });

    it('describe shows the custom resource in the cluster with the status apply wrote', async () => {
      const r = await joch(['describe', 'agent/support-triage', '-n', 'support-platform', ...kc()], repo);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Name:\s+support-triage\nNamespace:\s+support-platform\nKind:\s+Agent\n/);
      expect(r.stdout).toMatch(/^Source:\s+https:\/\/127\.0\.0\.1:\d+$/m);
      expect(r.stdout).toMatch(/^Status:\n( {2}.*\n)* {2}compiledHash: sha256:[0-9a-f]{64}$/m);
      const missing = await joch(['describe', 'agent/nobody', '-n', 'support-platform', ...kc()], repo);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^joch describe: Agent "nobody" not found in the cluster in namespace support-platform;/);
    });

    it('version prints the server version given a cluster', async () => {
      const r = await joch(['version', '-o', 'json', ...kc()], repo);
      expect(r.code).toBe(0);
      const v = JSON.parse(r.stdout) as { client: { version: string }; server: { version: string } };
      expect(v.server.version).toMatch(/^v1\.\d+\.\d+/);
    });
  },
  { testTimeoutMs: 120_000 },
);

it('joch diff with a kubeconfig that does not exist is a usage error', async () => {
  const r = await joch(['diff', FLEET, '--kubeconfig', path.join(tmpdir(), 'joch-no-such-kubeconfig')], process.cwd());
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^joch diff: no such kubeconfig: .*joch-no-such-kubeconfig; see `joch diff --help`\n$/);
});
