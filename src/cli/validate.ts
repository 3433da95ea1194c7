import { existsSync } from 'node:fs';
import path from 'node:path';
import { sortDiagnostics, summarize } from '../diagnostics/index.js';
import { PIPELINE_CHECKS, runValidate, validateFromState, type PipelineCheck, type ValidationRun } from '../pipeline/index.js';
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
  const cwd = pipelineCwd(paths, input.opts, ctx);
  const shown = { ...opts, color: useColor(input.opts, ctx), paths: paths.length };
  // Only per-file checks and no cache: files are reduced to findings where they are checked, on every free core.
  if (!cache && perFileChecksOnly(opts.checks)) {
    const run = await runFileChecks({ paths, cwd, configFile: opts.config, checks: opts.checks });
    progress.done();
    return report(run, shown, sourceTexts(run.texts, run.project.config), ctx);
  }
  const validateInput = { paths, cwd, configFile: opts.config, checks: opts.checks, cache };
  // With the cache, a run after a small change reads and checks only what changed (src/pipeline/incremental.ts).
  const fromState = validateFromState(validateInput);
  if (fromState && 'run' in fromState) {
    cache?.collect();
    progress.done();
    const { run } = fromState;
    return report(run, shown, run.textOf, ctx, `incremental: ${run.cached.worked} changed of ${run.cached.reused + run.cached.worked} files\n`);
  }
  const validated = await runValidate({ ...validateInput, keepState: true });
  // Deployments held on a promoted version: what compile would say about them (Git and compile load only then).
  const pinned = pinsOf(validated.graphs).length ? await (await import('../pipeline/pins.js')).pinDiagnostics(validated) : [];
  const diagnostics = pinned.length ? sortDiagnostics([...validated.diagnostics, ...pinned]) : validated.diagnostics;
  const run = pinned.length ? { ...validated, diagnostics, summary: summarize(diagnostics, validated.summary.files, validated.summary.resources) } : validated;
  cache?.collect();
  progress.done();
  const fallback = opts.timings && fromState && 'fallback' in fromState ? `incremental: a full run, because ${fromState.fallback}\n` : '';
  return report(run, shown, sourceTexts(run.set.texts, run.project.config), ctx, fallback);
}

/** A file's text for the excerpts: the manifests read, and joch.yaml. */
function sourceTexts(texts: ReadonlyMap<string, string>, config: { readonly file?: string | undefined; readonly text?: string | undefined }): (file: string) => string | undefined {
  return (file) => texts.get(file) ?? (file === config.file ? config.text : undefined);
}

/** What a run prints, from any of the three paths: the findings on stdout, the timings and the hints on stderr; the exit code. */
function report(
  run: Pick<ValidationRun, 'diagnostics' | 'summary' | 'timings' | 'project'>,
  opts: { readonly output: (typeof FINDINGS_FORMATS)[number]; readonly quiet: boolean; readonly timings: boolean; readonly color: boolean; readonly paths: number },
  sourceText: (file: string) => string | undefined,
  ctx: CommandContext,
  timingsNote = '',
): number {
  ctx.stdout(renderFindings(opts.output, run.diagnostics, run.summary, { color: opts.color, quietInfo: opts.quiet, toolVersion: version(), sourceText }));
  if (opts.timings) ctx.stderr(`${formatTimings(run.timings)}${timingsNote}`);
  noConfigHint(run.project.config, run.summary.files, opts.paths, opts.quiet, ctx);
  return run.summary.errors > 0 ? 1 : 0;
}

/** At a terminal, a repository without joch.yaml is read whole (fixtures included): say how to narrow it. */
function noConfigHint(config: { readonly file?: string | undefined; readonly root: string }, files: number, paths: number, quiet: boolean, ctx: CommandContext): void {
  if (!config.file && ctx.stderrIsTTY && !quiet && paths === 0) {
    ctx.stderr(`joch validate: no joch.yaml, so every YAML file under ${path.relative(ctx.cwd, config.root) || '.'} was read (${files}); list the folders to read in joch.yaml (\`joch init\` writes one) and leave others out with .jochignore\n`);
  }
}


/** Stage timings in milliseconds, for --timings (on stderr, so stdout stays machine-readable). */
function formatTimings(timings: Readonly<Record<string, number>>): string {
  const parts = Object.entries(timings).map(([stage, ms]) => `${stage} ${ms.toFixed(0)} ms`);
  return `timings: ${parts.join(', ')}; process ${(performance.now()).toFixed(0)} ms\n`;
}
