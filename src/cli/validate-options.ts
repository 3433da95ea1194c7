/**
 * `joch validate`'s options in zod, which explains a mistake in them
 * (validate.ts reads a correct command line without loading it).
 */
import { z } from 'zod';
import { PIPELINE_CHECKS, type PipelineCheck } from '../pipeline/index.js';
import { FINDINGS_FORMATS } from './flags.js';

export const Options = z.object({
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

export type ValidateOptions = z.output<typeof Options>;
