/**
 * Compares a desired object with the live object restricted to the fields
 * our field manager owns (metadata.managedFields, FieldsV1). This is the
 * no-op test and the source of plan diffs:
 * - fields other managers own, and server defaults, are never looked at, so
 *   they never show as changes;
 * - a field we set whose live value differs is a change (drift, or a new
 *   desired value);
 * - a field we set that we do not own is a change even when the value is
 *   equal (the apply is needed to take ownership, so later removals work);
 * - a field we own that the desired object no longer sets is a removal.
 *
 * FieldsV1 tells us each list's merge type: `k:{...}` children mean an
 * associative list keyed by those fields, `v:` children a set, and a leaf
 * (`{}`) an atomic value compared as a whole.
 */
import type { FieldChange } from './types.js';
import { parseQuantity } from '../model/quantity.js';

export type FieldsNode = { [key: string]: FieldsNode };

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: FieldsNode;
  subresource?: string;
}

/** The fields `manager` owns through Apply at `apiVersion`, on the main resource or on `subresource` (`status`). */
export function ownedFields(live: Record<string, unknown>, manager: string, apiVersion: string, subresource?: string): FieldsNode | undefined {
  const entries = (live['metadata'] as { managedFields?: ManagedFieldsEntry[] } | undefined)?.managedFields ?? [];
  for (const e of entries) {
    const onPart = (e.subresource ?? '') === (subresource ?? '');
    if (e.manager === manager && e.operation === 'Apply' && onPart && e.apiVersion === apiVersion && e.fieldsType === 'FieldsV1') {
      return e.fieldsV1 ?? {};
    }
  }
  return undefined;
}

export interface CompareResult {
  changes: FieldChange[];
  /** Fields set with the live value already, but not owned by us. */
  unownedEqual: number;
}

export interface CompareContext {
  /** Compare resource quantities numerically (built-in kinds canonicalise them). */
  quantities: boolean;
}

const IDENTITY = new Set(['apiVersion', 'kind']);
const METADATA_IDENTITY = new Set(['name', 'namespace', 'generateName', 'uid', 'resourceVersion', 'creationTimestamp', 'managedFields']);

export function compareOwned(
  desired: Record<string, unknown>,
  live: Record<string, unknown>,
  owned: FieldsNode | undefined,
  ctx: CompareContext,
): CompareResult {
  const w = new Walker(ctx);
  const root = owned ?? {};
  for (const [k, v] of Object.entries(desired)) {
    if (IDENTITY.has(k) || k === 'status') continue;
    if (k === 'metadata') {
      w.metadata(v as Record<string, unknown>, live['metadata'] as Record<string, unknown> | undefined, owned ? root['f:metadata'] : undefined);
      continue;
    }
    w.walk([k], v, live[k], owned ? root[`f:${k}`] : undefined);
  }
  for (const key of Object.keys(root)) {
    const field = key.slice(2);
    if (!key.startsWith('f:') || field === 'metadata' || field === 'status' || field in desired) continue;
    w.removed([field], live[field]);
  }
  return { changes: w.changes, unownedEqual: w.unownedEqual };
}

/** Compares one subtree (for example `status`) against the fields owned under `node`. */
export function compareValue(path: string[], desired: unknown, live: unknown, node: FieldsNode | undefined, ctx: CompareContext): CompareResult {
  const w = new Walker(ctx);
  w.walk(path, desired, live, node);
  if (node && isObject(desired)) {
    for (const key of Object.keys(node)) {
      const field = key.slice(2);
      if (key.startsWith('f:') && desired[field] === undefined) w.removed([...path, field], isObject(live) ? live[field] : undefined);
    }
  }
  return { changes: w.changes, unownedEqual: w.unownedEqual };
}

type Segment = string | { key: Record<string, unknown> } | { value: unknown };

class Walker {
  readonly changes: FieldChange[] = [];
  unownedEqual = 0;
  constructor(private readonly ctx: CompareContext) {}

  metadata(desired: Record<string, unknown>, live: Record<string, unknown> | undefined, node: FieldsNode | undefined): void {
    for (const [k, v] of Object.entries(desired)) {
      if (METADATA_IDENTITY.has(k)) continue;
      this.walk(['metadata', k], v, live?.[k], node?.[`f:${k}`]);
    }
    for (const key of Object.keys(node ?? {})) {
      const field = key.slice(2);
      if (key.startsWith('f:') && !(field in desired)) this.removed(['metadata', field], live?.[field]);
    }
  }

