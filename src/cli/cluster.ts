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
  type Plan,
  clusterInventory,
  kubeConfigForCluster,
  sharedInventories,
  ClusterAccessError,
} from '../cluster/index.js';
import { placeObjects, shareOf, type Placement } from '../compile/index.js';
import { unmappedClusterFindings } from '../pipeline/clusters.js';
import { formatDiagnostics, sortDiagnostics, summarize, type Finding } from '../diagnostics/index.js';
import { findingResolver } from '../pipeline/findings.js';
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
  cluster: z.string().min(1).optional(),
});

type Opts = z.infer<typeof Options>;

interface Prepared {
  readonly opts: Opts;
  readonly run: CompileRun;
  readonly placement: Placement | undefined;
  /** One per cluster the command works on; empty when the run was refused. */
  readonly targets: readonly Target[];
  /** Clusters that could not be reached with what joch.yaml says: the others go on. */
  readonly unreachable: readonly ClusterAccessError[];
}

/** One cluster's share, how to reach it, and its own ApplySet. */
interface Target {
  /** Undefined without joch.yaml `clusters`: the one cluster of the kubeconfig. */
  readonly cluster: string | undefined;
  readonly kubeconfig: KubeConfig;
  readonly view: CompiledView;
  readonly options: PlanOptions;
}

async function prepare(input: CommandInput, ctx: CommandContext, progress: Progress): Promise<Prepared> {
  const opts = checkOptions({ ...input.opts, output: outputOf(input.opts) }, Options);
  const paths = await inputPaths(input.opts, input.args, ctx);
  progress.step('loading, validating and compiling');
  let run = await runCompile({ paths, cwd: ctx.cwd, configFile: opts.config });
  const loaded = run.validation.project.config;
  const clusters = loaded.config.clusters;
  if (!clusters) {
    if (opts.cluster !== undefined) throw new UsageError(`--cluster ${opts.cluster}: joch.yaml maps no clusters; without them everything goes to the kubeconfig's cluster`);
    // Today's single cluster: no placement, the kubeconfig as kubectl finds it.
    const kubeconfig = loadKubeConfig(opts, ctx);
    const view = run.output ? new OriginResolver().view(run.validation.set, run.output.objects) : undefined;
    const targets = view ? [{ cluster: undefined, kubeconfig, view, options: planOptions(opts, kubeconfig, inventoryOf(opts)) }] : [];
    return { opts, run, placement: undefined, targets, unreachable: [] };
  }
  const placement = run.output ? placeObjects({ resources: run.validation.set.resources, graphs: run.validation.graphs, references: run.validation.validation.references, output: run.output, config: loaded.config }) : undefined;
  const chosen = opts.cluster === undefined ? Object.keys(clusters).sort() : [opts.cluster];
  if (opts.cluster !== undefined && !(opts.cluster in clusters)) {
    // An Environment names it: an error at that Environment's line. Nobody does: a usage error.
    const located = unmappedClusterFindings(run.validation.set.resources, loaded.config, new Set([opts.cluster])).filter((f) => f.severity === 'error');
    if (located.length === 0) throw new UsageError(`--cluster ${opts.cluster}: no such cluster in joch.yaml clusters (${Object.keys(clusters).sort().join(', ')}) and no Environment names it`);
    run = withFindings(run, located);
    return { opts, run, placement, targets: [], unreachable: [] };
  }
  if (!placement) return { opts, run, placement, targets: [], unreachable: [] };
  // joch.yaml's `context` entries pick their own context: the file need not name a current one.
  // Each is read once for every cluster: kubeConfigForCluster copies what it takes from them.
  let baseConfig: KubeConfig | undefined;
  let homeConfig: KubeConfig | undefined;
  const base = () => (baseConfig ??= loadKubeConfig(opts, ctx, { requireCurrent: false }));
  const home = () => (homeConfig ??= loadKubeConfig(opts, ctx));
  // One resolver for every share: the objects each cluster receives are located once.
  const origins = new OriginResolver();
  const targets: Target[] = [];
  const unreachable: ClusterAccessError[] = [];
  for (const cluster of chosen) {
    const access = clusters[cluster];
    if (!access) continue;
    let kubeconfig: KubeConfig;
    try {
      // secretRef entries read their Secret through the kubeconfig in use, as joch sync reads it through its own cluster.
      kubeconfig = await kubeConfigForCluster(cluster, access, { baseDir: loaded.root, base, home });
    } catch (e) {
      if (!(e instanceof ClusterAccessError)) throw e;
      unreachable.push(e);
      continue;
    }
    const share = shareOf(placement, cluster);
    const view = origins.view(run.validation.set, share?.objects ?? []);
    targets.push({ cluster, kubeconfig, view, options: planOptions(opts, kubeconfig, clusterInventory(access, inventoryOf(opts))) });
  }
  const shared = sharedInventories(targets.map((t) => ({ cluster: t.cluster as string, kubeconfig: t.kubeconfig, inventory: t.options.inventory })));
  if (shared.length) throw new UsageError(shared.join('; '));
  return { opts, run, placement, targets, unreachable };
}

