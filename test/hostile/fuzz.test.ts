/**
 * The loader and validator under structure-aware mutations of the example
 * fleet (test/hostile/fuzz.ts): no crash, every error located, JSON that
 * parses, bounded time. A few hundred cases here with a fixed seed;
 * `npm run fuzz` runs more (JOCH_FUZZ_CASES, JOCH_FUZZ_SEED).
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz.js';

const CASES = Number(process.env['JOCH_FUZZ_CASES'] ?? 200);
const SEED = Number(process.env['JOCH_FUZZ_SEED'] ?? 11);

describe('fuzzing the loader and validator', () => {
  it(`${CASES} mutated fleets (seed ${SEED}): no crash, every error located, bounded time`, () => {
    const result = runFuzz(CASES, SEED);
    // The figures, for the record of a longer run.
    console.log(`fuzz: ${result.cases} cases, ${result.problems.length} problems, ${result.errorsFound} errors reported, slowest ${Math.round(result.slowest.ms)} ms (case ${result.slowest.case}: ${result.slowest.mutations.join(', ')})`);
    expect(result.problems).toEqual([]);
    // The mutations do break things: a fuzzer that finds nothing to report is not fuzzing.
    expect(result.errorsFound).toBeGreaterThan(CASES / 4);
  }, 600_000);
});
