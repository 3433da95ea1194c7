/**
 * The entry of a worker thread of parallel.ts: answers check requests until
 * terminated. It turns on the compile cache the main thread uses (a worker
 * does not inherit it) before it loads its modules: compiling them again,
 * the standalone validators above all, was most of a worker's start-up.
 */
import module from 'node:module';
import { workerData } from 'node:worker_threads';

const cacheDir = (workerData as { compileCacheDir?: unknown } | null)?.compileCacheDir;
if (typeof cacheDir === 'string' && typeof module.enableCompileCache === 'function') {
  try {
    module.enableCompileCache(cacheDir);
  } catch {
    // Speed only: a worker without the cache still answers.
  }
}
const { serveChecks } = await import('./parallel.js');
serveChecks();
