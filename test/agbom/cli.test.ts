/** `joch agbom` end to end, in process: generate, state, export, ls, diff, sign and verify. */
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/main.js';
import { editedFleet, EXAMPLE_FLEET, replaceOnce, ROOT } from './helpers.js';
import { nistIr8060, parseXml, validateCycloneDx, validateSpdx } from './validators.js';

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function joch(args: string[], env: Record<string, string> = { SOURCE_DATE_EPOCH: '1735689600' }): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const ctx: CommandContext = { cwd: ROOT, env, stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), isTTY: false };
  const code = await runCli(['agbom', ...args], ctx);
  return { code, stdout, stderr };
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'joch-agbom-cli-'));

describe('joch agbom', () => {
  it('prints an agent\'s CycloneDX AgBOM by default, and each format on request', async () => {
    const cdx = await joch(['support-triage', EXAMPLE_FLEET]);
    expect(cdx.code).toBe(0);
    expect(await validateCycloneDx(cdx.stdout, '1.6')).toBeNull();
    expect(JSON.parse(cdx.stdout).metadata.timestamp).toBe('2025-01-01T00:00:00Z');
    const v17 = await joch(['support-platform/support-triage', EXAMPLE_FLEET, '--spec-version', '1.7']);
    expect(await validateCycloneDx(v17.stdout, '1.7')).toBeNull();
    expect(validateSpdx(JSON.parse((await joch(['billing-agent', EXAMPLE_FLEET, '--format', 'spdx'])).stdout))).toEqual([]);
    expect(nistIr8060(parseXml((await joch(['market-researcher', EXAMPLE_FLEET, '--format', 'swid'])).stdout))).toEqual([]);
  });

  it('keeps generations in a state file', async () => {
    const dir = tmp();
    const state = path.join(dir, 'state.json');
    const out = path.join(dir, 'a.cdx.json');
    expect((await joch(['billing-agent', EXAMPLE_FLEET, '--state', state, '--write-state', '--output-file', out])).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).version).toBe(1);
    const changed = editedFleet({ 'finance-ops/billing.yaml': replaceOnce('callsPerMinute: 5', 'callsPerMinute: 6') });
    const second = await joch(['billing-agent', changed, '--state', state, '--write-state']);
    expect(JSON.parse(second.stdout).version).toBe(2);
    const third = await joch(['billing-agent', changed, '--state', state], { SOURCE_DATE_EPOCH: '1800000000' });
    expect(third.stdout).toBe(second.stdout);
    expect(JSON.parse(readFileSync(state, 'utf8')).agents['Agent/finance-ops/billing-agent'].generation).toBe(2);
  });

  it('exports every agent in every format', async () => {
    const dir = tmp();
    const r = await joch(['export', EXAMPLE_FLEET, '--out-dir', dir]);
    expect(r.code).toBe(0);
    for (const f of ['1.cdx.json', '1.spdx.json', '1.swid.xml']) expect(existsSync(path.join(dir, 'finance-ops/billing-agent', f))).toBe(true);
    expect(r.stdout).toMatch(/wrote 12 document\(s\) for 4 agent\(s\)/);
  });

  it('lists agents, and exits 1 when --high-risk finds some', async () => {
    const ls = await joch(['ls', EXAMPLE_FLEET]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^AGENT +GENERATION +COMPONENTS +RISKS$/m);
    expect(ls.stdout).toContain('Agent/research/market-researcher');
    const risky = editedFleet({ 'platform/mcp-servers.yaml': replaceOnce('pinServerVersion: true\n    pinnedVersion: 1.2.0', 'pinServerVersion: false') });
    const high = await joch(['ls', risky, '--high-risk', '--format', 'json']);
    expect(high.code).toBe(1);
    const agents = JSON.parse(high.stdout) as { agent: string; risks: { code: string }[] }[];
    expect(agents.map((a) => a.agent)).toContain('Agent/support-platform/support-triage');
    expect(agents.flatMap((a) => a.risks.map((r) => r.code))).toContain('mcp-unpinned');
  });

  it('diffs two folders and two files, exiting 1 on changes', async () => {
    const changed = editedFleet({ 'platform/mcp-servers.yaml': replaceOnce('pinServerVersion: true\n    pinnedVersion: 1.2.0', 'pinServerVersion: false') });
    const folders = await joch(['diff', EXAMPLE_FLEET, changed, '--agent', 'support-triage']);
    expect(folders.code).toBe(1);
    expect(folders.stdout).toContain('AgBOM Agent/support-platform/support-triage: version 1 -> version 2');
    expect(folders.stdout).toMatch(/Risk-relevant changes[^\n]*\n\s+\[high\] MCP server unpinned: MCPServer github/);
    const dir = tmp();
    const [a, b] = [path.join(dir, 'a.json'), path.join(dir, 'b.json')];
    writeFileSync(a, (await joch(['support-triage', EXAMPLE_FLEET])).stdout);
    writeFileSync(b, (await joch(['support-triage', changed])).stdout);
    const files = await joch(['diff', a, b, '--format', 'markdown']);
    expect(files.code).toBe(1);
    expect(files.stdout).toContain('**high**: MCP server unpinned: MCPServer github');
    expect((await joch(['diff', a, a])).code).toBe(0);
  });

  it('diffs two Git revisions, or a revision and the working tree', async () => {
    const repo = tmp();
    cpSync(EXAMPLE_FLEET, repo, { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e.x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e.x' },
      }).trim();
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    const base = git('rev-parse', 'HEAD');
    const servers = path.join(repo, 'platform/mcp-servers.yaml');
    writeFileSync(servers, replaceOnce('pinServerVersion: true\n    pinnedVersion: 1.2.0', 'pinServerVersion: false')(readFileSync(servers, 'utf8')));
    git('commit', '-q', '-am', 'unpin github');
    const head = git('rev-parse', 'HEAD');
    const inRepo = async (args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(['agbom', ...args], { cwd: repo, env: { SOURCE_DATE_EPOCH: '1735689600' }, stdout: (x) => void (stdout += x), stderr: (x) => void (stderr += x), isTTY: false });
      return { code, stdout, stderr };
    };
    const revisions = await inRepo(['diff', '--from', base.slice(0, 10), '--to', head, '--agent', 'support-triage']);
    expect(revisions.stderr).toBe('');
    expect(revisions.code).toBe(1);
    expect(revisions.stdout).toMatch(/\[high\] MCP server unpinned: MCPServer github/);
    // The branch is the head commit, and the working tree has not moved: no change.
    expect((await inRepo(['diff', '--from', 'main'])).code).toBe(0);
    const unknown = await inRepo(['diff', '--from', 'no-such-branch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"no-such-branch" is not a commit, branch or tag');
  });

  it('signs with --sign-key and verifies, failing on tampering or another key', async () => {
    const dir = tmp();
    const keys = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const [priv, pub, otherPub] = [path.join(dir, 'k.pem'), path.join(dir, 'k.pub.pem'), path.join(dir, 'o.pub.pem')];
    writeFileSync(priv, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(pub, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(otherPub, other.publicKey.export({ type: 'spki', format: 'pem' }));
    const doc = path.join(dir, 'signed.cdx.json');
    expect((await joch(['support-triage', EXAMPLE_FLEET, '--sign-key', priv, '--output-file', doc])).code).toBe(0);
    const signed = JSON.parse(readFileSync(doc, 'utf8'));
    expect(signed.signature).toMatchObject({ algorithm: 'Ed25519', keyId: 'platform/agbom-signing-key' });
    expect(await validateCycloneDx(readFileSync(doc, 'utf8'), '1.6')).toBeNull();
    const trusted = await joch(['verify', doc, '--key', pub]);
    expect(trusted).toMatchObject({ code: 0 });
    expect(trusted.stdout).toContain('valid Ed25519 signature (key platform/agbom-signing-key), by the trusted key');
    expect((await joch(['verify', doc])).stdout).toContain('integrity only');
    expect((await joch(['verify', doc, '--key', otherPub])).code).toBe(1);
    writeFileSync(doc, readFileSync(doc, 'utf8').replace('"version": 1,', '"version": 2,'));
    const tampered = await joch(['verify', doc, '--key', pub]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('INVALID: the signature does not match the document');
  });

  it('reports usage mistakes with exit code 2', async () => {
    expect((await joch([])).code).toBe(2);
    expect((await joch(['nobody', EXAMPLE_FLEET])).stderr).toMatch(/no agent "nobody"/);
    expect((await joch(['support-triage', EXAMPLE_FLEET, '--format', 'pdf'])).code).toBe(2);
    expect((await joch(['support-triage', EXAMPLE_FLEET, '--format', 'swid', '--sign-key', 'k.pem'])).code).toBe(2);
    expect((await joch(['diff', EXAMPLE_FLEET])).code).toBe(2);
  });

  it('warns when documents fall back to the epoch for want of a commit time', async () => {
    const r = await joch(['market-researcher', EXAMPLE_FLEET], {});
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('SOURCE_DATE_EPOCH');
    expect(JSON.parse(r.stdout).metadata.timestamp).toBe('1970-01-01T00:00:00Z');
  });
});
