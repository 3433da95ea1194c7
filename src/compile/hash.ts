/**
 * Canonical JSON and content hashes. Every hash the compiler writes (source
 * hashes, schema hashes, manifest hashes) goes through here so two runs over
 * the same input agree byte for byte.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level; undefined members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function contentDigest(value: unknown): string {
  return `sha256:${sha256(canonicalJson(value))}`;
}

/** A short hash fit for a label value: 12 hex characters (48 bits) of the sha256. */
export function shortDigest(value: unknown): string {
  return sha256(canonicalJson(value)).slice(0, 12);
}
