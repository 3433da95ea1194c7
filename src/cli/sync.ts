/**
 * `joch sync`: the continuous reconciler, or one cycle with `--once`.
 * Options and their JOCH_SYNC_* variables are validated in
 * src/reconcile/options.ts; this file parses argv, prints, and handles signals.
 */
import { pino } from 'pino';
import {
  createSyncRuntime,
  humanDestination,
  parseSyncOptions,
  SYNC_FLAGS,
  SyncSetupError,
  type CycleReport,
  type RawSyncOptions,
  type SyncInfo,
  type SyncRuntime,
} from '../reconcile/index.js';
import path from 'node:path';
import { findConfigFile } from '../config/index.js';
import { gitWorkTreeRoot, resolveRevision } from '../source/revision.js';
import { UsageError, useColor, type CommandContext, type CommandInput } from './context.js';
import { version } from './version.js';

const OK_RESULTS = new Set<CycleReport['result']>(['applied', 'unchanged', 'drift-checked', 'suspended']);

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const given = withProjectRoot(await withResolvedCommit(syncFlags(input.opts), ctx), ctx);
  // --debug, the global flag, means debug logs unless a level was chosen.
  const flags = input.opts.debug === true && given['log-level'] === undefined ? { ...given, 'log-level': 'debug' } : given;
  const parsed = parseSyncOptions(flags, ctx.env);
  if (!parsed.ok) throw new UsageError(parsed.errors.join('\n  '));
  const options = parsed.options;
  const quietLogs = options.once && flags['log-level'] === undefined && ctx.env[SYNC_FLAGS['log-level'][0]] === undefined;
  let runtime: SyncRuntime;
  try {
    runtime = await createSyncRuntime(quietLogs ? { ...options, 'log-level': 'silent' } : options, {
      cwd: ctx.cwd,
      env: ctx.env,
      toolVersion: version(),
      logDestination: logDestination(options.once, input.opts, ctx),
      onLostLeadership: () => {
        // As controller-runtime does: stop at once so the next leader never overlaps an apply of ours.
        ctx.stderr('joch sync: lost the leader Lease; exiting\n');
        process.exit(1);
      },
    });
  } catch (e) {
    if (e instanceof SyncSetupError) {
      ctx.stderr(`joch sync: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (options.once) return once(runtime, ctx, options['lease-duration']);
  return loop(runtime, options['shutdown-grace'], ctx);
}

async function once(runtime: SyncRuntime, ctx: CommandContext, leaseMs: number): Promise<number> {
  const leader = runtime.leader;
  if (leader) {
    // A cron job beside running replicas applies only while it holds the Lease; it waits a few lease durations for it.
    leader.start();
    const won = await Promise.race([leader.whenLeading().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), leaseMs * 3).unref())]);
    if (!won) {
      await leader.stop();
      ctx.stderr('joch sync: another replica holds the leader Lease; nothing applied\n');
      return 1;
    }
  }
  const report = await runtime.reconciler.runCycle({ force: true, reason: 'once' });
  await leader?.stop();
  ctx.stdout(formatReport(report, runtime, ctx));
  return OK_RESULTS.has(report.result) && report.statusError === undefined ? 0 : 1;
}

/** Runs until SIGTERM or SIGINT; the current apply may finish within the grace period. Never returns otherwise. */
async function loop(runtime: SyncRuntime, graceMs: number, ctx: CommandContext): Promise<number> {
  await runtime.start();
  const code = await new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      runtime.logger.info({ signal, graceMs }, 'shutting down: letting the current cycle finish');
      void runtime.shutdown(graceMs).then((finished) => {
        if (!finished) runtime.logger.warn({ graceMs }, 'the current cycle did not finish in time; the next start converges');
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  runtime.logger.flush();
  ctx.stderr('joch sync: stopped\n');
  // Open keep-alive sockets and an abandoned apply must not keep the process alive past the grace period.
  process.exit(code);
}

function formatReport(report: CycleReport, runtime: SyncRuntime, ctx: CommandContext): string {
  const info = runtime.info;
  const summary = runtime.reconciler.lastSummary;
  const lines = [
    `joch sync: ${report.result}${report.revision ? ` ${report.revision.slice(0, 12)}` : ''} from ${info.sourceUrl} (${info.ref}${info.root ? `, root ${info.root}` : ''}) in ${(report.durationMs / 1000).toFixed(2)} s`,
    `  target: ${info.targetDescription}`,
  ];
  if (summary) lines.push(`  ${summary.message}`);
  if (report.detail) lines.push(`  ${info.target}: ${report.detail}`);
  if (report.drifted) lines.push(`  drift corrected: ${report.drifted} object(s)`);
  for (const e of report.errors.slice(0, 30)) lines.push(`  ${e.file ? `${e.file}:${e.line}:${e.column}: ` : ''}error ${e.code} ${e.message}`);
  if (report.errors.length > 30) lines.push(`  ... and ${report.errors.length - 30} more errors`);
  if (report.statusError) lines.push(`  status: not written: ${report.statusError}`);
  else if (info.statusBranch) lines.push(`  status: ${report.statusCommit ? `committed ${report.statusCommit.slice(0, 12)} on ${info.statusBranch}` : `${info.statusBranch} already up to date`}`);
  lines.push(...whereToLook(info, ctx));
  return `${lines.join('\n')}\n`;
}

function whereToLook(info: SyncInfo, ctx: CommandContext): string[] {
  if (!info.localRepo) return [];
  const inside = !ctx.cwd.startsWith(info.localRepo) ? ` -C ${info.localRepo}` : '';
  const out = ['', 'Where to look:'];
  if (info.statusBranch) {
    out.push(`  git${inside} log --stat ${info.statusBranch}`, `  git${inside} show ${info.statusBranch}:summary.yaml`);
  }
  if (info.renderedBranch) {
    out.push(`  git${inside} ls-tree -r --name-only ${info.renderedBranch}`, `  git${inside} show ${info.renderedBranch}:objects/<namespace>/<kind>/<name>.yaml`);
  }
  return out;
}

/** The sync flags among the parsed options: the global ones (--quiet, --debug) are not sync options. */
function syncFlags(opts: Readonly<Record<string, unknown>>): RawSyncOptions {
  return Object.fromEntries(Object.entries(opts).filter(([name]) => name in SYNC_FLAGS)) as RawSyncOptions;
}

/**
 * `--commit HEAD~1` or a short SHA, resolved in a local repository (the
 * current folder's, or a --repo path): the reconciler pins full commit ids.
 * A remote repository is not fetched here, so it needs the full id.
 */
async function withResolvedCommit(flags: RawSyncOptions, ctx: CommandContext): Promise<RawSyncOptions> {
  const commit = flags.commit;
  if (typeof commit !== 'string' || /^[0-9a-f]{40}$/.test(commit)) return flags;
  const repo = typeof flags.repo === 'string' ? flags.repo.replace(/^file:\/\//, '') : undefined;
  if (repo !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) throw new UsageError(`--commit ${commit}: give the full 40-character id for a remote repository`);
  const dir = gitWorkTreeRoot(path.resolve(ctx.cwd, repo ?? '.'));
  if (!dir) throw new UsageError(`--commit ${commit}: ${repo ?? 'the current folder'} is not inside a Git repository`);
  const resolved = await resolveRevision(dir, commit);
  if (!resolved.ok) throw new UsageError(`--commit: ${resolved.reason}`);
  return { ...flags, commit: resolved.commit };
}

/**
 * Where the log lines go: one cycle prints a report on stdout, so its logs go
 * to stderr; the loop logs on stdout. A person at a terminal reads plain
 * lines; anything else (a pod, a pipe) gets JSON.
 */
function logDestination(once: boolean, opts: Readonly<Record<string, unknown>>, ctx: CommandContext) {
  const stream = once ? 'stderr' : 'stdout';
  const atTerminal = once ? ctx.stderrIsTTY === true : ctx.isTTY;
  if (atTerminal) return humanDestination(once ? ctx.stderr : ctx.stdout, useColor(opts, ctx, stream));
  return once ? pino.destination({ fd: 2, sync: true }) : undefined;
}

/**
 * With no --root, --repo or JOCH_SYNC_ROOT, the folder holding the joch.yaml
 * nearest the current folder (as `joch validate` finds it), so that a
 * repository made by `joch init` syncs as it is.
 */
function withProjectRoot(flags: RawSyncOptions, ctx: CommandContext): RawSyncOptions {
  if (flags.root !== undefined || flags.repo !== undefined || ctx.env[SYNC_FLAGS.root[0]] !== undefined || ctx.env[SYNC_FLAGS.repo[0]] !== undefined) return flags;
  const repo = gitWorkTreeRoot(ctx.cwd);
  const config = repo ? findConfigFile(ctx.cwd) : undefined;
  if (!repo || !config) return flags;
  return { ...flags, root: path.relative(repo, path.dirname(config)).split(path.sep).join('/') };
}
