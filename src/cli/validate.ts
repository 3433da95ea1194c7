import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sortDiagnostics, summarize } from '../diagnostics/index.js';
import { PIPELINE_CHECKS, runValidate, validateFromState, type PipelineCheck } from '../pipeline/index.js';
import { pinsOf } from '../model/pins.js';
import { commandCache } from './cache.js';
import { checkOptions, UsageError, useColor, type CommandContext, type CommandInput } from './context.js';
import { FINDINGS_FORMATS, inputPaths, outputOf, pipelineCwd } from './flags.js';
import { renderFindings } from './output.js';
import { Progress } from './progress.js';
import { version } from './version.js';

const Options = z.object({
  output: z.enum(FINDINGS_FORMATS).default('text'),
  checks: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return new Set<PipelineCheck>(PIPELINE_CHECKS);
      const wanted = s.split(',').map((c) => c.trim()).filter(Boolean);
      // An empty list would run nothing and pass everything.
      if (wanted.length === 0) ctx.addIssue({ code: 'custom', message: `name at least one check; the checks are ${PIPELINE_CHECKS.join(', ')}` });
      const bad = wanted.filter((c) => !(PIPELINE_CHECKS as readonly string[]).includes(c));
      if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown check ${bad.join(', ')}; the checks are ${PIPELINE_CHECKS.join(', ')}` });
      return new Set(wanted as PipelineCheck[]);
    }),
  config: z.string().optional(),
  quiet: z.boolean().default(false),
  timings: z.boolean().default(false),
});

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const opts = checkOptions({ ...input.opts, output: outputOf(input.opts) }, Options);
  // A path that does not exist is a mistake in the command line, not a finding.
  const paths = await inputPaths(input.opts, input.args, ctx);
  if (opts.config !== undefined && !existsSync(path.resolve(ctx.cwd, opts.config))) throw new UsageError(`no such file or folder: ${opts.config}`);
  const cache = commandCache(input.opts, ctx);
  const progress = Progress.start(ctx, input.opts);
  progress.step('loading and validating');
  const validateInput = { paths, cwd: pipelineCwd(paths, input.opts, ctx), configFile: opts.config, checks: opts.checks, cache };
  // With the cache, a run after a small change reads and checks only what changed (src/pipeline/incremental.ts).
  const fromState = validateFromState(validateInput);
  if (fromState && 'run' in fromState) {
    cache?.collect();
    progress.done();
    const { run } = fromState;
    ctx.stdout(renderFindings(opts.output, run.diagnostics, run.summary, { color: useColor(input.opts, ctx), quietInfo: opts.quiet, toolVersion: version(), sourceText: run.textOf }));
    if (opts.timings) ctx.stderr(`${formatTimings(run.timings)}incremental: ${run.cached.worked} changed of ${run.cached.reused + run.cached.worked} files\n`);
    noConfigHint(run.project.config, run.summary.files, paths, opts.quiet, ctx);
    return run.summary.errors > 0 ? 1 : 0;
  }
  const validated = await runValidate({ ...validateInput, keepState: true });
  // Deployments held on a promoted version: what compile would say about them (Git and compile load only then).
  const pinned = pinsOf(validated.graphs).length ? await (await import('../pipeline/pins.js')).pinDiagnostics(validated) : [];
  const diagnostics = pinned.length ? sortDiagnostics([...validated.diagnostics, ...pinned]) : validated.diagnostics;
  const run = pinned.length ? { ...validated, diagnostics, summary: summarize(diagnostics, validated.summary.files, validated.summary.resources) } : validated;
  cache?.collect();
  progress.done();
  const color = useColor(input.opts, ctx);
  const texts = run.set.texts;
  const config = run.project.config;
  ctx.stdout(
    renderFindings(opts.output, run.diagnostics, run.summary, {
      color,
      quietInfo: opts.quiet,
      toolVersion: version(),
      sourceText: (file) => texts.get(file) ?? (file === config.file ? config.text : undefined),
    }),
  );
  if (opts.timings) ctx.stderr(formatTimings(run.timings));
  if (opts.timings && fromState && 'fallback' in fromState) ctx.stderr(`incremental: a full run, because ${fromState.fallback}\n`);
  noConfigHint(config, run.summary.files, paths, opts.quiet, ctx);
  return run.summary.errors > 0 ? 1 : 0;
}

/** At a terminal, a repository without joch.yaml is read whole (fixtures included): say how to narrow it. */
function noConfigHint(config: { readonly file?: string | undefined; readonly root: string }, files: number, paths: readonly string[], quiet: boolean, ctx: CommandContext): void {
  if (!config.file && ctx.stderrIsTTY && !quiet && paths.length === 0) {
    ctx.stderr(`joch validate: no joch.yaml, so every YAML file under ${path.relative(ctx.cwd, config.root) || '.'} was read (${files}); list the folders to read in joch.yaml (\`joch init\` writes one) and leave others out with .jochignore\n`);
  }
}


/** Stage timings in milliseconds, for --timings (on stderr, so stdout stays machine-readable). */
function formatTimings(timings: Readonly<Record<string, number>>): string {
  const parts = Object.entries(timings).map(([stage, ms]) => `${stage} ${ms.toFixed(0)} ms`);
  return `timings: ${parts.join(', ')}; process ${(performance.now()).toFixed(0)} ms\n`;
}
