/**
 * The secrets pass. Joch never holds secret values: a manifest holds
 * references (secretRef) and the gateways resolve them. A literal credential
 * in any manifest is an error, and the message never repeats the value.
 */
import { finding, formatPath, type Finding, type PathSegment, type ResourceRef } from '../diagnostics/index.js';
import { detect, encodedSecret, keyedValueIsSecret, looksSecret, namesSecret, URL_SECRET_QUERY, URL_USERINFO, VALUE_DETECTORS } from '../diagnostics/redact.js';
import type { ManifestDocument } from '../manifests/index.js';

export { looksSecret } from '../diagnostics/redact.js';

/** Whether a finding says its file holds a credential: such a file's results are never stored. */
export function isCredentialFinding(f: Pick<Finding, 'code'>): boolean {
  return f.code === 'JOCH601' || f.code === 'JOCH602';
}

/** Free-form fields that describe data shapes, not values: a property named `password` there is a schema, not a password. */
const SCHEMA_FIELDS = new Set(['inputSchema', 'outputSchema']);

export function secretFindings(d: ManifestDocument, resource: ResourceRef | undefined): Finding[] {
  const out: Finding[] = [];
  const report = (code: 'JOCH601' | 'JOCH602', what: string, stack: readonly PathSegment[], part?: 'key') => {
    const path = [...stack];
    const where = part === 'key' ? `the key at ${formatPath(path)}` : formatPath(path);
    out.push(
      finding(code, `${where} holds what looks like ${what}; manifests must not contain credentials`, { file: d.file, doc: d.doc, path, ...(part ? { part } : {}) }, {
        resource,
        hint:
          code === 'JOCH602'
            ? 'remove the credential from the URL and reference a Joch Secret (secretRef) instead'
            : 'move the value into your secret store and reference it with a Joch Secret (spec.source) and a secretRef',
      }),
    );
  };
  if (d.doc === 0 && looksSecret(d.file)) {
    out.push(
      finding('JOCH601', 'the file name holds what looks like a credential; it would be copied into every output', { file: d.file, line: 1, column: 1 }, {
        hint: 'rename the file, and revoke the credential: it is in the repository history',
      }),
    );
  }
  forEachCredential(d.body, (found, path, part) => report(found.code, part === 'key' ? `${found.what} as a mapping key` : found.what, path, part));
  return out;
}

export interface Credential {
  readonly code: 'JOCH601' | 'JOCH602';
  readonly what: string;
}

/**
 * Calls `visit` for every credential in a document, in its values and in its
 * mapping keys (`part: 'key'`). `path` is the walk's shared stack: copy it to keep it.
 */
export function forEachCredential(node: unknown, visit: (found: Credential, path: readonly PathSegment[], part?: 'key') => void): void {
  walkScalars(
    node,
    [],
    (value, path, key) => {
      const found = credentialIn(value, key);
      if (found) visit(found, path);
    },
    (name, path) => {
      const found = credentialIn(name, undefined);
      if (found) visit(found, path, 'key');
    },
  );
}

/** What credential a value (held under `key`) is, if any. */
export function credentialIn(value: string, key: string | undefined): Credential | undefined {
  const own = valueCredential(value);
  if (own.shape) return own.shape;
  if (key !== undefined && keyedSecret(key, value)) return { code: 'JOCH601', what: `a credential (the key is "${key}")` };
  return own.encoded ? ENCODED : undefined;
}

/** What a value is by itself: a credential shape, and whether it is base64 of a credential. */
interface ValueCredential {
  readonly shape: Credential | undefined;
  readonly encoded: boolean;
}

const ENCODED: Credential = { code: 'JOCH601', what: 'a base64-encoded credential' };
const NONE: ValueCredential = { shape: undefined, encoded: false };

/**
 * Manifests repeat the same keys and words thousands of times (`apiVersion`,
 * `kind`, enum values, names of shared resources): the verdict on a short
 * string is kept, so each is scanned once per run. Bounded: cleared when full.
 */
const MEMO_MAX_ENTRIES = 8192;
const MEMO_MAX_LENGTH = 256;
const valueMemo = new Map<string, ValueCredential>();
const keyMemo = new Map<string, boolean>();

