/**
 * Typed reads of a record's spec. The validate stage has checked shapes,
 * but the AgBOM is also built from repositories with findings, so every
 * read tolerates a missing or mistyped value instead of throwing.
 */

export type Obj = Readonly<Record<string, unknown>>;

export function obj(from: unknown, ...path: string[]): Obj | undefined {
  let cur: unknown = from;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Obj)[key];
  }
  return cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Obj) : undefined;
}

function at(from: unknown, path: readonly string[]): unknown {
  const parent = path.length > 1 ? obj(from, ...path.slice(0, -1)) : obj(from);
  return parent?.[path[path.length - 1]!];
}

export function str(from: unknown, ...path: string[]): string | undefined {
  const v = at(from, path);
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function num(from: unknown, ...path: string[]): number | undefined {
  const v = at(from, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function bool(from: unknown, ...path: string[]): boolean | undefined {
  const v = at(from, path);
  return typeof v === 'boolean' ? v : undefined;
}

export function strings(from: unknown, ...path: string[]): string[] {
  const v = at(from, path);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
}

export function list(from: unknown, ...path: string[]): unknown[] {
  const v = at(from, path);
  return Array.isArray(v) ? v : [];
}

/** A scalar as a property value; objects and arrays are not facts. */
export function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * A URL without user info, query or fragment: those are where credentials
 * hide, and an AgBOM names endpoints, never secrets. Undefined when the value
 * is not an absolute URL.
 */
export function safeUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const u = new URL(value);
    if (!u.protocol || !u.host) return undefined;
    return `${u.protocol}//${u.host}${u.pathname === '/' && !value.endsWith('/') ? '' : u.pathname}`;
  } catch {
    return undefined;
  }
}

/** The tag of an OCI image reference (`ghcr.io/x/y:1.4.0` gives `1.4.0`), not a digest. */
export function imageTag(image: string | undefined): string | undefined {
  if (!image || image.includes('@')) return undefined;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon > 0 ? last.slice(colon + 1) : undefined;
}

/** A key made safe as a property name segment (the taxonomy allows letters, digits, `-`, `_` and space). */
export function segment(key: string): string {
  return key.replace(/[^A-Za-z0-9_ -]/g, '_');
}
