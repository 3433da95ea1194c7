/**
 * `joch sync` as a real process against the real Git server and API server:
 * killed with SIGKILL in the middle of an apply and restarted, it converges;
 * stopped with SIGTERM in the middle of an apply, it lets the apply finish,
 * then exits 0.
 */
import { cpSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { applySetId, defaultApplySetParent } from '../../src/model/applyset.js';
import { describeCluster } from '../cluster/require-cluster.js';
import { startGitHttpServer, type GitHttpServer, type RepoFixture } from '../support/git-http-server.js';
import { ensureNamespace, getObject, liveMembers } from './support/cluster.js';
import { desiredNames, eventually, fleetRepo } from './support/fleet.js';
import { kill, spawnJoch } from './support/process.js';

let root: string;
let git: GitHttpServer;
let n = 0;
const ID = applySetId(defaultApplySetParent());

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-proc-'));
  git = await startGitHttpServer({ root });
});

afterAll(async () => {
  await git?.close();
  await rm(root, { recursive: true, force: true });
});

/** Replaces the fleet in the working copy by a generated one of `agents` agents with image tags `tag`; commits and pushes. */
async function growFleet(repo: RepoFixture, agents: number, tag: string): Promise<string> {
  const dir = path.join(root, `gen-${++n}`);
  generateFleet(dir, agents);
  cpSync(dir, repo.work, { recursive: true });
  const { readFile, writeFile } = await import('node:fs/promises');
  for (let i = 0; i < agents; i++) {
    const file = path.join(repo.work, `team-${String(Math.floor(i / 50)).padStart(3, '0')}/agents/agent-${String(i).padStart(5, '0')}.yaml`);
    await writeFile(file, (await readFile(file, 'utf8')).replace(/(image: ghcr\.io\/example\/agent-\d+:)\S+/, `$1${tag}`));
  }
  const commit = await repo.commit(`fleet of ${agents} at ${tag}`);
  await repo.push('HEAD:refs/heads/main');
  return commit;
}

describeCluster(
  'joch sync processes',
  (cluster) => {
    it('killed with SIGKILL mid-apply and restarted, converges', async () => {
      const kc = cluster().kubeconfig;
      await ensureNamespace(kc, 'joch-system');
      const { repo } = await fleetRepo(root, `kill-${++n}.git`, 1);
      await growFleet(repo, 60, '2.0.0');
      const args = ['sync', '--repo', git.url(repo.name), '--kubeconfig', cluster().kubeconfigPath, '--cache-dir', path.join(root, `cache-${n}`), '--interval', '1h'];
      const first = spawnJoch(args);
      // Mid-apply: some objects of the revision are in the cluster, the process has not finished its cycle.
      await eventually('the first agents to land', () => getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00003'), 60_000);
      expect(first.saw('applied')).toBe(false);
      await kill(first, 'SIGKILL');

      const again = spawnJoch([...args, '--once']);
      const { code } = await again.exited;
      expect(code, again.stderr()).toBe(0);
      expect(await liveMembers(kc, ID)).toEqual(await desiredNames(repo));
      expect((await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-001', 'agent-00059'))?.spec).toMatchObject({ framework: { image: 'ghcr.io/example/agent-00059:2.0.0' } });
    }, 90_000);

    it('on SIGTERM mid-apply, lets the apply finish, then exits 0', async () => {
      const kc = cluster().kubeconfig;
      const { repo } = await fleetRepo(root, `term-${++n}.git`, 1);
      await growFleet(repo, 60, '3.0.0');
      const p = spawnJoch(['sync', '--repo', git.url(repo.name), '--kubeconfig', cluster().kubeconfigPath, '--cache-dir', path.join(root, `cache-${n}`), '--interval', '1h', '--shutdown-grace', '60s']);
      await eventually(
        'the apply to start changing agents',
        async () => ((await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-000', 'agent-00001'))?.spec as { framework?: { image?: string } } | undefined)?.framework?.image?.endsWith(':3.0.0') || undefined,
        60_000,
      );
      expect(p.saw('applied')).toBe(false);
      p.child.kill('SIGTERM');
      const { code } = await p.exited;
      expect(code, p.stderr()).toBe(0);
      expect(p.saw('shutting down')).toBe(true);
      expect(p.saw('applied')).toBe(true); // the cycle in flight completed before the exit
      expect(await liveMembers(kc, ID)).toEqual(await desiredNames(repo));
      expect((await getObject(kc, 'joch.dev/v1alpha1', 'Agent', 'team-001', 'agent-00059'))?.spec).toMatchObject({ framework: { image: 'ghcr.io/example/agent-00059:3.0.0' } });
    }, 90_000);
  },
  { testTimeoutMs: 90_000 },
);
