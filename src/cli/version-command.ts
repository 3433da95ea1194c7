/** `joch version`: the client's version and commit, and the API server's version when a cluster is named. */
import * as fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import git from 'isomorphic-git';
import type { CommandContext, CommandInput } from './context.js';
import { namesCluster, outputOf } from './flags.js';
import { renderData } from './output.js';
import { version } from './version.js';

interface VersionReport {
  readonly client: { readonly version: string; readonly commit: string; readonly node: string };
  readonly server?: { readonly version: string; readonly platform: string };
}

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const report: VersionReport = { client: { version: version(), commit: await packageCommit(), node: process.version } };
  const named = namesCluster(input.opts);
  const full: VersionReport = named ? { ...report, server: await serverVersion(input, ctx) } : report;
  const format = outputOf(input.opts);
  if (format === 'json' || format === 'yaml') ctx.stdout(renderData(format, full));
  else {
    ctx.stdout(`Client Version: ${full.client.version} (commit ${full.client.commit}, Node ${full.client.node})\n`);
    if (full.server) ctx.stdout(`Server Version: ${full.server.version} (${full.server.platform})\n`);
  }
  return 0;
}

/** The commit of the checkout joch runs from, when it runs from one (a packaged install has none). */
async function packageCommit(): Promise<string> {
  const dir = fileURLToPath(new URL('../../', import.meta.url));
  const dotGit = path.join(dir, '.git');
  try {
    if (fs.statSync(dotGit).isDirectory()) return await git.resolveRef({ fs, dir, ref: 'HEAD' });
    return worktreeHead(dotGit) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * HEAD of a linked worktree (`.git` is a file naming its gitdir, whose
 * `commondir` holds the shared refs), which isomorphic-git does not read.
 */
function worktreeHead(dotGitFile: string): string | undefined {
  const gitdir = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGitFile, 'utf8'))?.[1]?.trim();
  if (!gitdir) return undefined;
  const own = path.resolve(path.dirname(dotGitFile), gitdir);
  const commonFile = path.join(own, 'commondir');
  const common = fs.existsSync(commonFile) ? path.resolve(own, fs.readFileSync(commonFile, 'utf8').trim()) : own;
  const head = fs.readFileSync(path.join(own, 'HEAD'), 'utf8').trim();
  const ref = /^ref: (.+)$/.exec(head)?.[1];
  if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
  for (const base of [own, common]) {
    const file = path.join(base, ref);
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  }
  const packed = path.join(common, 'packed-refs');
  if (!fs.existsSync(packed)) return undefined;
  return fs.readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`))?.slice(0, 40);
}

async function serverVersion(input: CommandInput, ctx: CommandContext): Promise<{ version: string; platform: string }> {
  const { VersionApi } = await import('@kubernetes/client-node');
  const { kubeConfigOf } = await import('./cluster.js');
  const kc = kubeConfigOf(input, ctx);
  const info = await kc.makeApiClient(VersionApi).getCode();
  return { version: info.gitVersion, platform: info.platform };
}
