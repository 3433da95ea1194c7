/**
 * The secrets pass. Joch never holds secret values: a manifest holds
 * references (secretRef) and the gateways resolve them. A literal credential
 * in any manifest is an error, and the message never repeats the value.
 */
import { finding, formatPath, type Finding, type PathSegment, type ResourceRef } from '../diagnostics/index.js';
import type { ManifestDocument } from '../manifests/index.js';

interface Detector {
  readonly what: string;
  readonly pattern: RegExp;
}

/** Credential formats that are recognisable by their shape alone. */
const VALUE_DETECTORS: readonly Detector[] = [
  { what: 'a private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/ },
  { what: 'an Anthropic API key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  { what: 'an OpenAI API key', pattern: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/ },
  { what: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { what: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { what: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { what: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: 'a Stripe secret key', pattern: /\b[rs]k_live_[0-9A-Za-z]{16,}/ },
  { what: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { what: 'a JSON Web Token', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { what: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/ },
];

/** Keys whose string value is a credential, whatever it looks like. */
const SECRET_KEY = /^(?:.*[_.-])?(?:password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|secret[_-]?key|credentials?)$/i;
/** Values that are clearly not credentials even under such a key. */
const PLACEHOLDER = /^(?:|\$\{[^}]+\}|<[^>]+>|\*+|changeme|redacted|none|null|true|false)$/i;

const URL_USERINFO = /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
const URL_SECRET_QUERY = /[?&](?:access_token|api[_-]?key|apikey|token|password|secret|sig|signature)=[^&\s]{6,}/i;

/** Whether a string looks like a credential by its shape (for redacting it from messages). */
export function looksSecret(value: string): boolean {
  return URL_USERINFO.test(value) || URL_SECRET_QUERY.test(value) || VALUE_DETECTORS.some((d) => d.pattern.test(value));
}

/** Free-form fields that describe data shapes, not values: a property named `password` there is a schema. */
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
  walkStrings(d.body, [], (value, path, key) => {
    if (URL_USERINFO.test(value)) return report('JOCH602', 'a URL with a password', path);
    if (URL_SECRET_QUERY.test(value)) return report('JOCH602', 'a URL with a token in its query', path);
    for (const det of VALUE_DETECTORS) {
      if (det.pattern.test(value)) return report('JOCH601', det.what, path);
    }
    if (key !== undefined && SECRET_KEY.test(key) && !PLACEHOLDER.test(value.trim()) && value.length >= 8) {
      report('JOCH601', `a credential (the key is "${key}")`, path);
    }
  });
  return out;
}

/** Visits every string; `path` is a shared stack, copied by the visitor only when it reports. */
function walkStrings(node: unknown, path: PathSegment[], visit: (value: string, path: PathSegment[], key: string | undefined) => void, key?: string): void {
  if (typeof node === 'string') {
    visit(node, path, key);
  } else if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      walkStrings(node[i], path, visit);
      path.pop();
    }
  } else if (node && typeof node === 'object') {
    for (const k in node) {
      if (SCHEMA_FIELDS.has(k)) continue;
      path.push(k);
      walkStrings((node as Record<string, unknown>)[k], path, visit, k);
      path.pop();
    }
  }
}
