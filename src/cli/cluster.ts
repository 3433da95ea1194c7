/**
 * `joch diff` and `joch apply`: compile the repository (validate and policy
 * first: nothing is applied when they found an error), then plan or apply the
 * compiled objects with the cluster stage.
 *
 * diff exits 0 when the cluster already matches, 1 when there are changes and
 * 2 on an error (the `flux diff` and `argocd app diff` convention); apply
 * exits 0 when everything was applied, 1 otherwise, 2 on a usage error.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  applySet,
  formatApplyResultJson,
  formatApplyResultText,
  formatClusterError,
  formatPlanJson,
  formatPlanText,
  planApply,
  summarizeErrors,
  wroteAnything,
  writeStatus,
  type ApplyProgress,
  type ApplyResult,
  type ClusterError,
  type InventoryRef,
  type PlanOptions,
} from '../cluster/index.js';
import { formatDiagnostics } from '../diagnostics/index.js';
import { runCompile, type CompileRun } from '../pipeline/compile.js';
import { OriginResolver, type CompiledView } from '../pipeline/origins.js';
import { customResourceUpdates, EventRecorder, statusesAfterApply } from '../reconcile/index.js';
import { workingTreeRevision } from '../source/worktree-revision.js';
import { checkOptions, UsageError, useColor, type CommandContext, type CommandInput } from './context.js';
import { NoClusterError } from './errors.js';
import { inputPaths, outputOf } from './flags.js';
import { renderData } from './output.js';
import { Progress } from './progress.js';
import { version } from './version.js';

const Options = z.object({
  kubeconfig: z.string().optional(),
  context: z.string().optional(),
  inventory: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be NAMESPACE/NAME')
    .default('joch-system/joch-inventory'),
  'field-manager': z.string().min(1).max(128).default('joch'),
  'no-prune': z.boolean().default(false),
  output: z.enum(['text', 'json', 'yaml']).default('text'),
  config: z.string().optional(),
  force: z.boolean().default(false),
  recreate: z.boolean().default(false),
  'allow-mass-prune': z.boolean().default(false),
  'max-prune-share': z.coerce.number().gt(0).lte(1).default(0.5),
  wait: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'must be a duration such as 90s or 5m')
    .optional(),
  'show-unchanged': z.boolean().default(false),
});

type Opts = z.infer<typeof Options>;

interface Prepared {
  readonly opts: Opts;
  readonly kubeconfig: KubeConfig;
  readonly run: CompileRun;
  readonly view: CompiledView | undefined;
  readonly options: PlanOptions;
}

async function prepare(input: CommandInput, ctx: CommandContext, progress: Progress): Promise<Prepared> {
  const opts = checkOptions({ ...input.opts, output: outputOf(input.opts) }, Options);
  const paths = await inputPaths(input.opts, input.args, ctx);
  const kubeconfig = loadKubeConfig(opts, ctx);
  progress.step('loading, validating and compiling');
  const run = await runCompile({ paths, cwd: ctx.cwd, configFile: opts.config });
  const view = run.output ? new OriginResolver().view(run.validation.set, run.output.objects) : undefined;
  const [namespace, name] = opts.inventory.split('/') as [string, string];
  const inventory: InventoryRef = { namespace, name };
  return {
    opts,
    kubeconfig,
    run,
    view,
    options: {
      kubeconfig,
      inventory,
      fieldManager: opts['field-manager'],
      prune: !opts['no-prune'],
      force: opts.force,
      recreateImmutable: opts.recreate,
      pruneGuard: { maxShare: opts['max-prune-share'], allowMassPrune: opts['allow-mass-prune'] },
    },
  };
}

/**
 * The kubeconfig as kubectl finds it: --kubeconfig, then KUBECONFIG, then
 * ~/.kube/config, then the in-cluster service account. The client library's
 * own fallback (http://localhost:8080) is never used: with none of these the
 * user is told how to point joch at a cluster.
 */
/** The kubeconfig named by a command's own `--kubeconfig`/`--context` values. */
export function kubeConfigOf(input: CommandInput, ctx: CommandContext): KubeConfig {
  return loadKubeConfig({ kubeconfig: input.opts.kubeconfig as string | undefined, context: input.opts.context as string | undefined }, ctx);
}

