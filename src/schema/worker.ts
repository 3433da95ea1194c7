/** The entry of a worker thread of parallel.ts: answers check requests until terminated. */
import { serveChecks } from './parallel.js';

serveChecks();
