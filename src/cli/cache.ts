import { z } from 'zod';
import { cacheDirectory, cacheUsage, clearCache } from '../cache/index.js';
import { checkOptions, UsageError, type CommandContext, type CommandInput } from './context.js';

// The pipeline commands' store (in command-cache.ts, which loads no zod).
export { commandCache } from './command-cache.js';

const Options = z.object({ output: z.enum(['text', 'json']).default('text') });

/** `joch cache dir|stats|clear`. */
export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const opts = checkOptions(input.opts, Options);
  const dir = cacheDirectory({ env: ctx.env });
  if (!dir) throw new UsageError('no cache folder: set JOCH_CACHE_DIR (no home folder is known)');
  const action = input.args[0];
  if (action === 'dir') {
    ctx.stdout(opts.output === 'json' ? `${JSON.stringify({ dir })}\n` : `${dir}\n`);
  } else if (action === 'stats') {
    const usage = cacheUsage(dir);
    ctx.stdout(
      opts.output === 'json'
        ? `${JSON.stringify(usage)}\n`
        : `${usage.dir}: ${usage.entries} entries, ${(usage.bytes / (1024 * 1024)).toFixed(1)} MiB\n`,
    );
  } else {
    const before = cacheUsage(dir);
    clearCache(dir);
    ctx.stdout(opts.output === 'json' ? `${JSON.stringify({ dir, removed: before.entries })}\n` : `removed ${before.entries} entries from ${dir}\n`);
  }
  return 0;
}
