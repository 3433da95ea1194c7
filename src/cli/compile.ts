import path from 'node:path';
import { z } from 'zod';
import { labelledForCluster, placeObjects, renderFiles, renderStream, selectObjects, shareOf, shareOutput, writeFiles, type ClusterShare, type CompileOutput, type OutputFile } from '../compile/index.js';
import { summarize } from '../diagnostics/index.js';
import { renderRunAgBomFiles } from '../pipeline/agbom-cache.js';
import { runCompile, type CompileRun } from '../pipeline/compile.js';
import { commandCache } from './command-cache.js';
import { checkOptions, UsageError, useColor, type CommandContext, type CommandInput } from './context.js';
import { FINDINGS_FORMATS, inputPaths, outputOf, pipelineCwd } from './flags.js';
import { renderFindings } from './output.js';
import { Progress } from './progress.js';
import { version } from './version.js';

const Options = z
  .object({
    'output-dir': z.string().min(1).optional(),
    stdout: z.boolean().default(false),
    'single-file': z.boolean().default(false),
    crds: z.enum(['include', 'only', 'skip']).default('include'),
    'without-policy': z.boolean().default(false),
    'no-agbom': z.boolean().default(false),
    output: z.enum(FINDINGS_FORMATS).default('text'),
    config: z.string().optional(),
    quiet: z.boolean().default(false),
    cluster: z.string().min(1).optional(),
  })
  .refine((o) => Boolean(o['output-dir']) !== o.stdout, { message: 'give exactly one of --output-dir DIR and --stdout', path: ['output-dir'] });

const Epoch = z.coerce.number().int().nonnegative();

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const opts = checkOptions({ ...input.opts, output: outputOf(input.opts) }, Options);
  const paths = await inputPaths(input.opts, input.args, ctx);
  const epoch = ctx.env.SOURCE_DATE_EPOCH === undefined ? undefined : Epoch.safeParse(ctx.env.SOURCE_DATE_EPOCH);
  if (epoch && !epoch.success) throw new UsageError('SOURCE_DATE_EPOCH must be a whole number of seconds');

  const cache = commandCache(input.opts, ctx);
  const progress = Progress.start(ctx, input.opts);
  progress.step('loading, validating and compiling');
  const result = await runCompile({
    paths,
    cwd: pipelineCwd(paths, input.opts, ctx),
    configFile: opts.config,
    withoutPolicy: opts['without-policy'],
    sourceDateEpoch: epoch?.data,
    cache,
  });
  cache?.collect();
  progress.done();

  // With --stdout the objects own stdout: diagnostics go to stderr.
  const report = opts.stdout ? ctx.stderr : ctx.stdout;
  const texts = result.validation.set.texts;
  const color = useColor(input.opts, ctx, opts.stdout ? 'stderr' : 'stdout');
  report(
    renderFindings(opts.output, result.diagnostics, result.summary, {
      color,
      quietInfo: opts.quiet,
      toolVersion: version(),
      sourceText: (file) => texts.get(file),
    }),
  );
  if (result.refused || !result.output) {
    if (opts.output === 'text' || opts.output === 'table') report('joch compile: nothing was emitted because of the errors above\n');
    return 1;
  }

  const shares = sharesToWrite(result, opts.cluster);
  if (opts.stdout) {
    ctx.stdout(renderStream(selectObjects(shares.only?.objects ?? result.output.objects, opts.crds)));
    return 0;
  }
  const dir = path.resolve(ctx.cwd, opts['output-dir'] as string);
  const parts: { prefix: string; output: CompileOutput; agents: ReadonlySet<string> | undefined }[] = shares.perCluster
    ? shares.perCluster.map((share) => ({ prefix: `${share.cluster}/`, output: shareOutput(result.output as CompileOutput, share), agents: new Set(share.agents) }))
    : [{ prefix: '', output: shares.only ? shareOutput(result.output, shares.only) : result.output, agents: shares.only ? new Set(shares.only.agents) : undefined }];
  const files: OutputFile[] = [];
  for (const part of parts) files.push(...renderFiles(part.output, { singleFile: opts['single-file'], crds: opts.crds }).map((f) => ({ ...f, path: part.prefix + f.path })));
  if (!opts['no-agbom'] && opts.crds !== 'only') {
    progress.step('building AgBOMs');
    // Each agent's AgBOM in every format under agbom/<namespace>/<agent>.<ext>; the path carries no generation, so a file is rewritten only when the inventory changes.
    const boms = renderRunAgBomFiles(result.validation, { toolVersion: version(), env: ctx.env }, cache);
    if (!boms.ok) {
      progress.done();
      report(
        renderFindings(opts.output, boms.blocking, summarize(boms.blocking, result.summary.files, result.summary.resources), {
          color,
          toolVersion: version(),
          sourceText: (file) => texts.get(file),
        }),
      );
      if (opts.output === 'text' || opts.output === 'table') report('joch compile: nothing was emitted because of the errors above\n');
      return 1;
    }
    for (const part of parts) {
      for (const bom of boms.files) if (!part.agents || part.agents.has(bom.agent)) files.push({ path: part.prefix + bom.path, content: bom.content });
    }
  }
  progress.step(`writing ${files.length} files`);
  const stats = writeFiles(dir, files);
  progress.done();
  if (opts.output === 'text' || opts.output === 'table') {
    report(
      `joch compile: ${result.output.objects.length} objects and ${result.output.manifests.length} agent manifests in ${path.relative(ctx.cwd, dir) || '.'}` +
        `${shares.perCluster ? `, one folder per cluster (${shares.perCluster.map((c) => c.cluster).join(', ')})` : shares.only ? `, the share of cluster ${shares.only.cluster} (${shares.only.objects.length} objects)` : ''} ` +
        `(${stats.written} written, ${stats.unchanged} unchanged, ${stats.removed} removed)\n`,
    );
  }
  return 0;
}

/**
 * What goes where: without joch.yaml `clusters`, everything as one output;
 * with them, the share of `--cluster`, or else one folder per cluster.
 */
function sharesToWrite(result: CompileRun, cluster: string | undefined): { only?: ClusterShare; perCluster?: readonly ClusterShare[] } {
  const loaded = result.validation.project.config;
  if (!loaded.config.clusters) {
    if (cluster !== undefined) throw new UsageError(`--cluster ${cluster}: joch.yaml maps no clusters; without them everything goes to the kubeconfig's cluster`);
    return {};
  }
  const placement = placeObjects({ resources: result.validation.set.resources, graphs: result.validation.graphs, references: result.validation.validation.references, output: result.output as CompileOutput, config: loaded.config });
  if (cluster === undefined) return { perCluster: placement.shares.map((s) => labelledForCluster(s, loaded.config)) };
  const found = shareOf(placement, cluster);
  const share = found && labelledForCluster(found, loaded.config);
  if (!share) throw new UsageError(`--cluster ${cluster}: no such cluster in joch.yaml clusters (${placement.shares.map((s) => s.cluster).join(', ')}) and no Environment names it`);
  return { only: share };
}
