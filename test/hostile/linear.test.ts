/**
 * Every pattern that runs on untrusted text runs in linear time: a 1 MB
 * value of each shape that once made a pattern backtrack is checked, masked
 * and validated. The bound is generous (the machine may be loaded); a
 * quadratic pattern takes minutes on these inputs, not seconds.
 */
import { describe, expect, it } from 'vitest';
import { looksSecret, redactSourceLines, redactText } from '../../src/diagnostics/redact.js';
import { globMatches } from '../../src/policy/conditions.js';
import { credentialIn } from '../../src/schema/secrets.js';
import { pick, rng } from '../support/random.js';
import type { JsonReport } from '../support/repo.js';
import { cli, tmpRepo } from '../support/repo.js';

const MB = 1 << 20;
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

/** Shapes that scan a run and then fail at its end, from every start inside it. */
const SHAPES: Array<[string, string]> = [
  ['a dashed plain scalar (URL userinfo)', fill('a-')],
  ['schemes without a slash', fill('a+b.c-')],
  ['URLs without userinfo', fill('a://b:c')],
  ['JWT headers without payloads', fill('eyJa-')],
  ['SendGrid prefixes', fill('SG.a')],
  ['base64 without an end', fill('Ab9/')],
  ['Basic and a word', fill('Basic aaaa ')],
  ['connection string keys', fill('password=;')],
  ['flow pairs without values', fill('{a: "b, ')],
  ['keys without colons', fill('key ')],
  ['aliases under keys', fill('password: *a ')],
];

function elapsed(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe('patterns on untrusted text are linear', () => {
  it.each(SHAPES)('%s (1 MB) is checked and masked in well under the bound', (_name, text) => {
    expect(text.length).toBe(MB);
    const ms = elapsed(() => {
      looksSecret(text);
      credentialIn(text, 'password');
      redactText(text);
      redactSourceLines([`value: ${text}`, text, `- ${text}`]);
    });
    expect(ms).toBeLessThan(5_000);
  });

  it('a credential at the end of a 1 MB run is still found and masked', () => {
    const text = `${fill('a-')} ghp_${'A1'.repeat(20)}`;
    expect(looksSecret(text)).toBe(true);
    expect(redactText(text)).not.toContain('ghp_');
  });

  it('a manifest holding a 1 MB plain scalar validates (exit 1, located) within the bound', async () => {
    const repo = tmpRepo({
      'tool.yaml': `apiVersion: joch.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: long\nspec:\n  type: http\n  description: ${fill('a-')}\n`,
    });
    const start = performance.now();
    const r = await cli(['validate', '-o', 'json'], repo.root);
    expect(performance.now() - start).toBeLessThan(20_000);
    expect(r.code).not.toBe(2);
    const json = JSON.parse(r.stdout) as JsonReport;
    for (const d of json.diagnostics) expect(d.line).toBeGreaterThan(0);
  });

  it('a policy glob with many stars against a 1 MB fact finishes, and matches as the regular expression it replaced', () => {
    expect(elapsed(() => expect(globMatches('*a*a*a*a*a*a*a*b', fill('a'))).toBe(false))).toBeLessThan(5_000);
    const r = rng(7);
    const reference = (glob: string) => new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    for (let i = 0; i < 2_000; i++) {
      const word = (n: number) => Array.from({ length: n }, () => pick(r, ['a', 'b', '*', '.', '\n'])).join('');
      const glob = word(1 + Math.floor(r() * 6));
      const text = word(Math.floor(r() * 8)).replace(/\*/g, 'c');
      expect(globMatches(glob, text), `${JSON.stringify(glob)} ~ ${JSON.stringify(text)}`).toBe(reference(glob).test(text));
    }
  });
});
