/**
 * Deterministic identities: bom-refs, UUIDv5 serial numbers and content
 * digests. Nothing here reads the clock or a random source, so the same
 * records always give the same identifiers.
 */
import { createHash } from 'node:crypto';

/** UUID namespace of Joch AgBOMs: UUIDv5 of the URL namespace and `https://joch.dev/agbom`. */
export const AGBOM_UUID_NAMESPACE = uuidV5('https://joch.dev/agbom', '6ba7b811-9dad-11d1-80b4-00c04fd430c8');

/**
 * The serial number of an agent's AgBOM: the same for every generation, so
 * consumers see one BOM whose `version` moves (CycloneDX's own model), and
 * scoped by the organization's regid so two fleets never collide.
 */
export function agbomSerial(regid: string, agentKey: string): string {
  return `urn:uuid:${uuidV5(`${regid}/${agentKey}`)}`;
}

/** RFC 9562 UUID version 5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace: string = AGBOM_UUID_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The first 12 hex digits of a content hash: the version of a Joch record. */
export function recordVersion(contentHash: string): string {
  return contentHash.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * The bom-ref of a component: kind, namespace, name and version, so two
 * versions of one record never share a ref and one record never gets two.
 * `part` names a second node derived from the same record (a model's endpoint).
 */
export function bomRef(kind: string, namespace: string | undefined, name: string, version: string, part?: string): string {
  return `${identityKey(kind, namespace, name, part)}@${version}`;
}

/** The version-independent identity of a component: what a diff matches on. */
export function identityKey(kind: string, namespace: string | undefined, name: string, part?: string): string {
  return `${kind}/${namespace ?? ''}/${name}${part ? `#${part}` : ''}`;
}

/** Seconds since the epoch as an RFC 3339 UTC timestamp without fractions. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Compares strings by UTF-16 code units, the order JCS and our sorts use everywhere. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
