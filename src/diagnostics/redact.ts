/**
 * Credential shapes, shared by the secrets pass (which reports them) and the
 * renderers (which never print them). The renderers redact on their own, as a
 * last line of defence: a credential next to a YAML syntax error is never
 * reported by the secrets pass (its document does not load), yet the code
 * frame would show it.
 */

export interface CredentialDetector {
  readonly what: string;
  readonly pattern: RegExp;
}

/** Credential formats that are recognisable by their shape alone. */
export const VALUE_DETECTORS: readonly CredentialDetector[] = [
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
export const SECRET_KEY =
  /^(?:.*[_.-])?(?:password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|secret[_-]?key|credentials?)$/i;
/** Values that are clearly not credentials even under such a key. */
export const PLACEHOLDER = /^(?:|\$\{[^}]+\}|<[^>]+>|\*+|changeme|redacted|none|null|true|false)$/i;

export const URL_USERINFO = /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
export const URL_SECRET_QUERY = /[?&](?:access_token|api[_-]?key|apikey|token|password|secret|sig|signature)=[^&\s]{6,}/i;

/** Whether a string looks like a credential by its shape. */
export function looksSecret(value: string): boolean {
  return URL_USERINFO.test(value) || URL_SECRET_QUERY.test(value) || VALUE_DETECTORS.some((d) => d.pattern.test(value));
}

/** Whether `value`, held under `key`, is a credential by the key's name. */
export function isKeyedSecret(key: string, value: string): boolean {
  return SECRET_KEY.test(key) && !PLACEHOLDER.test(value.trim()) && value.length >= 8;
}

const GLOBAL_PATTERNS: readonly RegExp[] = [URL_USERINFO, URL_SECRET_QUERY, ...VALUE_DETECTORS.map((d) => d.pattern)].map(
  (p) => new RegExp(p.source, `${p.flags}g`),
);

const stars = (s: string) => '*'.repeat(s.length);

/** Replaces every credential-shaped part of a text with as many `*`, so columns stay in place. */
export function redactText(text: string): string {
  let out = text;
  for (const p of GLOBAL_PATTERNS) out = out.replace(p, stars);
  return out;
}

/** `key: value` on one source line (optionally a list item), with the key quoted or not. */
const KEY_VALUE_LINE = /^(\s*(?:-\s+)?)(["']?)([^"'\s:#][^"':#]*?)\2(\s*:\s+)(.*)$/;

/**
 * A source line made safe to show: credential shapes masked, and the value of
 * a key named like a credential (`password: ...`) masked too, unless it is a
 * placeholder or a nested collection or block scalar.
 */
export function redactSourceLine(line: string): string {
  const masked = redactText(line);
  const m = KEY_VALUE_LINE.exec(masked);
  if (!m) return masked;
  const [, lead = '', quote = '', key = '', sep = '', rest = ''] = m;
  const value = rest.replace(/\s+#.*$/, '').trim();
  const unquoted = value.replace(/^(["'])(.*)\1$/, '$2');
  if (/^[[{|>&*!]/.test(value) || !isKeyedSecret(key, unquoted)) return masked;
  const start = lead.length + quote.length * 2 + key.length + sep.length;
  const at = masked.indexOf(value, start);
  return at === -1 ? masked : masked.slice(0, at) + stars(value) + masked.slice(at + value.length);
}
