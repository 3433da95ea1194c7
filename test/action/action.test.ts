/**
 * The GitHub Action as a workflow step runs it: a real Git repository with a
 * base and a head commit, the runner's environment (event file, summary and
 * output files), and a stand-in for the GitHub REST API at the HTTP boundary
 * (the one service these machines cannot reach).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMENT_MARKER } from '../../src/action/index.js';
import { runCli } from '../../src/cli/main.js';

const FLEET = new URL('../../examples/fleet/', import.meta.url).pathname;
const TOKEN = 'ghs_testtoken0123456789abcdefghijklmnopqrst';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly auth: string | undefined;
  readonly body: string;
}

/** Records requests and keeps issue comments in memory, like the REST API would. */
interface Comment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
}

/** What the token posts as: GITHUB_TOKEN comments as the Actions bot. */
const BOT = { login: 'github-actions[bot]', type: 'Bot' } as const;

function fakeGitHub(): { server: Server; requests: Recorded[]; comments: Comment[] } {
  const requests: Recorded[] = [];
  const comments: Comment[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url?.startsWith('/repos/acme/agents/issues/7/comments')) {
        res.end(JSON.stringify(comments));
      } else if (req.method === 'POST' && req.url === '/repos/acme/agents/issues/7/comments') {
        const c = { id: 100 + comments.length, body: (JSON.parse(body) as { body: string }).body, user: BOT };
        comments.push(c);
        res.statusCode = 201;
        res.end(JSON.stringify(c));
      } else if (req.method === 'PATCH' && req.url?.startsWith('/repos/acme/agents/issues/comments/')) {
        const id = Number(req.url.split('/').pop());
        const c = comments.find((x) => x.id === id);
        if (c) c.body = (JSON.parse(body) as { body: string }).body;
        res.end(JSON.stringify(c ?? {}));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  });
  return { server, requests, comments };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.x' },
  }).trim();
}

