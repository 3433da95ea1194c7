/**
 * One of several processes writing and reading the same cache entries at once
 * (test/cache/store.test.ts): prints how many reads saw a torn entry (a value
 * that is not one whole write) and how many hit.
 */
import { CacheStore } from '../../../src/cache/index.js';

const [dir, writerArg] = process.argv.slice(2);
const writer = Number(writerArg);
const store = new CacheStore({ dir: dir as string, buildId: 'hammer' });
let torn = 0;
let hits = 0;
for (let round = 0; round < 15; round++) {
  for (let k = 0; k < 20; k++) {
    store.put('file', `k${k}`, { key: k, writer, body: `${k}:${writer}:`.repeat(2000) });
    const seen = store.get<{ key: number; writer: number; body: string }>('file', `k${(k + writer) % 20}`);
    if (seen === undefined) continue;
    hits++;
    if (seen.body !== `${seen.key}:${seen.writer}:`.repeat(2000) || seen.key !== (k + writer) % 20) torn++;
  }
}
process.stdout.write(`${JSON.stringify({ torn, hits, failures: store.counters.failures })}\n`);
