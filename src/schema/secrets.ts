/**
 * The secrets pass. Joch never holds secret values: a manifest holds
 * references (secretRef) and the gateways resolve them. A literal credential
 * in any manifest is an error, and the message never repeats the value.
 */
import { finding, formatPath, type Finding, type PathSegment, type ResourceRef } from '../diagnostics/index.js';
import { isKeyedSecret, URL_SECRET_QUERY, URL_USERINFO, VALUE_DETECTORS } from '../diagnostics/redact.js';
import type { ManifestDocument } from '../manifests/index.js';

export { looksSecret } from '../diagnostics/redact.js';

/** Free-form fields that describe data shapes, not values: a property named `password` there is a schema, not a password. */
const SCHEMA_FIELDS = new Set(['inputSchema', 'outputSchema']);

export function secretFindings(d: ManifestDocument, resource: ResourceRef | undefined): Finding[] {
  const out: Finding[] = [];
  const report = (code: 'JOCH601' | 'JOCH602', what: string, stack: PathSegment[]) => {
    const path = [...stack];
    const where = formatPath(path);
    out.push(
      finding(code, `${where} holds what looks like ${what}; manifests must not contain credentials`, { file: d.file, doc: d.doc, path }, {
        resource,
        hint:
          code === 'JOCH602'
            ? 'remove the credential from the URL and reference a Joch Secret (secretRef) instead'
            : 'move the value into your secret store and reference it with a Joch Secret (spec.source) and a secretRef',
      }),
    );
  };
  walkScalars(d.body, [], (value, path, key) => {
    if (URL_USERINFO.test(value)) return report('JOCH602', 'a URL with a password', path);
    if (URL_SECRET_QUERY.test(value)) return report('JOCH602', 'a URL with a token in its query', path);
    for (const det of VALUE_DETECTORS) {
      if (det.pattern.test(value)) return report('JOCH601', det.what, path);
    }
    if (key !== undefined && isKeyedSecret(key, value)) {
      report('JOCH601', `a credential (the key is "${key}")`, path);
    }
  });
  return out;
}

/**
 * Visits every string and every finite number, a number as its decimal text:
 * a numeric API key or PIN is as much a credential as a quoted one. `path` is
 * a shared stack, copied by the visitor only when it reports. Under a schema
 * field the key names are property names, not values, so the key is not
 * passed on (but a credential-shaped value there is still one).
 */
function walkScalars(
  node: unknown,
  path: PathSegment[],
  visit: (value: string, path: PathSegment[], key: string | undefined) => void,
  key?: string,
  keyed = true,
): void {
  const text = scalarText(node);
  if (text !== undefined) {
    visit(text, path, keyed ? key : undefined);
  } else if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      walkScalars(node[i], path, visit, undefined, keyed);
      path.pop();
    }
  } else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    const named = nameOfValue(record);
    for (const k in record) {
      path.push(k);
      walkScalars(record[k], path, visit, k === 'value' && named !== undefined ? named : k, keyed && !SCHEMA_FIELDS.has(k));
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
  if (typeof node === 'bigint') return String(node);
  if (typeof node === 'number' && Number.isFinite(node)) return String(node);
  return undefined;
}
