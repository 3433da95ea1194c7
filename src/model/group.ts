/** Items by a key, in their order; items without a key are left out. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k) (out.get(k) ?? out.set(k, []).get(k))?.push(item);
  }
  return out;
}
