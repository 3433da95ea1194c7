/**
 * The sync loop against a real Git smart-HTTP server (git http-backend),
 * with the rendered-manifests target on the same remote: new revisions are
 * rendered and get a status commit, bad revisions are refused with every
 * error and the last good revision kept, and the loop survives an
 * unreachable remote, a force-push and a deleted branch. Webhook triggers,
 * the status push race and suspend are here too. No cluster needed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { signGithubPayload, type SyncSummary } from '../../src/reconcile/index.js';
import { DEFAULT_BOT_IDENTITY } from '../../src/source/git.js';
import { startGitHttpServer, type GitHttpServer, type RepoFixture } from '../support/git-http-server.js';
import { agentFile, branchLog, bumpAgent, eventually, fleetRepo, show, syncRuntime } from './support/fleet.js';
import { startProxy } from './support/proxy.js';

let root: string;
let server: GitHttpServer;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'joch-sync-git-'));
  server = await startGitHttpServer({ root });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

type Summary = SyncSummary & { lastApplied?: { revision: string; at: string } };

async function summary(repo: RepoFixture): Promise<Summary> {
  return parse(await show(repo, 'joch/status:summary.yaml')) as Summary;
}

async function resources(repo: RepoFixture, ns: string): Promise<Record<string, Record<string, unknown>>> {
  return parse(await show(repo, `joch/status:resources/${ns}.yaml`)) as Record<string, Record<string, unknown>>;
}

async function tip(repo: RepoFixture, branch: string): Promise<string | undefined> {
  return (await branchLog(repo, branch))[0]?.oid;
}

function flags(url: string, extra: Record<string, string | boolean> = {}) {
  return { repo: url, 'cache-dir': path.join(root, `cache-${++n}`), target: 'git', interval: '1h', 'drift-interval': '1h', ...extra };
}

describe('joch sync against a real Git server (rendered manifests target)', () => {
  it('renders each new revision with a status commit; an unchanged revision commits nothing', async () => {
    const { repo, commit: first } = await fleetRepo(root, `loop-${++n}.git`, 3);
    const sync = await syncRuntime(flags(server.url(repo.name)), root);

    const r1 = await sync.reconciler.runCycle();
    expect(r1).toMatchObject({ result: 'applied', revision: first, ranPipeline: true, errors: [] });
    const rendered = (await repo.served(['ls-tree', '-r', '--name-only', 'joch/rendered'])).split('\n');
    expect(rendered).toContain('objects/team-000/deployment.apps/agent-00001-prod.yaml');
    expect(rendered.some((f) => f.startsWith('crds/'))).toBe(true);
    expect(rendered.some((f) => f.startsWith('manifests/team-000/'))).toBe(true);
    const s1 = await summary(repo);
    expect(s1).toMatchObject({ phase: 'Synced', observedRevision: first, lastApplied: { revision: first }, errors: [] });
    const statusCommits = await branchLog(repo, 'joch/status');
    expect(statusCommits).toHaveLength(1);
    expect(statusCommits[0]).toMatchObject({ author: DEFAULT_BOT_IDENTITY.email, subject: expect.stringContaining('[skip ci]') });
    // The manifests branch never gets a commit from the loop.
    expect((await branchLog(repo, 'main')).map((c) => c.oid)).toEqual([first]);
    const agents = await resources(repo, 'team-000');
    expect(agents['Agent/agent-00001']).toMatchObject({
      phase: 'Applied',
      sourceRevision: first,
      compiledHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      agbom: { generation: 1, files: ['agbom/team-000/agent-00001/1.cdx.json'] },
    });
    const bom = JSON.parse(await show(repo, 'joch/status:agbom/team-000/agent-00001/1.cdx.json')) as { bomFormat: string; version: number };
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', version: 1 });

    // Nothing changed: no pipeline, no commit anywhere.
    const r2 = await sync.reconciler.runCycle();
    expect(r2).toMatchObject({ result: 'unchanged', ranPipeline: false });
    expect(await branchLog(repo, 'joch/status')).toHaveLength(1);
    expect(await branchLog(repo, 'joch/rendered')).toHaveLength(1);

    // One agent changes: its objects and status move; the others keep their source revision.
    const second = await bumpAgent(repo, 1, '9.9.9');
    const r3 = await sync.reconciler.runCycle();
    expect(r3).toMatchObject({ result: 'applied', revision: second });
    expect(await show(repo, 'joch/rendered:objects/team-000/agent.joch.dev/agent-00001.yaml')).toContain('ghcr.io/example/agent-00001:9.9.9');
    const after = await resources(repo, 'team-000');
    expect(after['Agent/agent-00001']).toMatchObject({ sourceRevision: second, agbom: { generation: 2 } });
    expect(after['Agent/agent-00002']).toMatchObject({ sourceRevision: first, agbom: { generation: 1 } });
    expect(await branchLog(repo, 'joch/status')).toHaveLength(2);
  });

  it('refuses a revision with broken YAML and schema errors, reporting each with file and line, keeps the last good one, and recovers', async () => {
    const { repo, commit: good } = await fleetRepo(root, `refuse-${++n}.git`, 2);
    const sync = await syncRuntime(flags(server.url(repo.name)), root);
    expect((await sync.reconciler.runCycle()).result).toBe('applied');
    const renderedTip = await tip(repo, 'joch/rendered');

    await repo.write({
      [agentFile(0)]: 'apiVersion: joch.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: agent-00000\n  namespace: team-000\nspec: [unclosed\n',
      'team-000/tools/extra.yaml': 'apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: extra\n  namespace: team-000\nspec:\n  type: 42\n',
    });
    const bad = await repo.commit('break two files');
    await repo.push('HEAD:refs/heads/main');
    const r = await sync.reconciler.runCycle();
    expect(r).toMatchObject({ result: 'refused', revision: bad });
    // Every error at once: the two broken files, and the references the missing agent leaves dangling.
    const files = new Set(r.errors.map((e) => e.file));
    expect(files).toContain(agentFile(0));
    expect(files).toContain('team-000/tools/extra.yaml');
    expect(r.errors.find((e) => e.file === agentFile(0))?.line).toBeGreaterThanOrEqual(6); // the unclosed flow sequence
    for (const e of r.errors) expect(e.line).toBeGreaterThan(0);
    // Nothing was rendered; the status says what happened and what stays applied.
    expect(await tip(repo, 'joch/rendered')).toBe(renderedTip);
    const s = await summary(repo);
    expect(s).toMatchObject({ phase: 'Refused', observedRevision: bad, lastApplied: { revision: good } });
    expect(s.errors.map((e) => e.file)).toEqual(expect.arrayContaining([agentFile(0), 'team-000/tools/extra.yaml']));
    expect((await resources(repo, 'team-000'))['Agent/agent-00000']).toMatchObject({ phase: 'Failed', sourceRevision: good });
    // The same refused revision is not run again on every poll.
    expect(await sync.reconciler.runCycle()).toMatchObject({ result: 'refused', ranPipeline: false });

    await repo.write({ [agentFile(0)]: await show(repo, `${good}:${agentFile(0)}`), 'team-000/tools/extra.yaml': null });
    const fixed = await repo.commit('fix');
    await repo.push('HEAD:refs/heads/main');
    expect(await sync.reconciler.runCycle()).toMatchObject({ result: 'applied', revision: fixed });
    expect(await summary(repo)).toMatchObject({ phase: 'Synced', lastApplied: { revision: fixed }, errors: [] });
  });

  it('refuses a revision whose YAML alias refers to its own ancestor at the alias line, keeps the last good one and writes the status', async () => {
    const { repo, commit: good } = await fleetRepo(root, `alias-cycle-${++n}.git`, 2);
    const sync = await syncRuntime(flags(server.url(repo.name)), root);
    expect((await sync.reconciler.runCycle()).result).toBe('applied');
    const renderedTip = await tip(repo, 'joch/rendered');

    const file = 'team-000/tools/cycle.yaml';
    await repo.write({ [file]: 'apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: cycle\n  namespace: team-000\nspec: &c\n  type: http\n  self: *c\n' });
    const bad = await repo.commit('a tool whose spec contains itself');
    await repo.push('HEAD:refs/heads/main');
    const r = await sync.reconciler.runCycle();
    expect(r).toMatchObject({ result: 'refused', revision: bad });
    expect(r.errors).toContainEqual(expect.objectContaining({ code: 'JOCH103', file, line: 8 }));
    expect(sync.logs.lines.some((l) => /cycle crashed|Maximum call stack/.test(JSON.stringify(l)))).toBe(false);
    expect(await tip(repo, 'joch/rendered')).toBe(renderedTip);
    const s = await summary(repo);
    expect(s).toMatchObject({ phase: 'Refused', observedRevision: bad, lastApplied: { revision: good } });
    expect(s.errors).toContainEqual(expect.objectContaining({ code: 'JOCH103', file, line: 8 }));
  });

  it('refuses a revision with a credential in a record and a token as a file name; neither reaches the branches or the log', async () => {
    const { repo, commit: good } = await fleetRepo(root, `leak-${++n}.git`, 2);
    const sync = await syncRuntime(flags(server.url(repo.name)), root);
    expect((await sync.reconciler.runCycle()).result).toBe('applied');
    const token = `ghp_${'Ab12'.repeat(9)}`;
    const password = 'Zq8vL2pW9xR4';
    await repo.write({
      'team-000/tools/leak.yaml': `apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: leak\n  namespace: team-000\nspec:\n  type: http\n  password: [${password}]\n`,
      [`team-000/${token}.yaml`]: 'apiVersion: joch.dev/v1alpha1\nkind: Team\nmetadata:\n  name: leaked\n  namespace: team-000\nspec: {}\n',
    });
    const bad = await repo.commit('plant two credentials');
    await repo.push('HEAD:refs/heads/main');
    const r = await sync.reconciler.runCycle();
    expect(r).toMatchObject({ result: 'refused', revision: bad });
    expect(r.errors).toContainEqual(expect.objectContaining({ code: 'JOCH601', file: 'team-000/tools/leak.yaml', line: 8 }));
    expect(await summary(repo)).toMatchObject({ phase: 'Refused', lastApplied: { revision: good } });
    for (const branch of ['joch/status', 'joch/rendered']) {
      const history = await repo.served(['log', '-p', '--format=%B', branch]);
      expect(history, branch).not.toContain(password);
      expect(history, branch).not.toContain(token);
    }
    const log = JSON.stringify(sync.logs.lines);
    expect(log).not.toContain(password);
    expect(log).not.toContain(token);
  });

  it('survives the remote going away, a force-push and a deleted branch, with clear status and the last good state kept', async () => {
    const { repo, commit: first } = await fleetRepo(root, `faults-${++n}.git`, 2);
    const proxy = await startProxy(server.port);
    try {
      // The manifests come through the proxy; status goes straight to the server, so it can say the source is down.
      const url = `http://127.0.0.1:${proxy.port}/${repo.name}`;
      const sync = await syncRuntime(flags(url, { 'status-repo': server.url(repo.name) }), root);
      expect((await sync.reconciler.runCycle()).result).toBe('applied');

      proxy.cut();
      const down = await sync.reconciler.runCycle();
      expect(down).toMatchObject({ result: 'source-failed', errors: [{ code: 'git/unreachable' }] });
      expect(sync.logs.lines.some((l) => l.msg?.toString().startsWith('cannot read the source'))).toBe(true);
      expect(await sync.metrics.text()).toMatch(/joch_git_fetch_errors_total\{reason="unreachable"\} 1/);
      expect(await summary(repo)).toMatchObject({ phase: 'SourceUnavailable', lastApplied: { revision: first }, errors: [{ code: 'git/unreachable' }] });
      proxy.restore();
      const back = await sync.reconciler.runCycle();
      expect(back.result).toBe('unchanged');
      expect(await summary(repo)).toMatchObject({ phase: 'Synced', lastApplied: { revision: first }, errors: [] });

      // A force-push to an unrelated history is followed (and logged as a rewrite).
      await bumpAgent(repo, 1, '2.0.0');
      expect((await sync.reconciler.runCycle()).result).toBe('applied');
      await repo.git(['reset', '-q', '--hard', first]);
      await repo.write({ [agentFile(0)]: (await show(repo, `${first}:${agentFile(0)}`)).replace(/(agent-00000:)\S+/, '$13.0.0') + '\n' });
      const rewritten = await repo.commit('rewritten history');
      await repo.push('HEAD:refs/heads/main', true);
      expect(await sync.reconciler.runCycle()).toMatchObject({ result: 'applied', revision: rewritten });
      expect(sync.logs.lines.some((l) => String(l.msg).includes('rewritten'))).toBe(true);
      expect(await show(repo, 'joch/rendered:objects/team-000/agent.joch.dev/agent-00000.yaml')).toContain('agent-00000:3.0.0');

      // The branch is deleted: nothing is applied, the status says why, then it comes back.
      const renderedTip = await tip(repo, 'joch/rendered');
      await repo.served(['update-ref', '-d', 'refs/heads/main']);
      const gone = await sync.reconciler.runCycle();
      expect(gone).toMatchObject({ result: 'source-failed', errors: [{ code: 'git/ref-not-found' }] });
      expect(await summary(repo)).toMatchObject({ phase: 'SourceUnavailable', lastApplied: { revision: rewritten } });
      expect(await tip(repo, 'joch/rendered')).toBe(renderedTip);
      await repo.push('HEAD:refs/heads/main');
      const again = await sync.reconciler.runCycle();
      expect(again.result).toBe('unchanged'); // the same revision as before the outage: nothing to apply
      expect(await summary(repo)).toMatchObject({ phase: 'Synced', observedRevision: rewritten });
    } finally {
      await proxy.close();
    }
  });

  it('a signed webhook push starts a cycle at once; unsigned pushes and its own status commits do not', async () => {
    const { repo } = await fleetRepo(root, `hook-${++n}.git`, 1);
    const secretFile = path.join(root, `hook-secret-${n}`);
    await import('node:fs/promises').then((fs) => fs.writeFile(secretFile, 'hook-secret\n'));
    const sync = await syncRuntime(flags(server.url(repo.name), { 'webhook-port': '0', 'metrics-port': '0', 'webhook-secret-file': secretFile }), root);
    await sync.start();
    try {
      await eventually('the first cycle', () => sync.reconciler.appliedRevision);
      const port = sync.ports.webhook as number;
      const post = (body: object, secret = 'hook-secret') => {
        const text = JSON.stringify(body);
        return fetch(`http://127.0.0.1:${port}/webhook`, {
          method: 'POST',
          headers: { 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signGithubPayload(secret, text), 'Content-Type': 'application/json' },
          body: text,
        });
      };
      const next = await bumpAgent(repo, 0, '7.0.0');
      expect((await post({ ref: 'refs/heads/main', after: next }, 'wrong')).status).toBe(401);
      const own = { message: 'joch: Synced [skip ci]\n\nJoch-Status: true\n', author: { name: 'joch-bot', email: DEFAULT_BOT_IDENTITY.email } };
      expect(await (await post({ ref: 'refs/heads/joch/status', after: next, head_commit: own })).text()).toMatch(/^ignored/);
      expect(await (await post({ ref: 'refs/heads/main', after: next, head_commit: own })).text()).toMatch(/own commit/);
      expect((await post({ ref: 'refs/heads/main', after: next, head_commit: { message: 'x', author: { name: 'd', email: 'd@e.f' } } })).status).toBe(202);
      // The poll interval is an hour: only the webhook can have started this cycle.
      await eventually('the pushed revision to be applied', () => (sync.reconciler.appliedRevision === next ? true : undefined));
      const metrics = await (await fetch(`http://127.0.0.1:${sync.ports.metrics as number}/metrics`)).text();
      expect(metrics).toMatch(/joch_webhook_rejections_total\{reason="bad-signature"\} 1/);
      expect(metrics).toMatch(new RegExp(`joch_last_successful_revision_info\\{revision="${next}"\\} 1`));
    } finally {
      await sync.shutdown(10_000);
    }
  });

  it('two replicas racing on the status branch both land, linear, and a suspended one applies nothing', async () => {
    const { repo, commit } = await fleetRepo(root, `race-${++n}.git`, 1);
    const outA = path.join(root, `out-a-${n}`);
    const outB = path.join(root, `out-b-${n}`);
    const a = await syncRuntime(flags(server.url(repo.name), { target: 'folder', output: outA, suspend: true }), root);
    const b = await syncRuntime(flags(server.url(repo.name), { target: 'folder', output: outB }), root);
    // Both build their status commit on the same (absent) tip; the server holds both pushes until both arrived.
    server.holdPushes(2);
    const [ra, rb] = await Promise.all([a.reconciler.runCycle(), b.reconciler.runCycle()]);
    expect(ra).toMatchObject({ result: 'suspended', revision: commit });
    expect(rb).toMatchObject({ result: 'applied', revision: commit });
    expect(ra.statusCommit && rb.statusCommit).toBeTruthy();
    const log = await branchLog(repo, 'joch/status');
    expect(log.map((c) => c.oid)).toEqual(expect.arrayContaining([ra.statusCommit, rb.statusCommit]));
    expect(log).toHaveLength(2);
    expect(await repo.served(['rev-list', '--merges', '--count', 'joch/status'])).toBe('0');
    expect(log.map((c) => c.subject).join('\n')).toMatch(/Suspended[\s\S]*|[\s\S]*Suspended/);
    expect(existsSync(outA)).toBe(false);
    expect(existsSync(path.join(outB, 'objects'))).toBe(true);
  });
});
