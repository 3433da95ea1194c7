/** `joch version`: the client's version and commit, and the API server's version when a cluster is named. */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import git from 'isomorphic-git';
import type { CommandContext, CommandInput } from './context.js';
import { outputOf } from './flags.js';
import { renderData } from './output.js';
import { version } from './version.js';

interface VersionReport {
  readonly client: { readonly version: string; readonly commit: string; readonly node: string };
  readonly server?: { readonly version: string; readonly platform: string };
}

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const report: VersionReport = { client: { version: version(), commit: await packageCommit(), node: process.version } };
  const named = input.opts.kubeconfig !== undefined || input.opts.context !== undefined;
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
  try {
    return await git.resolveRef({ fs, dir, ref: 'HEAD' });
  } catch {
    return 'unknown';
  }
}

async function serverVersion(input: CommandInput, ctx: CommandContext): Promise<{ version: string; platform: string }> {
  const { VersionApi } = await import('@kubernetes/client-node');
  const { loadKubeConfig } = await import('./cluster.js');
  const kc = loadKubeConfig({ kubeconfig: input.opts.kubeconfig as string | undefined, context: input.opts.context as string | undefined }, ctx);
  const info = await kc.makeApiClient(VersionApi).getCode();
  return { version: info.gitVersion, platform: info.platform };
}