function inventoryOf(opts: Opts): InventoryRef {
  const [namespace, name] = opts.inventory.split('/') as [string, string];
  return { namespace, name };
}

function planOptions(opts: Opts, kubeconfig: KubeConfig, inventory: InventoryRef): PlanOptions {
  return {
    kubeconfig,
    inventory,
    fieldManager: opts['field-manager'],
    prune: !opts['no-prune'],
    force: opts.force,
    recreateImmutable: opts.recreate,
    pruneGuard: { maxShare: opts['max-prune-share'], allowMassPrune: opts['allow-mass-prune'] },
  };
}

/** The run with more findings, which refuse it when one is an error. */
function withFindings(run: CompileRun, findings: readonly Finding[]): CompileRun {
  const added = findingResolver(run.validation.set.texts, run.validation.project.config)(findings);
  // The note the validate stage made at the same place says less than the error now.
  const kept = run.diagnostics.filter((d) => !(d.code === 'JOCH005' && added.some((a) => a.code === 'JOCH005' && a.file === d.file && a.line === d.line)));
  const diagnostics = sortDiagnostics([...kept, ...added]);
  const summary = summarize(diagnostics, run.summary.files, run.summary.resources);
  return { ...run, diagnostics, summary, refused: run.refused || summary.errors > 0, output: summary.errors > 0 ? undefined : run.output };
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

export function loadKubeConfig(
  opts: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined },
  ctx: CommandContext,
  { requireCurrent = true }: { readonly requireCurrent?: boolean } = {},
): KubeConfig {
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
  if (requireCurrent && !kc.getCurrentCluster()) throw new NoClusterError('the kubeconfig names no current cluster');
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

function printErrors(errors: readonly ClusterError[], ctx: CommandContext, prefix = ''): void {
  for (const line of summarizeErrors(errors)) ctx.stderr(`${prefix}${line}\n`);
}

/** A line that says which cluster the output below is about, when there are several. */
function clusterHeading(t: Target, p: Prepared): string {
  return t.cluster !== undefined && p.opts.cluster === undefined ? `cluster ${t.cluster}:\n` : '';
}

/** What could not be reached, on stderr; true when there was anything. */
function printUnreachable(p: Prepared, ctx: CommandContext): boolean {
  for (const e of p.unreachable) ctx.stderr(`joch: ${e.message}\n`);
  return p.unreachable.length > 0;
}

export async function diff(input: CommandInput, ctx: CommandContext): Promise<number> {
  const progress = Progress.start(ctx, input.opts);
  const p = await prepare(input, ctx, progress);
  if (!p.run.output) {
    progress.done();
    printRefusal(p, ctx);
    return 2;
  }
  const plans: { target: Target; plan: Plan }[] = [];
  for (const t of p.targets) {
    progress.step(`comparing ${t.view.desired.length} objects with ${t.cluster === undefined ? 'the cluster' : `cluster ${t.cluster}`}`);
    plans.push({ target: t, plan: await planApply(t.view.desired, t.options) });
  }
  progress.done();
  if (p.opts.output !== 'text') {
    ctx.stdout(machine(p.opts.output, byCluster(p, plans.map(({ target, plan }) => [target, formatPlanJson(plan)]))));
  } else {
    for (const { target, plan } of plans) ctx.stdout(clusterHeading(target, p) + formatPlanText(plan, { showUnchanged: p.opts['show-unchanged'] }));
  }
  let failed = printUnreachable(p, ctx);
  for (const { target, plan } of plans) {
    if (plan.errors.length) printErrors(plan.errors, ctx, target.cluster !== undefined && p.opts.cluster === undefined ? `cluster ${target.cluster}: ` : '');
    failed ||= plan.errors.length > 0;
  }
  if (failed) return 2;
  return plans.some(({ plan: { summary: s } }) => s.create + s.update + s.recreate + s.delete > 0) ? 1 : 0;
}

/**
 * One JSON document for the command's output: the cluster stage's own when
 * it worked on one cluster as before, else `{clusters: {NAME: ...}}`.
 */
function byCluster(p: Prepared, docs: readonly (readonly [Target, string])[]): string {
  const [only] = docs;
  if (only && docs.length === 1 && (only[0].cluster === undefined || p.opts.cluster !== undefined)) return only[1];
  return JSON.stringify({ clusters: Object.fromEntries(docs.map(([t, json]) => [t.cluster as string, JSON.parse(json) as unknown])) });
}

export async function apply(input: CommandInput, ctx: CommandContext): Promise<number> {
  const progress = Progress.start(ctx, input.opts);
  const p = await prepare(input, ctx, progress);
  if (!p.run.output) {
    progress.done();
    printRefusal(p, ctx);
    return 1;
  }
  const wait = p.opts.wait ? { timeoutMs: durationMs(p.opts.wait) } : undefined;
  const revision = p.run.validation.snapshot.revision ?? (await workingTreeRevision(p.run.validation.snapshot)) ?? 'working-tree';
  // Cluster by cluster: one that fails or cannot be reached does not keep the others from their share.
  const results: { target: Target; result: ApplyResult; statusErrors: ClusterError[] }[] = [];
  for (const t of p.targets) {
    const where = t.cluster === undefined ? '' : ` to cluster ${t.cluster}`;
    progress.step(`applying ${t.view.desired.length} objects${where}${wait ? ` and waiting up to ${p.opts.wait} for them to be healthy` : ''}`);
    const onProgress = (at: ApplyProgress) => progress.count(at.phase === 'applying' ? 'applying' : 'waiting for health:', at.done, at.total);
    const result = await applySet(t.view.desired, { ...t.options, sourceCommit: revision, onProgress, ...(wait ? { wait } : {}) });
    progress.step('writing status');
    // A refused run changed nothing, so it rewrites no status: the refusal goes on the inventory as an Event.
    const refused = !result.complete && !wroteAnything(result);
    const statusErrors = refused ? [] : await writeResourceStatus(p, t, result, revision);
    if (refused) await recordRefusal(t, result);
    results.push({ target: t, result, statusErrors });
  }
  progress.done();
  if (p.opts.output !== 'text') ctx.stdout(machine(p.opts.output, byCluster(p, results.map(({ target, result }) => [target, formatApplyResultJson(result)]))));
  else for (const { target, result } of results) ctx.stdout(clusterHeading(target, p) + formatApplyResultText(result, { errors: false }));
  let ok = !printUnreachable(p, ctx);
  for (const { target, result, statusErrors } of results) {
    const prefix = target.cluster !== undefined && p.opts.cluster === undefined ? `cluster ${target.cluster}: ` : '';
    for (const line of summarizeErrors([...result.errors, ...statusErrors])) ctx.stderr(`${prefix}${line}\n`);
    ok &&= result.complete && result.errors.length === 0;
  }
  return ok ? 0 : 1;
}

/** Each touched Joch resource's custom resource gets its status: applied or failed, health, revision, compiled hash. */
async function writeResourceStatus(p: Prepared, t: Target, result: ApplyResult, revision: string): Promise<ClusterError[]> {
  const statuses = statusesAfterApply({
    resources: p.run.validation.set.resources,
    revision,
    previous: new Map(),
    view: t.view,
    agbom: new Map(),
    objects: result.objects,
    errors: result.errors,
    complete: result.complete,
  });
  const written = await writeStatus(customResourceUpdates(statuses.values(), t.view.customResources), {
    kubeconfig: t.kubeconfig,
    fieldManager: p.opts['field-manager'],
  });
  return written.errors;
}

/** An Event on the ApplySet parent, where `kubectl describe` shows it; not when the API server could not be reached at all. */
async function recordRefusal(t: Target, result: ApplyResult): Promise<void> {
  if (result.errors.some((e) => e.code === 'unreachable')) return;
  const first = result.errors[0];
  const message = `apply refused, nothing written: ${result.errors.length} error(s)${first ? `; first: ${formatClusterError(first)}` : ''}`;
  await new EventRecorder(t.kubeconfig, 'joch-apply').record([{ object: result.inventory.parent, reason: 'ApplyRefused', message }]);
}

function durationMs(s: string): number {
  const n = Number.parseInt(s, 10);
  return s.endsWith('ms') ? n : s.endsWith('s') ? n * 1000 : n * 60_000;
}

/** A JSON document from the cluster stage, as JSON or YAML. */
function machine(format: 'json' | 'yaml', json: string): string {
  return renderData(format, JSON.parse(json) as unknown);
}
