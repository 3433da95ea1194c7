/**
 * The Action on a fleet of hundreds of agents: a change that touches every
 * agent must still give a summary and a comment GitHub accepts, with every
 * escalation in the annotations and the SARIF file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { ACTIONS_BOT, startGitHubStandIn, type GitHubStandIn } from './github-api.js';
import { annotations, checkout, downloadAction, Origin, runAction } from './runner.js';

const TOKEN = 'ghs_installation0123456789abcdefghijklmnop';
const AGENTS = 300;
const SERVERS = ['github', 'jira', 'postgres-readonly', 'confluence'];

// Each test runs the Action on 3,000 files twice over (head and base): minutes on a loaded two-core machine.
describe('the Action on a 300-agent fleet', { timeout: 300_000 }, () => {
  let action: { dir: string; main: string };
  let origin: Origin;
  let api: GitHubStandIn;
  let fleet: string;
  const workspaces: string[] = [];

  beforeAll(async () => {
    action = downloadAction();
    fleet = mkdtempSync(path.join(tmpdir(), 'joch-action-fleet-'));
    generateFleet(fleet, AGENTS);
    origin = await Origin.start({}, fleet);
    api = await startGitHubStandIn();
    api.tokens.set(TOKEN, ACTIONS_BOT);
  });

  afterAll(async () => {
    await api?.close();
    await origin?.close();
    for (const w of [...workspaces, fleet, action?.dir]) if (w) rmSync(w, { recursive: true, force: true });
  });

  it('keeps the comment under 65,536 characters with a link to the summary, and loses no escalation elsewhere', async () => {
    // Every agent reaches one of the shared MCP servers: moving their pins and lowering their trust thresholds touches all 300 twice.
    const edits = Object.fromEntries(
      SERVERS.map((s) => [`platform/mcp-servers/${s}.yaml`, (t: string) => t.replace('pinnedVersion: 1.2.0', 'pinnedVersion: 1.3.0').replace('minTrustScore: 0.75', 'minTrustScore: 0.5')]),
    );
    const pr = origin.pullRequest(9, edits);
    const workspace = await checkout(origin, pr, 'shallow');
    workspaces.push(workspace);
    const r = await runAction(action.main, { workspace, pr, apiUrl: api.url, token: TOKEN });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Number(r.outputs.escalations)).toBe(2 * AGENTS);
    const found = annotations(r.stdout);
    expect(found.filter((a) => a.includes(' JOCH957 '))).toHaveLength(AGENTS);
    expect(found.filter((a) => a.includes(' JOCH956 '))).toHaveLength(AGENTS);
    const sarif = JSON.parse(readFileSync(r.outputs['sarif-file']!, 'utf8')) as { runs: { results: { ruleId: string }[] }[] };
    expect(sarif.runs[0]!.results.filter((x) => /^JOCH95[67]$/.test(x.ruleId))).toHaveLength(2 * AGENTS);
    expect(r.summary).toContain(`### Escalations (${2 * AGENTS})`);
    // Thirty verdicts open, the rest folded; the review is longer than a comment may be.
    expect(r.summary).toContain(`<details><summary>${AGENTS - 30} more agents (${AGENTS - 30} with escalations)</summary>`);
    expect(r.summary.length).toBeGreaterThan(65_536);

    // GitHub answers 422 to a longer body: none was sent, and the comment was written.
    expect(r.outputs.comment).toBe('created');
    expect(api.requests.filter((x) => x.method === 'POST' && JSON.parse(x.body).body.length > 65_536)).toEqual([]);
    const body = api.commentsOn(9)[0]!.body;
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body).toContain('[the job summary](https://github.com/acme/agents/actions/runs/4242) has the whole review');
    expect((body.match(/<details>/g) ?? []).length).toBe((body.match(/<\/details>/g) ?? []).length);
  });

  it('warns with GitHub\'s own message when it still answers 422', async () => {
    const pr = origin.pullRequest(10, { 'platform/mcp-servers/jira.yaml': (t: string) => t.replace('pinnedVersion: 1.2.0', 'pinnedVersion: 1.4.0') });
    const workspace = await checkout(origin, pr, 'shallow');
    workspaces.push(workspace);
    api.failWrites(422, 'Validation Failed');
    const r = await runAction(action.main, { workspace, pr, apiUrl: api.url, token: TOKEN });
    expect(r.code).toBe(0);
    expect(r.outputs.comment).toBe('failed');
    expect(r.stdout).toMatch(/^::warning title=joch::the review comment was not written: POST \/repos\/acme\/agents\/issues\/10\/comments answered 422: Validation Failed\. GitHub refused the comment body\./m);
  });
});
