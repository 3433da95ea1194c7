/**
 * src/policy/README.md is the design document: it must list every condition
 * key, every baseline rule with its rationale, and every policy code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allCodes } from '../../src/diagnostics/index.js';
import { BASELINE_RULES, CONDITION_KEYS } from '../../src/policy/index.js';
import { ROOT } from './helpers.js';

const readme = readFileSync(path.join(ROOT, 'src/policy/README.md'), 'utf8');

describe('the policy README', () => {
  it('documents every condition key with its phase', () => {
    for (const k of CONDITION_KEYS) expect(readme, k.key).toContain(`| \`${k.key}\` | `);
    for (const k of CONDITION_KEYS) expect(readme, k.key).toMatch(new RegExp(`\\| \`${k.key.replace(/\./g, '\\.')}\` \\|[^\\n]*\\| ${k.phase} \\|`));
  });

  it('documents every baseline rule with its rationale, and every policy code', () => {
    for (const r of BASELINE_RULES) expect(readme, r.code).toContain(`| ${r.code} | \`${r.name}\` | ${r.summary} | ${r.rationale} |`);
    const codes = allCodes().filter((c) => /^JOCH8\d\d$/.test(c.code));
    expect(codes.map((c) => c.code)).toEqual(['JOCH800', 'JOCH801', 'JOCH802', 'JOCH803', 'JOCH804', 'JOCH805', 'JOCH806', 'JOCH810', 'JOCH811']);
    for (const c of codes) expect(readme, c.code).toMatch(new RegExp(`\\| ${c.code} \\| ${c.severity} \\| ${c.locked ? 'yes' : 'no'} \\|`));
  });
});
