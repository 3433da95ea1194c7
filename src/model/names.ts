/**
 * Joch names to Kubernetes names. Joch allows names Kubernetes does not (dots
 * and underscores, upper case: `zendesk.create_ticket`). Such a name maps to a
 * lowercase, valid, stable name with a short hash of the original, so two Joch
 * names never share a Kubernetes name; the original is kept in the
 * `joch.dev/name` annotation and references keep using it.
 */
import { createHash } from 'node:crypto';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

function squash(s: string, allowDots: boolean): string {
  const invalid = allowDots ? /[^a-z0-9.-]+/g : /[^a-z0-9-]+/g;
  return s
    .toLowerCase()
    .replace(invalid, '-')
    .replace(/-{2,}/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-?\.-?/g, '.')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

/** The name of a custom resource (a DNS-1123 subdomain, at most 253 characters). */
export function kubernetesName(jochName: string): string {
  if (isDnsSubdomain(jochName)) return jochName;
  const base = squash(jochName, true).slice(0, 253 - 9).replace(/[^a-z0-9]+$/, '');
  return `${base || 'x'}-${shortHash(jochName)}`;
}

/**
 * A DNS-1123 label (at most 63 characters, no dots), for objects whose names
 * must be labels (Services) or that join several names. Longer or invalid
 * inputs are shortened with a hash of the whole, so the result stays unique.
 */
export function kubernetesLabelName(...parts: string[]): string {
  const joined = parts.join('-');
  if (isDnsLabel(joined)) return joined;
  const base = squash(joined, false).slice(0, 63 - 9).replace(/[^a-z0-9]+$/, '');
  return `${base || 'x'}-${shortHash(joined)}`;
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why a label or annotation key is invalid in Kubernetes, or undefined when it is valid. */
export function invalidQualifiedName(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'it has more than one "/"';
  const [prefix, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : ['', parts[0] ?? ''];
  if (parts.length === 2 && !isDnsSubdomain(prefix)) return `its prefix "${prefix}" is not a DNS subdomain`;
  if (!name) return 'its name part is empty';
  if (name.length > 63) return 'its name part is longer than 63 characters';
  if (!LABEL_NAME.test(name)) return 'its name part must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

/** Why a label value is invalid in Kubernetes, or undefined when it is valid. */
export function invalidLabelValue(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'it is longer than 63 characters';
  if (!LABEL_NAME.test(value)) return 'it must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

/** A value made safe for a label: invalid characters dropped, shortened with a hash when needed. */
export function labelValue(value: string): string {
  if (invalidLabelValue(value) === undefined) return value;
  const base = value.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 54);
  return `${base.replace(/[^A-Za-z0-9]+$/, '') || 'x'}-${shortHash(value)}`;
}
