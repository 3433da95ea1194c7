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
  /** A second look at a match the pattern alone would over-report (`Basic` and a word that happens to be base64). */
  readonly confirm?: (match: string) => boolean;
}

/*
 * Every pattern here runs on untrusted text of any length, so each must run
 * in linear time: a pattern starts only where its fixed prefix is (a
 * lookbehind keeps it from restarting inside a run it already scanned), and
 * no two repeated parts can match the same characters. test/hostile has a
 * 1 MB case for each shape that once backtracked.
 */

/** Credential formats that are recognisable by their shape alone. */
export const VALUE_DETECTORS: readonly CredentialDetector[] = [
  { what: 'a private key', pattern: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/ },
  { what: 'an Anthropic API key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  { what: 'an OpenAI API key', pattern: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/ },
  { what: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { what: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { what: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { what: 'a Slack webhook URL', pattern: /\bhooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{16,}/ },
  { what: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  {
    what: 'an AWS secret access key',
    // Exactly 40 characters of base64 that look random: not a Git commit (hex), not a path of words.
    pattern: /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/,
    confirm: looksRandom,
  },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: 'a Stripe secret key', pattern: /\b[rs]k_live_[0-9A-Za-z]{16,}/ },
  { what: 'a SendGrid API key', pattern: /(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/ },
  { what: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { what: 'a JSON Web Token', pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { what: 'a bearer token', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/ },
  { what: 'a basic authentication header', pattern: /\bBasic\s+[A-Za-z0-9+/]{8,}={0,2}/, confirm: (m) => isBasicCredential(m.replace(/^Basic\s+/, '')) },
  {
    what: 'a connection string with a password or key',
    pattern: /(?<![A-Za-z0-9_])(?:password|passwd|pwd|accountkey|sharedaccesskey|sharedsecret)\s*=\s*(?!;)[^;&\s'"]{3,}/i,
  },
];

/** Mixed like random base64 (several of each case and digits, few slashes), unlike hex digests and paths of words. */
function looksRandom(text: string): boolean {
  const count = (re: RegExp) => text.match(re)?.length ?? 0;
  return count(/[A-Z]/g) >= 5 && count(/[a-z]/g) >= 5 && count(/[0-9]/g) >= 1 && count(/\//g) <= 3 && !text.includes('//');
}

/** Whether base64 text decodes to `user:password`, the form of a basic authentication credential. */
function isBasicCredential(b64: string): boolean {
  const text = decodeBase64Text(b64);
  return text !== undefined && /^[^:\s]{1,256}:\S{3,}$/.test(text);
}

/** The text base64 decodes to, when it is printable ASCII; undefined for anything else. */
function decodeBase64Text(b64: string): string | undefined {
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const text = Buffer.from(b64, 'base64').toString('latin1');
  return /^[\x20-\x7e]+$/.test(text) ? text : undefined;
}

/**
 * A whole value that is base64 of a credential: `user:password`, or text
 * that is itself credential-shaped. Base64 hides a password from every
 * pattern above, and decodes in one step.
 */
export function encodedSecret(value: string): boolean {
  if (value.length < 12 || value.length > 16_384) return false;
  const text = decodeBase64Text(value.trim());
  if (text === undefined) return false;
  return isBasicCredential(value.trim()) || matchesShape(text);
}

/** Keys whose string value is a credential, whatever it looks like. */
export const SECRET_KEY =
  /^(?:.*[_.-])?(?:password|passwd|passphrase|pass|pwd|secret|client[_-]?secret|shared[_-]?secret|token|access[_-]?token|refresh[_-]?token|session[_-]?token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|secret[_-]?key|signing[_-]?key|hmac[_-]?key|hmac|encryption[_-]?key|master[_-]?key|credentials?|cookie|set[_-]cookie|authorization|connection[_-]?string)$/i;
/**
 * camelCase keys ending in a credential word: `dbPassword`, `authToken`,
 * `stripeApiKey`. Not a bare `...Secret`: `fromSecret` and `existingSecret`
 * name a Secret, they do not hold one.
 */
const CAMEL_SECRET_KEY =
  /[a-z0-9](?:Password|Passwd|Passphrase|Pwd|Token|ApiKey|PrivateKey|AccessKey|SecretKey|SigningKey|HmacKey|EncryptionKey|MasterKey|Credentials?|Cookie|ConnectionString)$/;

/** Whether a key names a credential: `db_password`, `auth-token`, `dbPassword`. */
export function namesSecret(key: string): boolean {
  return SECRET_KEY.test(key) || CAMEL_SECRET_KEY.test(key);
}

/** Values that are clearly not credentials even under such a key. */
export const PLACEHOLDER = /^(?:|\$\{[^}]+\}|<[^>]+>|\*+|changeme|redacted|none|null|true|false)$/i;

// The scheme starts where no scheme character precedes it, so a long run such as `a-a-a-...` is scanned once, not once per dash.
export const URL_USERINFO = /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
export const URL_SECRET_QUERY = /[?&](?:access_token|api[_-]?key|apikey|token|password|secret|sig|signature)=[^&\s]{6,}/i;

/** Every detector of a credential's shape: the two URL forms and the token and key shapes. */
const SHAPE_DETECTORS: readonly CredentialDetector[] = [
  { what: 'a URL with a password', pattern: URL_USERINFO },
  { what: 'a URL with a token in its query', pattern: URL_SECRET_QUERY },
  ...VALUE_DETECTORS,
];

/** Whether a value's shape matches a detector. */
function matchesShape(value: string): boolean {
  return SHAPE_DETECTORS.some((d) => detect(d, value));
}

/** Whether a detector finds a credential in `value`, after its second look. */
export function detect(d: CredentialDetector, value: string): boolean {
  if (!d.confirm) return d.pattern.test(value);
  const m = d.pattern.exec(value);
  return m !== null && d.confirm(m[0]);
}

/** Whether a string looks like a credential by its shape. */
export function looksSecret(value: string): boolean {
  return matchesShape(value) || encodedSecret(value);
}

/** Whether `value`, held under `key`, is a credential by the key's name. */
export function isKeyedSecret(key: string, value: string): boolean {
  return namesSecret(key) && keyedValueIsSecret(value);
}

/** Whether a value held under a key that names a secret is one: not a placeholder, and long enough. */
export function keyedValueIsSecret(value: string): boolean {
  return !PLACEHOLDER.test(value.trim()) && value.length >= 8;
}

const GLOBAL_DETECTORS: readonly CredentialDetector[] = SHAPE_DETECTORS.map((d) => ({ ...d, pattern: new RegExp(d.pattern.source, `${d.pattern.flags}g`) }));

const stars = (s: string) => '*'.repeat(s.length);

/** Replaces every credential-shaped part of a text with as many `*`, so columns stay in place. */
export function redactText(text: string): string {
  let out = text;
  for (const d of GLOBAL_DETECTORS) {
    const confirm = d.confirm;
    out = out.replace(d.pattern, confirm ? (m: string) => (confirm(m) ? stars(m) : m) : stars);
  }
  return out;
}

/** `key: value` on one source line (optionally a list item), with the key quoted or not; the value may be empty. */
// The key's inner spaces are taken only when a key character follows them, so
// that no run of spaces can be split two ways: linear time on any line.
const KEY_VALUE_LINE = /^(\s*(?:-\s+)?)(["']?)([^"'\s:#{}[\],](?:[^"' \t:#]|[ \t]+(?=[^"'\s:#]))*)\2(\s*:(?:\s+|$))(.*)$/;

/** Node properties before a value, a tag or an anchor (`!!str `, `&pw `): not part of the value. */
const PROPERTIES = /^(?:[!&][^\s,{}[\]]*(?:\s+|$))*/;

/** A block scalar header once its comment is gone: `|` or `>`, with chomping and indentation indicators. */
const BLOCK_SCALAR_HEADER = /^[|>][-+0-9]*$/;

/**
 * `key: value` inside a flow mapping: the `{` or `,` before it is what tells
 * it from a plain value. The value is quoted (to its closing quote, commas
 * and all) or plain (up to the next `,`, `}`, `]` or comment).
 */
const FLOW_PAIR =
  /([{,]\s*)(["']?)([^"',{}[\]:#\s](?:[^"',{}[\]:# \t]|[ \t]+(?=[^"',{}[\]:#\s]))*)\2(\s*:\s*)((?:[!&][^\s,{}[\]]*\s+)*)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s,{}[\]#](?:[^ \t,{}[\]]|[ \t]+(?=[^\s,{}[\]#]))*)(?=[ \t]*(?:[,}\]]|$)|[ \t]+#)/g;

/**
 * Whether a value shown under `key` is masked. Unlike `isKeyedSecret` there
 * is no minimum length: a finding has to avoid false alarms, a code frame only
 * has to avoid showing a password, and a short one is still one.
 */
function masksUnder(key: string, value: string): boolean {
  return namesSecret(key) && !PLACEHOLDER.test(unquote(value.trim()));
}

function unquote(value: string): string {
  return value.replace(/^(["'])(.*)\1$/, '$2');
}

/** Where a comment starts in a value: a `#` after a space, past the closing quote of a quoted value (or the value's length). */
function commentStart(value: string): number {
  for (let i = quotedEnd(value); i < value.length; i++) {
    if (value[i] === '#' && (i === 0 || /\s/.test(value[i - 1] ?? ''))) return i;
  }
  return value.length;
}

/** Just past the closing quote of a value that starts with one (`\"` and `''` are escapes, not ends); 0 for an unquoted value. */
function quotedEnd(value: string): number {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return 0;
  for (let i = 1; i < value.length; i++) {
    if (quote === '"' && value[i] === '\\') i++;
    else if (value[i] === quote && quote === "'" && value[i + 1] === "'") i++;
    else if (value[i] === quote) return i + 1;
  }
  return value.length;
}

/** The value of a `key: value` line, split from its properties (which come first) and its comment. */
function valueOf(rest: string): { props: string; bare: string } {
  const props = PROPERTIES.exec(rest)?.[0] ?? '';
  const value = rest.slice(props.length);
  return { props, bare: value.slice(0, commentStart(value)).trim() };
}

/** Masks the values of credential keys inside the flow mappings of a line. */
function maskFlowPairs(line: string): string {
  // `{name: DB_PASSWORD, value: ...}`: the value is held under the name.
  const heldUnder = flowNameOf(line);
  return line.replace(FLOW_PAIR, (all: string, before: string, quote: string, key: string, sep: string, props: string, value: string) =>
    masksUnder(key === 'value' && heldUnder !== undefined ? heldUnder : key, value) ? `${before}${quote}${key}${quote}${sep}${props}${stars(value)}` : all,
  );
}

/** The credential-looking `name` of a flow mapping on the line, if any. */
function flowNameOf(line: string): string | undefined {
  for (const m of line.matchAll(FLOW_PAIR)) {
    const name = unquote(m[6] ?? '');
    if (m[3] === 'name' && namesSecret(name)) return name;
  }
  return undefined;
}

/** Masks the value of a `key: value` line whose key names a credential; a collection or block scalar header is left alone. */
function maskKeyedValue(line: string, heldUnder?: string): string {
  const m = KEY_VALUE_LINE.exec(line);
  if (!m) return line;
  const [, lead = '', quote = '', key = '', sep = '', rest = ''] = m;
  const { props, bare } = valueOf(rest);
  if (/^[[{]/.test(bare) || BLOCK_SCALAR_HEADER.test(bare) || !masksUnder(heldUnder ?? key, bare)) return line;
  // The value starts right after its properties: `sep` took the spaces before them.
  const at = lead.length + quote.length * 2 + key.length + sep.length + props.length;
  return line.slice(0, at) + stars(bare) + line.slice(at + bare.length);
}

/**
 * A source line made safe to show: credential shapes masked, and the value of
 * a key named like a credential (`password: ...`, `{token: ...}`) masked too,
 * unless it is a placeholder or a nested collection. A value that goes on
 * below its key (a block scalar) needs the lines around it: see
 * `redactSourceLines`.
 */
export function redactSourceLine(line: string): string {
  return maskKeyedValue(maskFlowPairs(redactText(line)));
}

/**
 * The value of a credential key that goes on below the key line: every
 * following line indented deeper than `keyColumn` belongs to it. `pending`
 * when the key line had no value, so the first deeper line decides between a
 * scalar (masked) and a nested collection (whose own keys decide).
 */
interface Continuation {
  readonly keyColumn: number;
  readonly pending: boolean;
}

const indentOf = (line: string) => line.length - line.trimStart().length;

/** What a line starts for the lines below it. */
function continuationAfter(line: string, heldUnder?: string): Continuation | undefined {
  const m = KEY_VALUE_LINE.exec(line);
  if (!m || !namesSecret(heldUnder ?? m[3] ?? '')) return undefined;
  const { bare } = valueOf(m[5] ?? '');
  // A flow collection's pairs are masked by their own keys.
  if (/^[[{]/.test(bare)) return undefined;
  return { keyColumn: (m[1] ?? '').length, pending: bare === '' };
}

/** Whether the first line below a bare credential key is its value rather than a nested collection. */
function startsScalar(line: string): boolean {
  const text = line.trimStart();
  return !KEY_VALUE_LINE.test(line) && !/^(?:-(?:\s|$)|\?(?:\s|$)|#|[[{])/.test(text);
}

/** Whether `line` belongs to the value that `under` started; blank lines belong to it too. */
function continues(under: Continuation, line: string): boolean {
  if (line.trim() === '') return true;
  if (indentOf(line) <= under.keyColumn) return false;
  return !under.pending || startsScalar(line);
}

/** A line that is all credential: its indentation kept, every other character masked. */
function maskWhole(line: string): string {
  const indent = indentOf(line);
  const text = line.slice(indent).trimEnd();
  return line.slice(0, indent) + stars(text) + line.slice(indent + text.length);
}

/**
 * Lines `start` to `end` (exclusive) of a file, made safe to show. Unlike
 * `redactSourceLine`, this sees the lines above the excerpt: a block scalar
 * under `password: |` is masked on every line, even when the excerpt starts
 * below its key.
 */
export function redactSourceLines(lines: readonly string[], start = 0, end = lines.length): string[] {
  const out: string[] = [];
  const secretAnchors = anchorsAliasedAsSecrets(lines);
  let under: Continuation | undefined;
  let named: NamedValue | undefined;
  for (let i = 0; i < Math.min(end, lines.length); i++) {
    const line = lines[i] ?? '';
    if (under && continues(under, line)) {
      if (i >= start) out.push(maskWhole(line));
      // A blank line leaves a bare key undecided; any other line under it is its scalar value.
      if (line.trim() !== '') under = { ...under, pending: false };
    } else {
      named = namedValueAfter(named, line);
      const heldUnder = named?.valueHere ? named.name : anchoredSecret(line, secretAnchors);
      const safe = redactSourceLine(line);
      if (i >= start) out.push(heldUnder ? maskKeyedValue(safe, heldUnder) : safe);
      under = continuationAfter(line, heldUnder);
    }
  }
  return out;
}

/**
 * Anchors whose alias is the value of a credential key (`x: &pw VALUE`, then
 * `password: *pw`): the anchored value is the credential, wherever it is.
 */
function anchorsAliasedAsSecrets(lines: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const line of lines) {
    if (!line.includes('*')) continue;
    for (const m of line.matchAll(ALIAS_UNDER_KEY)) {
      if (namesSecret(unquote(m[1] ?? ''))) out.add(m[2] ?? '');
    }
  }
  return out;
}

/** `key: *alias`, in block or flow style; the key may be quoted. */
const ALIAS_UNDER_KEY = /(?<![^\s{,])(["']?[^\s:{},"'*&!]+["']?)[ \t]*:[ \t]+\*([^\s,{}[\]]+)/g;

/** `password`, when the line's value carries an anchor that a credential key aliases. */
function anchoredSecret(line: string, anchors: ReadonlySet<string>): string | undefined {
  if (!anchors.size || !line.includes('&')) return undefined;
  const m = KEY_VALUE_LINE.exec(line);
  const props = m ? valueOf(m[5] ?? '').props : '';
  for (const p of props.split(/\s+/)) if (p.startsWith('&') && anchors.has(p.slice(1))) return 'password';
  return undefined;
}

/**
 * A `name: DB_PASSWORD` entry whose sibling `value:` holds the credential,
 * the way environment variables are written; `valueHere` when this line is
 * that sibling.
 */
interface NamedValue {
  readonly name: string;
  /** Where the entry's keys start. */
  readonly column: number;
  readonly valueHere: boolean;
}

function namedValueAfter(named: NamedValue | undefined, line: string): NamedValue | undefined {
  if (line.trim() === '' || /^\s*#/.test(line)) return named && { ...named, valueHere: false };
  const m = KEY_VALUE_LINE.exec(line);
  if (!m) return indentOf(line) > (named?.column ?? -1) ? named && { ...named, valueHere: false } : undefined;
  const column = (m[1] ?? '').length;
  const key = m[3] ?? '';
  if (key === 'name') {
    const name = unquote(valueOf(m[5] ?? '').bare);
    return namesSecret(name) ? { name, column, valueHere: false } : undefined;
  }
  if (!named) return undefined;
  if (column < named.column || (column === named.column && /^\s*-/.test(m[1] ?? ''))) return undefined;
  return { ...named, valueHere: column === named.column && key === 'value' };
}

/** One run of a line: a structural character, a stretch of blanks, or a word. */
const RUN = /[:{}[\],"'#]|\s+|[^\s:{}[\],"'#]+/g;

/** A word that is structure, not content: a list marker, a document marker, a block scalar header, a node property. */
const STRUCTURAL_WORD = /^(?:-|\?|---|\.\.\.|[|>][-+0-9]*|[&*][^\s]{0,64}|![^\s]{0,64})$/;

/** A key as written: letters, digits and the usual separators, short, no escapes. */
const PLAIN_KEY = /^[A-Za-z0-9_./-]{1,64}$/;

/**
 * The lines of a file that did not parse, made safe to show. Nothing about
 * it is known (which text is a key, where a quoted value ends), so only its
 * shape is kept: indentation, punctuation, node properties and plain keys
 * that are followed by a colon; every other word is masked. A syntax error
 * is about that shape, so the frame still shows where it is.
 */
export function redactUnparsedLines(lines: readonly string[]): string[] {
  return lines.map(redactUnparsedLine);
}

function redactUnparsedLine(line: string): string {
  const runs = line.match(RUN) ?? [];
  let out = '';
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i] ?? '';
    out += keepsInFrame(run, runs, i) ? run : stars(run);
  }
  return out;
}

function keepsInFrame(run: string, runs: readonly string[], i: number): boolean {
  if (/^(?:\s+|[:{}[\],"'#])$/.test(run)) return true;
  if (STRUCTURAL_WORD.test(run)) return true;
  if (!PLAIN_KEY.test(run) || looksSecret(run)) return false;
  // A key: a colon follows, after at most a closing quote, and the colon ends the key (a blank, a quote, a bracket or the end after it).
  let j = i + 1;
  if (runs[j] === '"' || runs[j] === "'") j++;
  if (runs[j] !== ':') return false;
  const after = runs[j + 1];
  return after === undefined || /^(?:\s+|["'{[\]},])$/.test(after);
}
