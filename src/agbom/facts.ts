/** Collecting facts: skips empty values, keeps the output sorted and free of duplicates. */
import { byString } from './identity.js';
import type { AgBom, Fact } from './model.js';
import { scalar } from './spec.js';

export class Facts {
  private readonly list: Fact[] = [];

  /** Adds `name = value` when the value is a non-empty scalar. */
  add(name: string, value: unknown): this {
    const v = scalar(value);
    if (v !== undefined) this.list.push({ name, value: v });
    return this;
  }

  addAll(name: string, values: readonly unknown[]): this {
    for (const v of values) this.add(name, v);
    return this;
  }

  /** Adds every scalar field of `from` as `prefix:field`. */
  addFields(prefix: string, from: Readonly<Record<string, unknown>> | undefined, fields: readonly string[]): this {
    if (!from) return this;
    for (const f of fields) this.add(`${prefix}:${f}`, from[f]);
    return this;
  }

  done(): Fact[] {
    const seen = new Set<string>();
    const out: Fact[] = [];
    for (const f of this.list) {
      const id = `${f.name}\0${f.value}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(f);
    }
    return out.sort((a, b) => byString(a.name, b.name) || byString(a.value, b.value));
  }
}

/**
 * What every projection says about the document itself, after its own first
 * fact: the generation, the inventory hash, where the policies came from, the
 * source revision and what was left out.
 */
export function documentFacts(bom: AgBom): Fact[] {
  const out: Fact[] = [
    { name: 'joch:agbom:generation', value: String(bom.generation.generation) },
    { name: 'joch:agbom:inventoryHash', value: bom.inventoryHash },
    { name: 'joch:agbom:policies', value: bom.inventory.policiesFromBundle ? 'policy-bundle' : 'attached-only' },
  ];
  if (bom.generation.revision) out.push({ name: 'joch:agbom:sourceRevision', value: bom.generation.revision });
  for (const c of bom.inventory.excluded) out.push({ name: 'joch:agbom:excluded', value: c });
  return out;
}

export function factValue(facts: readonly Fact[], name: string): string | undefined {
  return facts.find((f) => f.name === name)?.value;
}
