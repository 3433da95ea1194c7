/** `joch validate` reads a correct command line without zod: the same options zod gives, and nothing zod refuses. */
import { describe, expect, it } from 'vitest';
import { validateOptions } from '../../src/cli/validate.js';
import { Options } from '../../src/cli/validate-options.js';

const OUTPUTS = [undefined, 'text', 'json', 'sarif', 'github', 'yaml', 'table', 'xml', 'undefined', 1];
const CHECKS = [undefined, 'schema', 'schema,policy', ' schema , references ', 'schema,,secrets', '', ',', 'schema,nope', 'policy,identity,references,secrets,schema', 3];
const FLAGS = [undefined, true, false, 'yes'];
const CONFIGS = [undefined, 'joch.yaml', 7];

describe('validate options without zod', () => {
  it('equal what zod gives, or are left to zod', () => {
    let answered = 0;
    let valid = 0;
    for (const output of OUTPUTS)
      for (const checks of CHECKS)
        for (const quiet of FLAGS)
          for (const timings of FLAGS)
            for (const config of CONFIGS) {
              const values = { output, checks, quiet, timings, config, color: true, 'no-cache': true };
              const zod = Options.safeParse(values);
              const quick = validateOptions(values);
              if (zod.success) valid++;
              if (quick === undefined) {
                expect(zod.success, JSON.stringify(values)).toBe(false);
                continue;
              }
              answered++;
              expect(zod.success, JSON.stringify(values)).toBe(true);
              expect({ ...quick, checks: [...quick.checks] }).toEqual({ ...zod.data, checks: [...(zod.data?.checks ?? [])] });
            }
    expect(answered).toBe(valid);
    expect(answered).toBeGreaterThan(100);
  });
});
