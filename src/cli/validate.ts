import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatDiagnostics, OUTPUT_FORMATS } from '../diagnostics/index.js';
import { PIPELINE_CHECKS, runValidate, type PipelineCheck } from '../pipeline/index.js';
import { checkOptions, parseCommandLine, UsageError, type CommandContext } from './context.js';
import { version } from './main.js';

const Options = z.object({
  format: z.enum(OUTPUT_FORMATS).default('text'),
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
  color: z.boolean().optional(),
});

export async function run(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  const opts = checkOptions(values, Options);
  // A path that does not exist is a mistake in the command line, not a finding.
  for (const p of [...positionals, ...(opts.config === undefined ? [] : [opts.config])]) {
    if (!existsSync(path.resolve(ctx.cwd, p))) throw new UsageError(`no such file or folder: ${p}`);
  }
  const run = await runValidate({ paths: positionals, cwd: ctx.cwd, configFile: opts.config, checks: opts.checks });
  const color = opts.color ?? (ctx.isTTY && !ctx.env.NO_COLOR);
  const texts = run.set.texts;
  const config = run.project.config;
  ctx.stdout(
    formatDiagnostics(opts.format, run.diagnostics, run.summary, {
      color,
      quietInfo: opts.quiet,
      toolVersion: version(),
      sourceText: (file) => texts.get(file) ?? (file === config.file ? config.text : undefined),
    }),
  );
  if (opts.timings) ctx.stderr(formatTimings(run.timings));
  return run.summary.errors > 0 ? 1 : 0;
}

const OPTIONS = {
  format: { type: 'string', short: 'f' },
  checks: { type: 'string' },
  config: { type: 'string', short: 'c' },
  quiet: { type: 'boolean', short: 'q' },
  timings: { type: 'boolean' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const;

/** Stage timings in milliseconds, for --timings (on stderr, so stdout stays machine-readable). */
function formatTimings(timings: Readonly<Record<string, number>>): string {
  const parts = Object.entries(timings).map(([stage, ms]) => `${stage} ${ms.toFixed(0)} ms`);
  return `timings: ${parts.join(', ')}; process ${(performance.now()).toFixed(0)} ms\n`;
}