  walk(path: Segment[], desired: unknown, live: unknown, node: FieldsNode | undefined): void {
    if (desired === null || desired === undefined) return;
    if (node === undefined) {
      this.unowned(path, desired, live);
      return;
    }
    if (isLeaf(node)) {
      if (!this.equal(path, desired, live)) this.change(path, desired, live);
      return;
    }
    if (Array.isArray(desired)) this.walkList(path, desired, live, node);
    else if (isObject(desired)) this.walkMap(path, desired, isObject(live) ? live : undefined, node);
    else if (!this.equal(path, desired, live)) this.change(path, desired, live);
  }

  removed(path: Segment[], live: unknown): void {
    if (live !== undefined) this.changes.push({ path: formatSegments(path), op: 'remove', before: live });
  }

  // Fields we set but do not own (adoption, or ownership lost to a wiped
  // managedFields): compare leaf by leaf, so the diff shows real changes only.
  private unowned(path: Segment[], desired: unknown, live: unknown): void {
    if (isObject(desired) && isObject(live) && Object.keys(desired).length > 0) {
      for (const [k, v] of Object.entries(desired)) if (v !== null) this.unowned([...path, k], v, live[k]);
      return;
    }
    if (Array.isArray(desired) && Array.isArray(live) && desired.length > 0 && desired.every((d) => isObject(d) && typeof d['name'] === 'string')) {
      let last = -1;
      for (const item of desired as Record<string, unknown>[]) {
        const i = live.findIndex((l) => isObject(l) && l['name'] === item['name']);
        if (i < 0 || i < last) {
          this.change(path, desired, live);
          return;
        }
        last = i;
      }
      for (const item of desired as Record<string, unknown>[]) {
        this.unowned([...path, { key: { name: item['name'] } }], item, live.find((l) => isObject(l) && l['name'] === item['name']));
      }
      return;
    }
    if (this.equal(path, desired, live)) this.unownedEqual++;
    else this.change(path, desired, live);
  }

  private change(path: Segment[], desired: unknown, live: unknown): void {
    this.changes.push(
      live === undefined
        ? { path: formatSegments(path), op: 'add', after: desired }
        : { path: formatSegments(path), op: 'change', before: live, after: desired },
    );
  }

  private walkMap(path: Segment[], desired: Record<string, unknown>, live: Record<string, unknown> | undefined, node: FieldsNode): void {
    for (const [k, v] of Object.entries(desired)) this.walk([...path, k], v, live?.[k], node[`f:${k}`]);
    for (const key of Object.keys(node)) {
      if (!key.startsWith('f:')) continue;
      const field = key.slice(2);
      if (desired[field] === undefined || desired[field] === null) this.removed([...path, field], live?.[field]);
    }
  }

  private walkList(path: Segment[], desired: unknown[], live: unknown, node: FieldsNode): void {
    const liveList = Array.isArray(live) ? live : [];
    const keys = Object.keys(node);
    if (keys.some((k) => k.startsWith('v:'))) {
      this.walkSet(path, desired, liveList, keys);
      return;
    }
    if (!keys.some((k) => k.startsWith('k:'))) {
      if (!this.equal(path, desired, live)) this.change(path, desired, live);
      return;
    }
    const itemKeys = keys.filter((k) => k.startsWith('k:')).map((k) => ({ raw: k, key: parseKey(k.slice(2)) }));
    const used = new Set<string>();
    let lastLiveIndex = -1;
    let reordered = false;
    for (const item of desired) {
      if (!isObject(item)) {
        this.change(path, desired, live);
        return;
      }
      const free = itemKeys.filter((k) => !used.has(k.raw) && k.key !== undefined);
      const match = free.find((k) => keyEquals(k.key as Record<string, unknown>, item)) ?? free.find((k) => keyMatches(k.key as Record<string, unknown>, item));
      if (!match || !match.key) {
        const seg: Segment = { key: keyFieldsOf(item, itemKeys[0]?.key) };
        const liveItem = liveList.find((l) => isObject(l) && keyMatches(seg.key, l));
        this.unowned([...path, seg], item, liveItem);
        continue;
      }
      used.add(match.raw);
      const liveIndex = liveList.findIndex((l) => isObject(l) && keyEquals(match.key as Record<string, unknown>, l));
      if (liveIndex >= 0) {
        if (liveIndex < lastLiveIndex) reordered = true;
        lastLiveIndex = Math.max(lastLiveIndex, liveIndex);
      }
      this.walk([...path, { key: match.key }], item, liveList[liveIndex], node[match.raw]);
    }
    for (const k of itemKeys) {
      if (used.has(k.raw) || !k.key) continue;
      const key = k.key;
      this.removed([...path, { key }], liveList.find((l) => isObject(l) && keyEquals(key, l)));
    }
    // Server-side apply orders our items as we list them: a reorder is a change.
    if (reordered) this.changes.push({ path: formatSegments(path), op: 'change', before: '(order)', after: '(new order)' });
  }