function memoized<T>(memo: Map<string, T>, text: string, compute: (text: string) => T): T {
  if (text.length > MEMO_MAX_LENGTH) return compute(text);
  let found = memo.get(text);
  if (found === undefined) {
    if (memo.size >= MEMO_MAX_ENTRIES) memo.clear();
    found = compute(text);
    memo.set(text, found);
  }
  return found;
}

function valueCredential(value: string): ValueCredential {
  // No detector matches fewer characters (`pwd=abc`), nor can a shorter value be base64 of a credential.
  if (value.length < SHORTEST_CREDENTIAL) return NONE;
  return memoized(valueMemo, value, scanValue);
}

/** The shortest text any shape detector matches: a connection string's `pwd=` and three characters. */
const SHORTEST_CREDENTIAL = 7;

function scanValue(value: string): ValueCredential {
  return { shape: shapeIn(value), encoded: encodedSecret(value) };
}

function shapeIn(value: string): Credential | undefined {
  // The common case, a value with no credential shape, is settled by one scan of one pattern.
  if (!ANY_SHAPE.test(value)) return undefined;
  if (URL_USERINFO.test(value)) return { code: 'JOCH602', what: 'a URL with a password' };
  if (URL_SECRET_QUERY.test(value)) return { code: 'JOCH602', what: 'a URL with a token in its query' };
  for (const det of VALUE_DETECTORS) {
    if (detect(det, value)) return { code: 'JOCH601', what: det.what };
  }
  return undefined;
}

/** isKeyedSecret, with the verdict on the key's name kept (keys are few and repeat). */
function keyedSecret(key: string, value: string): boolean {
  return namesSecretKept(key) && keyedValueIsSecret(value);
}

/** namesSecret, remembered per key: the walk asks it of every collection's key. */
function namesSecretKept(key: string): boolean {
  return memoized(keyMemo, key, namesSecret);
}

/** Every shape pattern in one, ignoring case: it matches whenever one of them would (and sometimes when none does). */
const ANY_SHAPE = new RegExp([URL_USERINFO, URL_SECRET_QUERY, ...VALUE_DETECTORS.map((d) => d.pattern)].map((p) => `(?:${p.source})`).join('|'), 'i');

/**
 * Visits every string and every finite number, a number as its decimal text:
 * a numeric API key or PIN is as much a credential as a quoted one; bytes
 * (`!!binary`) as their base64 text. `path` is a shared stack, copied by the
 * visitor only when it reports. Under a schema field the key names are
 * property names, not values, so the key is not passed on (but a
 * credential-shaped value there is still one). Under a credential key, a
 * list or a mapping holds the credential too: its items and its `value`
 * (or credential-named) entries are checked as held under that key.
 */
export function walkScalars(
  node: unknown,
  path: PathSegment[],
  visit: (value: string, path: PathSegment[], key: string | undefined) => void,
  visitKey: (key: string, path: PathSegment[]) => void = () => undefined,
  key?: string,
  keyed = true,
): void {
  const text = scalarText(node);
  if (text !== undefined) {
    visit(text, path, keyed ? key : undefined);
  } else if (Array.isArray(node)) {
    const held = keyed && key !== undefined && namesSecretKept(key) ? key : undefined;
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      walkScalars(node[i], path, visit, visitKey, held, keyed);
      path.pop();
    }
  } else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    const named = nameOfValue(record);
    const held = keyed && key !== undefined && namesSecretKept(key) ? key : undefined;
    for (const k in record) {
      path.push(k);
      visitKey(k, path);
      const under = k === 'value' ? (named ?? held ?? k) : k;
      walkScalars(record[k], path, visit, visitKey, under, keyed && !SCHEMA_FIELDS.has(k));
      path.pop();
    }
  }
}

/**
 * `{name: DB_PASSWORD, value: ...}`, the way Kubernetes and most tools spell
 * environment variables: the value is held under the name, not under the
 * word `value`.
 */
function nameOfValue(record: Record<string, unknown>): string | undefined {
  return typeof record['name'] === 'string' && 'value' in record ? record['name'] : undefined;
}

/** The text a scalar is checked as; `.inf` and `.nan` would read as the words "Infinity" and "NaN", which are no credentials. */
function scalarText(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (node instanceof Uint8Array) return Buffer.from(node).toString('base64');
  if (typeof node === 'bigint') return String(node);
  if (typeof node === 'number' && Number.isFinite(node)) return String(node);
  return undefined;
}
