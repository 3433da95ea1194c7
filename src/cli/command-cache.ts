import { openCache, type CacheStore } from '../cache/index.js';
import type { CommandContext } from './context.js';

/** The store a pipeline command uses, unless `--no-cache` or JOCH_NO_CACHE turned it off. */
export function commandCache(opts: Readonly<Record<string, unknown>>, ctx: CommandContext): CacheStore | undefined {
  return openCache({ env: ctx.env, disabled: opts['no-cache'] === true });
}