  private walkSet(path: Segment[], desired: unknown[], live: unknown[], keys: string[]): void {
    const ownedValues = keys.filter((k) => k.startsWith('v:')).map((k) => parseJson(k.slice(2)));
    for (const item of desired) {
      const owned = ownedValues.some((v) => deepEqual(v, item));
      const present = live.some((v) => deepEqual(v, item));
      if (owned && present) continue;
      if (present) this.unownedEqual++;
      else this.changes.push({ path: formatSegments([...path, { value: item }]), op: 'add', after: item });
    }
    for (const v of ownedValues) {
      if (!desired.some((d) => deepEqual(d, v)) && live.some((l) => deepEqual(l, v))) {
        this.changes.push({ path: formatSegments([...path, { value: v }]), op: 'remove', before: v });
      }
    }
  }

  private equal(path: Segment[], desired: unknown, live: unknown): boolean {
    // Server omits empty values (omitempty): "" / 0 / false / {} / [] read back as absent.
    if (live === undefined) return isEmptyValue(desired);
    if (this.ctx.quantities && isQuantityPath(path)) return semanticEqualQuantities(desired, live);
    return deepEqual(desired, live);
  }
}

function isLeaf(node: FieldsNode): boolean {
  for (const k of Object.keys(node)) if (k !== '.') return false;
  return true;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmptyValue(v: unknown): boolean {
  if (v === '' || v === 0 || v === false || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseKey(text: string): Record<string, unknown> | undefined {
  const v = parseJson(text);
  return isObject(v) ? v : undefined;
}

/**
 * A desired item matches an owned key when every key field it sets is equal;
 * key fields it omits were defaulted by the server (a port's protocol).
 */
function keyMatches(key: Record<string, unknown>, item: Record<string, unknown>): boolean {
  let any = false;
  for (const [k, v] of Object.entries(key)) {
    if (item[k] === undefined) continue;
    if (!deepEqual(item[k], v)) return false;
    any = true;
  }
  return any;
}

function keyEquals(key: Record<string, unknown>, item: Record<string, unknown>): boolean {
  return Object.entries(key).every(([k, v]) => deepEqual(item[k], v));
}

function keyFieldsOf(item: Record<string, unknown>, sample: Record<string, unknown> | undefined): Record<string, unknown> {
  const names = sample ? Object.keys(sample) : ['name'];
  const out: Record<string, unknown> = {};
  for (const n of names) if (item[n] !== undefined) out[n] = item[n];
  return Object.keys(out).length ? out : { name: item['name'] };
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Paths

export function formatSegments(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'string') {
      out += /^[A-Za-z_][\w-]*$/.test(seg) ? (out ? `.${seg}` : seg) : `[${JSON.stringify(seg)}]`;
    } else if ('key' in seg) {
      out += `[${Object.entries(seg.key).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(',')}]`;
    } else {
      out += `[${JSON.stringify(seg.value)}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Quantities: built-in kinds store them canonically ("0.5" → "500m",
// "1024Mi" → "1Gi"), so a textual compare would report a change forever.

const QUANTITY_PARENTS = new Set(['limits', 'requests', 'hard', 'capacity', 'overhead', 'max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']);

function isQuantityPath(path: readonly Segment[]): boolean {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (last === 'sizeLimit') return true;
  return typeof parent === 'string' && QUANTITY_PARENTS.has(parent);
}

function semanticEqualQuantities(a: unknown, b: unknown): boolean {
  if (deepEqual(a, b)) return true;
  const qa = parseQuantity(a);
  const qb = parseQuantity(b);
  return qa !== undefined && qb !== undefined && qa.num * qb.den === qb.num * qa.den;
}
