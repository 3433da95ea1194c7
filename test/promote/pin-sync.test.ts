/**
 * `joch sync` honours a promotion's pin: served by a real Git smart-HTTP
 * server, the sync loop's shallow cache fetches the pinned commit's history
 * to compile the promoted version, renders prod on it while staging follows
 * main, and refuses a revision whose pin names a commit the remote lacks.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startGitHttpServer, RepoFixture, type GitHttpServer } from '../support/git-http-server.js';
import { cli } from '../support/repo.js';
import { show, syncRuntime } from '../reconcile/support/fleet.js';
import { commitAll, FLEET, git, passGates } from './fixtures.js';

let root: string;
let server: GitHttpServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-pin-sync-'));
  server = await startGitHttpServer({ root });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

interface Rendered {
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template?: { metadata: { annotations: Record<string, string> }; spec: { volumes: { name: string; configMap?: { name: string } }[] } } };
}

const rendered = async (repo: RepoFixture, file: string): Promise<Rendered> => parse(await show(repo, `joch/rendered:${file}`)) as Rendered;
const volume = (d: Rendered) => d.spec?.template?.spec.volumes.find((v) => v.name === 'manifest')?.configMap?.name;
const hash = (d: Rendered) => d.spec?.template?.metadata.annotations['joch.dev/manifest-hash'];

describe('joch sync with a pinned Deployment', () => {
  it('renders prod on the promoted version from a shallow cache, staging on main, and refuses a pin the remote cannot serve', async () => {
    const repo = await RepoFixture.create(root, 'pinned.git');
    cpSync(FLEET, repo.work, { recursive: true });
    commitAll(repo.work, 'fleet');
    const args = ['promote', 'agent/support-triage', '--from', 'staging', '--to', 'prod', '-o', 'json'];
    const version = (JSON.parse((await cli(args, repo.work)).stdout) as { version: string }).version;
    passGates(repo.work, version);
    const promoted = JSON.parse((await cli(args, repo.work)).stdout) as { branch: string };
    git(repo.work, ['merge', '-q', '--ff-only', promoted.branch]);
    const agent = path.join(repo.work, 'support-platform/agents/support-triage.yaml');
    writeFileSync(agent, readFileSync(agent, 'utf8').replace('displayName: Support Triage', 'displayName: Support Triage (new tone)'));
    commitAll(repo.work, 'support-triage: new tone');
    await repo.push('HEAD:refs/heads/main');

    const flags = { repo: server.url(repo.name), 'cache-dir': path.join(root, 'cache'), target: 'git', interval: '1h', 'drift-interval': '1h' };
    const sync = await syncRuntime(flags, root);
    const cycle = await sync.reconciler.runCycle();
    expect(cycle).toMatchObject({ result: 'applied', errors: [] });

    const objects = (await repo.served(['ls-tree', '-r', '--name-only', 'joch/rendered'])).split('\n');
    const dir = 'objects/support-platform';
    const prod = await rendered(repo, `${dir}/deployment.apps/support-triage-prod.yaml`);
    const staging = await rendered(repo, `${dir}/deployment.apps/support-triage-staging.yaml`);
    const pinnedName = `support-triage-manifest-${version.slice(7, 19)}`;
    expect([hash(prod), volume(prod)]).toEqual([version, pinnedName]);
    expect(hash(staging)).not.toBe(version);
    expect(volume(staging)).toBe('support-triage-manifest');
    const pinnedFile = objects.find((f) => f.endsWith(`/${pinnedName}.yaml`));
    expect(pinnedFile).toBeDefined();
    const pinned = await rendered(repo, pinnedFile as string);
    expect(pinned.data?.['manifest.json']).toContain(`"joch.dev/manifest-hash": "${version}"`);
    expect(pinned.data?.['manifest.json']).not.toContain('new tone');

    // A pin naming a commit the remote does not have: refused at the annotation, prod left as it was.
    const deployments = path.join(repo.work, 'support-platform/deployments.yaml');
    writeFileSync(deployments, readFileSync(deployments, 'utf8').replace(/joch\.dev\/source-revision: "?[0-9a-f]{40}"?/, `joch.dev/source-revision: "${'1'.repeat(40)}"`));
    commitAll(repo.work, 'a pin whose commit the remote lacks');
    await repo.push('HEAD:refs/heads/main');
    const refused = await sync.reconciler.runCycle();
    expect(refused.result).toBe('refused');
    expect(refused.errors.map((e) => `${e.code} ${e.file}`)).toEqual(['JOCH726 support-platform/deployments.yaml']);
    expect(refused.errors[0]?.message).toContain('111111111111');
    expect(hash(await rendered(repo, `${dir}/deployment.apps/support-triage-prod.yaml`))).toBe(version);
  });
});
