import { existsSync } from 'node:fs';
import path from 'node:path';
import { sortDiagnostics, summarize } from '../diagnostics/index.js';
import { PIPELINE_CHECKS, runValidate, type PipelineCheck, type ValidationRun } from '../pipeline/index.js';
import type { ValidateOptions } from './validate-options.js';
import { pinsOf } from '../model/pins.js';
import { perFileChecksOnly, runFileChecks } from '../pipeline/file-checks.js';
import { commandCache } from './command-cache.js';
import { checkOptions, UsageError, useColor, type CommandContext, type CommandInput } from './context.js';
import { FINDINGS_FORMATS, inputPaths, outputOf, pipelineCwd } from './flags.js';
import { renderFindings } from './output.js';
import { Progress } from './progress.js';
import { version } from './version.js';

/** The options of a command line zod would accept, read without loading it; `undefined` for the rest (zod explains). */
export function validateOptions(values: Readonly<Record<string, unknown>>): ValidateOptions | undefined {
  const { output = 'text', checks, config, quiet = false, timings = false } = values;
  if (typeof output !== 'string' || !(FINDINGS_FORMATS as readonly string[]).includes(output)) return undefined;
  if (!(config === undefined || typeof config === 'string') || typeof quiet !== 'boolean' || typeof timings !== 'boolean') return undefined;
  let wanted: Set<PipelineCheck> = new Set(PIPELINE_CHECKS);
  if (checks !== undefined) {
    if (typeof checks !== 'string') return undefined;
    const names = checks.split(',').map((c) => c.trim()).filter(Boolean);
    if (names.length === 0 || names.some((c) => !(PIPELINE_CHECKS as readonly string[]).includes(c))) return undefined;
    wanted = new Set(names as PipelineCheck[]);
  }
  return { output: output as ValidateOptions['output'], checks: wanted, ...(config === undefined ? {} : { config }), quiet, timings };
}

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const values = { ...input.opts, output: outputOf(input.opts) };
  // zod only to explain a mistake: loading it cost more than validating a small repository.
  const opts = validateOptions(values) ?? checkOptions(values, (await import('./validate-options.js')).Options);
  // A path that does not exist is a mistake in the command line, not a finding.
  const paths = await inputPaths(input.opts, input.args, ctx);
  if (opts.config !== undefined && !existsSync(path.resolve(ctx.cwd, opts.config))) throw new UsageError(`no such file or folder: ${opts.config}`);
  const cache = commandCache(input.opts, ctx);
  const progress = Progress.start(ctx, input.opts);
  progress.step('loading and validating');
  // Only per-file checks and no cache: files are reduced to findings where they are checked, on every free core.
  if (!cache && perFileChecksOnly(opts.checks)) {
    const run = await runFileChecks({ paths, cwd: pipelineCwd(paths, input.opts, ctx), configFile: opts.config, checks: opts.checks });
    progress.done();
    return report(run, { ...opts, color: useColor(input.opts, ctx), paths: paths.length }, run.texts, ctx);
  }
  const validated = await runValidate({ paths, cwd: pipelineCwd(paths, input.opts, ctx), configFile: opts.config, checks: opts.checks, cache });
  // Deployments held on a promoted version: what compile would say about them (Git and compile load only then).
  const pinned = pinsOf(validated.graphs).length ? await (await import('../pipeline/pins.js')).pinDiagnostics(validated) : [];
  const diagnostics = pinned.length ? sortDiagnostics([...validated.diagnostics, ...pinned]) : validated.diagnostics;
  const run = pinned.length ? { ...validated, diagnostics, summary: summarize(diagnostics, validated.summary.files, validated.summary.resources) } : validated;
  cache?.collect();
  progress.done();
  return report(run, { ...opts, color: useColor(input.opts, ctx), paths: paths.length }, run.set.texts, ctx);
}

/** What a run prints, from either pipeline: the findings on stdout, the timings and the hints on stderr; the exit code. */
function report(
  run: Pick<ValidationRun, 'diagnostics' | 'summary' | 'timings' | 'project'>,
  opts: { readonly output: (typeof FINDINGS_FORMATS)[number]; readonly quiet: boolean; readonly timings: boolean; readonly color: boolean; readonly paths: number },
  texts: ReadonlyMap<string, string>,
  ctx: CommandContext,
): number {
  const config = run.project.config;
  ctx.stdout(
    renderFindings(opts.output, run.diagnostics, run.summary, {
      color: opts.color,
      quietInfo: opts.quiet,
      toolVersion: version(),
      sourceText: (file) => texts.get(file) ?? (file === config.file ? config.text : undefined),
    }),
  );
  if (opts.timings) ctx.stderr(formatTimings(run.timings));
  // At a terminal, a repository without joch.yaml is read whole (fixtures included): say how to narrow it.
  if (!config.file && ctx.stderrIsTTY && !opts.quiet && opts.paths === 0) {
    ctx.stderr(`joch validate: no joch.yaml, so every YAML file under ${path.relative(ctx.cwd, config.root) || '.'} was read (${run.summary.files}); list the folders to read in joch.yaml (\`joch init\` writes one) and leave others out with .jochignore\n`);
  }
  return run.summary.errors > 0 ? 1 : 0;
}


/** Stage timings in milliseconds, for --timings (on stderr, so stdout stays machine-readable). */
function formatTimings(timings: Readonly<Record<string, number>>): string {
  const parts = Object.entries(timings).map(([stage, ms]) => `${stage} ${ms.toFixed(0)} ms`);
  return `timings: ${parts.join(', ')}; process ${(performance.now()).toFixed(0)} ms\n`;
}
