/**
 * Kubernetes quantities (`250m`, `1.5`, `512Mi`, `2e3`) as exact fractions:
 * the API server compares and stores them exactly, so float arithmetic would
 * call `700m` larger than `0.7`.
 */

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Parses a Kubernetes quantity into an exact fraction. */
export function parseQuantity(v: unknown): { num: bigint; den: bigint } | undefined {
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string') return undefined;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(text.trim());
  if (!m || (!m[2] && !m[3])) return undefined;
  const [, sign, int = '', frac = '', exp, suffix = ''] = m;
  let num = BigInt(`${int}${frac}` || '0');
  let den = 10n ** BigInt(frac.length);
  if (sign === '-') num = -num;
  const binary = BINARY[suffix];
  if (binary !== undefined) return { num: num * binary, den };
  const e = exp !== undefined ? Number(exp.slice(1)) : (DECIMAL[suffix] ?? 0);
  if (e >= 0) num *= 10n ** BigInt(e);
  else den *= 10n ** BigInt(-e);
  return { num, den };
}