describe('joch action', () => {
  let repo: string;
  let base: string;
  let api: ReturnType<typeof fakeGitHub>;
  let apiUrl: string;

  beforeAll(async () => {
    repo = mkdtempSync(path.join(tmpdir(), 'joch-action-repo-'));
    cpSync(FLEET, repo, { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    base = git(repo, 'rev-parse', 'HEAD');
    // The pull request gives support-triage a new tool that writes to the CRM.
    writeFileSync(
      path.join(repo, 'support-platform/tools/crm.yaml'),
      [
        'apiVersion: tools.joch.dev/v1alpha1',
        'kind: Tool',
        'metadata:',
        '  name: crm.update',
        '  namespace: support-platform',
        'spec:',
        '  type: rest',
        '  endpoint:',
        '    method: POST',
        '    url: https://crm.example.com/api/contacts',
        '  sideEffects:',
        '    level: external_write',
        '    requiresApproval: true',
        '',
      ].join('\n'),
    );
    const agent = path.join(repo, 'support-platform/agents/support-triage.yaml');
    writeFileSync(agent, readFileSync(agent, 'utf8').replace('    - name: slack.send\n', '    - name: slack.send\n    - name: crm.update\n'));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'head');
    api = fakeGitHub();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => api.server.close(() => resolve()));
    rmSync(repo, { recursive: true, force: true });
  });

  function runnerEnv(extra: Record<string, string> = {}): { env: Record<string, string>; summary: string; output: string } {
    const dir = mkdtempSync(path.join(tmpdir(), 'joch-action-runner-'));
    const event = path.join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7, base: { sha: base } } }));
    const summary = path.join(dir, 'summary.md');
    const output = path.join(dir, 'output.txt');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    return {
      summary,
      output,
      env: {
        GITHUB_WORKSPACE: repo,
        GITHUB_EVENT_PATH: event,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_OUTPUT: output,
        GITHUB_REPOSITORY: 'acme/agents',
        GITHUB_API_URL: apiUrl,
        'INPUT_GITHUB-TOKEN': TOKEN,
        'INPUT_SARIF-FILE': path.join(dir, 'joch.sarif'),
        ...extra,
      },
    };
  }

  async function action(env: Record<string, string>): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runCli(['action'], {
      cwd: repo,
      env,
      stdout: (s) => (out += s),
      stderr: (s) => (out += s),
      isTTY: false,
    });
    return { code, out };
  }

  it('reviews a pull request: summary with the AgBOM diff, outputs, SARIF, and one comment', async () => {
    const { env, summary, output } = runnerEnv();
    const { code, out } = await action(env);
    expect(code).toBe(0);
    const report = readFileSync(summary, 'utf8');
    expect(report).toContain('## Joch review');
    expect(report).toContain(`against ${base.slice(0, 12)}`);
    // The new side-effecting tool is the risk reviewers must see, first.
    expect(report).toContain('Risk-relevant changes');
    expect(report).toContain('crm.update');
    expect(report).toContain('### Agent/support-platform/support-triage');
    const outputs = Object.fromEntries(
      readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    expect(outputs.errors).toBe('0');
    expect(Number(outputs['agbom-changes'])).toBeGreaterThan(0);
    expect(Number(outputs['risky-changes'])).toBeGreaterThan(0);
    const sarif = JSON.parse(readFileSync(outputs['sarif-file'] as string, 'utf8')) as { version: string };
    expect(sarif.version).toBe('2.1.0');

    const posts = api.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.auth).toBe(`Bearer ${TOKEN}`);
    expect(api.comments[0]?.body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(out).not.toContain(TOKEN);
  });

  it('updates its comment on a rerun instead of adding another', async () => {
    const before = api.comments.length;
    const { env } = runnerEnv();
    await action(env);
    expect(api.comments).toHaveLength(before);
    expect(api.requests.filter((r) => r.method === 'PATCH').length).toBeGreaterThan(0);
  });

  it("never takes over a person's comment that carries the marker", async () => {
    const text = `${COMMENT_MARKER}\nquoted by hand`;
    const theirs: Comment = { id: 1, body: text, user: { login: 'someone', type: 'User' } };
    api.comments.unshift(theirs);
    try {
      const seen = api.requests.length;
      const { code } = await action(runnerEnv().env);
      expect(code).toBe(0);
      expect(theirs.body).toBe(text);
      const writes = api.requests.slice(seen).filter((r) => r.method !== 'GET');
      expect(writes.map((r) => `${r.method} ${r.url}`)).toEqual(['PATCH /repos/acme/agents/issues/comments/100']);
    } finally {
      api.comments.splice(api.comments.indexOf(theirs), 1);
    }
  });

  it('fails the step on an error and annotates the file and line', async () => {
    const agent = path.join(repo, 'support-platform/agents/support-triage.yaml');
    const good = readFileSync(agent, 'utf8');
    writeFileSync(agent, good.replace('- name: zendesk.search', '- name: zendesk.serch'));
    try {
      const { env, output } = runnerEnv({ INPUT_COMMENT: 'false' });
      const { code, out } = await action(env);
      expect(code).toBe(1);
      const line = good.split('\n').findIndex((l) => l.includes('- name: zendesk.search')) + 1;
      expect(out).toContain(`::error file=support-platform/agents/support-triage.yaml,line=${line},col=13,`);
      expect(out).toContain('JOCH501');
      expect(readFileSync(output, 'utf8')).toContain('errors=1');
    } finally {
      writeFileSync(agent, good);
    }
  });

  it('does not fail with fail-on never, and says why when there is no base', async () => {
    const { env, summary } = runnerEnv({ 'INPUT_FAIL-ON': 'never', INPUT_COMMENT: 'false' });
    const noPr = { ...env, GITHUB_EVENT_PATH: '' };
    const { code } = await action(noPr);
    expect(code).toBe(0);
    expect(readFileSync(summary, 'utf8')).toContain('no base commit');
  });

  it('rejects a misconfigured step with a clear message', async () => {
    const { env } = runnerEnv({ 'INPUT_FAIL-ON': 'sometimes' });
    const { code, out } = await action(env);
    expect(code).toBe(2);
    expect(out).toContain('INPUT_FAIL-ON');
  });
});