export function loadKubeConfig(opts: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined }, ctx: CommandContext): KubeConfig {
  const kc = new KubeConfig();
  const files = opts.kubeconfig
    ? [path.resolve(ctx.cwd, opts.kubeconfig)]
    : (ctx.env.KUBECONFIG?.split(path.delimiter).filter(Boolean) ?? [path.join(ctx.env.HOME ?? homedir(), '.kube', 'config')]);
  const file = files.find((f) => existsSync(f));
  if (opts.kubeconfig && !file) throw new UsageError(`no such kubeconfig: ${opts.kubeconfig}`);
  try {
    if (file) kc.loadFromFile(file);
    else if (ctx.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else throw new NoClusterError(`no cluster configured: no --kubeconfig, no KUBECONFIG and no ${path.join('~', '.kube', 'config')}`);
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) throw new UsageError(`no context "${opts.context}" in the kubeconfig; it has ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
      kc.setCurrentContext(opts.context);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof NoClusterError) throw e;
    throw new UsageError(`cannot load the kubeconfig: ${(e as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new NoClusterError('the kubeconfig names no current cluster');
  return kc;
}

/** The findings that stopped the run, as `joch validate` prints them, on stderr. */
function printRefusal(p: Prepared, ctx: CommandContext): void {
  const texts = p.run.validation.set.texts;
  ctx.stderr(
    formatDiagnostics('text', p.run.diagnostics, p.run.summary, {
      color: useColor({}, ctx, 'stderr'),
      quietInfo: true,
      toolVersion: version(),
      sourceText: (file) => texts.get(file),
    }),
  );
  ctx.stderr('joch: nothing was sent to the cluster\n');
}

function printErrors(errors: readonly ClusterError[], ctx: CommandContext): void {
  for (const line of summarizeErrors(errors)) ctx.stderr(`${line}\n`);
}

export async function diff(input: CommandInput, ctx: CommandContext): Promise<number> {
  const progress = Progress.start(ctx, input.opts);
  const p = await prepare(input, ctx, progress);
  if (!p.view) {
    progress.done();
    printRefusal(p, ctx);
    return 2;
  }
  progress.step(`comparing ${p.view.desired.length} objects with the cluster`);
  const plan = await planApply(p.view.desired, p.options);
  progress.done();
  if (p.opts.output !== 'text') ctx.stdout(machine(p.opts.output, formatPlanJson(plan)));
  else ctx.stdout(formatPlanText(plan, { showUnchanged: p.opts['show-unchanged'] }));
  if (plan.errors.length) {
    printErrors(plan.errors, ctx);
    return 2;
  }
  const s = plan.summary;
  return s.create + s.update + s.recreate + s.delete > 0 ? 1 : 0;
}

export async function apply(input: CommandInput, ctx: CommandContext): Promise<number> {
  const progress = Progress.start(ctx, input.opts);
  const p = await prepare(input, ctx, progress);
  if (!p.view) {
    progress.done();
    printRefusal(p, ctx);
    return 1;
  }
  const wait = p.opts.wait ? { timeoutMs: durationMs(p.opts.wait) } : undefined;
  progress.step(`applying ${p.view.desired.length} objects${wait ? ` and waiting up to ${p.opts.wait} for them to be healthy` : ''}`);
  const revision = p.run.validation.snapshot.revision ?? (await workingTreeRevision(p.run.validation.snapshot)) ?? 'working-tree';
  const onProgress = (at: ApplyProgress) => progress.count(at.phase === 'applying' ? 'applying' : 'waiting for health:', at.done, at.total);
  const result = await applySet(p.view.desired, { ...p.options, sourceCommit: revision, onProgress, ...(wait ? { wait } : {}) });
  progress.step('writing status');
  if (p.opts.output !== 'text') ctx.stdout(machine(p.opts.output, formatApplyResultJson(result)));
  else ctx.stdout(formatApplyResultText(result, { errors: false }));

  // A refused run changed nothing, so it rewrites no status: the refusal goes on the inventory as an Event.
  const refused = !result.complete && !wroteAnything(result);
  const statusErrors = refused ? [] : await writeResourceStatus(p, result, revision);
  if (refused) await recordRefusal(p, result);
  progress.done();
  for (const line of summarizeErrors([...result.errors, ...statusErrors])) ctx.stderr(`${line}\n`);
  return result.complete && result.errors.length === 0 ? 0 : 1;
}

/** Each touched Joch resource's custom resource gets its status: applied or failed, health, revision, compiled hash. */
async function writeResourceStatus(p: Prepared, result: ApplyResult, revision: string): Promise<ClusterError[]> {
  const view = p.view as CompiledView;
  const statuses = statusesAfterApply({
    resources: p.run.validation.set.resources,
    revision,
    previous: new Map(),
    view,
    agbom: new Map(),
    objects: result.objects,
    errors: result.errors,
    complete: result.complete,
  });
  const written = await writeStatus(customResourceUpdates(statuses.values(), view.customResources), {
    kubeconfig: p.kubeconfig,
    fieldManager: p.opts['field-manager'],
  });
  return written.errors;
}

/** An Event on the ApplySet parent, where `kubectl describe` shows it; not when the API server could not be reached at all. */
async function recordRefusal(p: Prepared, result: ApplyResult): Promise<void> {
  if (result.errors.some((e) => e.code === 'unreachable')) return;
  const first = result.errors[0];
  const message = `apply refused, nothing written: ${result.errors.length} error(s)${first ? `; first: ${formatClusterError(first)}` : ''}`;
  await new EventRecorder(p.kubeconfig, 'joch-apply').record([{ object: result.inventory.parent, reason: 'ApplyRefused', message }]);
}

function durationMs(s: string): number {
  const n = Number.parseInt(s, 10);
  return s.endsWith('ms') ? n : s.endsWith('s') ? n * 1000 : n * 60_000;
}

/** A JSON document from the cluster stage, as JSON or YAML. */
function machine(format: 'json' | 'yaml', json: string): string {
  return renderData(format, JSON.parse(json) as unknown);
}
