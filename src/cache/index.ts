/**
 * The persistent cache: a content-addressed store under the OS cache folder
 * that stages use to skip work whose inputs they have seen before (a file's
 * parse and per-document findings, a compiled unit). Plain data in and out;
 * safe to delete at any time; never trusted across versions (every key
 * includes the build id: the package version, the schemas and the code that
 * produced the entry).
 */
import { buildId } from './build-id.js';
import { cacheDirectory, cacheDisabledByEnv, type CacheEnvironment } from './location.js';
import { CacheStore, DEFAULT_MAX_BYTES } from './store.js';

export { buildId, bundleCodeDigest, CODE_DIGEST_FILE, computeBuildId } from './build-id.js';
export { cacheDirectory, cacheDisabledByEnv, type CacheEnvironment } from './location.js';
export { CacheStore, cacheUsage, clearCache, DEFAULT_MAX_BYTES, type CacheCounters, type CacheUsage, type StoreOptions } from './store.js';

export interface OpenCacheOptions extends CacheEnvironment {
  /** `--no-cache`. */
  readonly disabled?: boolean | undefined;
  /** Replaces the build id (tests use it to stand for another version). */
  readonly buildId?: string | undefined;
}

/** The store, or undefined when caching is off (`--no-cache`, JOCH_NO_CACHE) or there is nowhere to put it. */
export function openCache(options: OpenCacheOptions): CacheStore | undefined {
  if (options.disabled || cacheDisabledByEnv(options.env)) return undefined;
  const dir = cacheDirectory(options);
  if (!dir) return undefined;
  return new CacheStore({ dir, buildId: options.buildId ?? buildId(), maxBytes: maxBytesOf(options.env) });
}

/** JOCH_CACHE_MAX_MB bounds the store; the default is 1 GiB. */
function maxBytesOf(env: Readonly<Record<string, string | undefined>>): number {
  const mb = Number(env.JOCH_CACHE_MAX_MB);
  return Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : DEFAULT_MAX_BYTES;
}
