import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { allCodes, codeInfo, type CodeInfo } from './codes.js';
import { codeAnchor, ruleText } from './rules.js';
import { redactSourceLines, redactText, redactUnparsedLines } from './redact.js';

/** Codes that mean some of a file was not read as YAML: its frames are redacted by shape alone. */
const UNPARSED = new Set(['JOCH101', 'JOCH102', 'JOCH103', 'JOCH104']);
import type { Diagnostic, Severity } from './types.js';
import { describeResource } from './types.js';

export type OutputFormat = 'text' | 'json' | 'github' | 'sarif';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json', 'github', 'sarif'];

export interface Summary {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  readonly files: number;
  readonly resources: number;
}

export interface FormatContext {
  /** Returns a file's text, for code frames. */
  readonly sourceText?: ((file: string) => string | undefined) | undefined;
  readonly color?: boolean | undefined;
  readonly toolVersion?: string | undefined;
  /** Extra top-level fields for the JSON output (stage results, timings). */
  readonly extra?: Readonly<Record<string, unknown>> | undefined;
  /** Hide info-level findings in the text output. */
  readonly quietInfo?: boolean | undefined;
  /** SARIF: absolute folder the diagnostics' file paths are relative to (default: the current directory). */
  readonly sourceRoot?: string | undefined;
  /** SARIF: URL of docs/codes.md, for each rule's helpUri; without it rules carry their help inline only. */
  readonly helpUrl?: string | undefined;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** A total, deterministic order: file, line, column, severity, code, message. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort(
    (a, b) =>
      cmp(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      cmp(a.code, b.code) ||
      cmp(a.message, b.message),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function summarize(diags: readonly Diagnostic[], files: number, resources: number): Summary {
  let errors = 0;
  let warnings = 0;
  let infos = 0;
  for (const d of diags) {
    if (d.severity === 'error') errors++;
    else if (d.severity === 'warning') warnings++;
    else infos++;
  }
  return { errors, warnings, infos, files, resources };
}

export function formatDiagnostics(
  format: OutputFormat,
  diags: readonly Diagnostic[],
  summary: Summary,
  ctx: FormatContext = {},
): string {
  // A file name can be a token too: it is masked, and the code frames still find the file by its real name.
  const realNames = new Map<string, string>();
  const sorted = sortDiagnostics(diags).map((d) => {
    const safe = redactDiagnostic(d);
    if (safe.file !== d.file) realNames.set(safe.file, d.file);
    return safe;
  });
  const read = ctx.sourceText;
  if (read && realNames.size) ctx = { ...ctx, sourceText: (file) => read(realNames.get(file) ?? file) };
  switch (format) {
    case 'json':
      return formatJson(sorted, summary, ctx);
    case 'github':
      return formatGithub(sorted);
    case 'sarif':
      return formatSarif(sorted, ctx);
    case 'text':
      return formatText(sorted, summary, ctx);
  }
}

/**
 * Every text a diagnostic carries, with credential-shaped parts masked. The
 * stages never quote a credential on purpose; this holds even when one does
 * by accident (a reference named with a token, a key that is a token).
 */
function redactDiagnostic(d: Diagnostic): Diagnostic {
  const resource = d.resource
    ? {
        ...d.resource,
        name: redactText(d.resource.name),
        ...(d.resource.namespace !== undefined ? { namespace: redactText(d.resource.namespace) } : {}),
      }
    : undefined;
  return {
    ...d,
    file: redactText(d.file),
    message: redactText(d.message),
    ...(d.path !== undefined ? { path: redactText(d.path) } : {}),
    ...(d.hint !== undefined ? { hint: redactText(d.hint) } : {}),
    ...(resource ? { resource } : {}),
    ...(d.related ? { related: d.related.map((r) => ({ ...r, file: redactText(r.file), message: redactText(r.message) })) } : {}),
  };
}

// ---------------------------------------------------------------- JSON

function formatJson(diags: readonly Diagnostic[], summary: Summary, ctx: FormatContext): string {
  return `${JSON.stringify({ diagnostics: diags.map(jsonDiagnostic), summary, ...ctx.extra }, null, 2)}\n`;
}

function jsonDiagnostic(d: Diagnostic): Record<string, unknown> {
  const out: Record<string, unknown> = {
    severity: d.severity,
    code: d.code,
    message: d.message,
    file: d.file,
    line: d.line,
    column: d.column,
  };
  if (d.endLine !== undefined) out.endLine = d.endLine;
  if (d.endColumn !== undefined) out.endColumn = d.endColumn;
  if (d.path) out.path = d.path;
  if (d.resource) out.resource = { ...d.resource };
  if (d.hint) out.hint = d.hint;
  if (d.related?.length) out.related = d.related.map((r) => ({ ...r }));
  return out;
}

// ---------------------------------------------------------------- GitHub

function formatGithub(diags: readonly Diagnostic[]): string {
  return diags
    .map((d) => {
      const level = d.severity === 'info' ? 'notice' : d.severity;
      const props = [
        `file=${escapeProperty(d.file)}`,
        `line=${d.line}`,
        `col=${d.column}`,
        d.endLine !== undefined ? `endLine=${d.endLine}` : '',
        d.endColumn !== undefined && d.endLine === d.line ? `endColumn=${d.endColumn}` : '',
        `title=${escapeProperty(`${d.code} ${codeInfo(d.code)?.name ?? ''}`.trim())}`,
      ].filter(Boolean);
      const text = [d.message, d.resource ? `(${describeResource(d.resource)})` : '', d.hint ? `Hint: ${d.hint}` : '']
        .filter(Boolean)
        .join(' ');
      return `::${level} ${props.join(',')}::${escapeData(text)}\n`;
    })
    .join('');
}

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

// ---------------------------------------------------------------- SARIF 2.1.0

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

function formatSarif(diags: readonly Diagnostic[], ctx: FormatContext): string {
  const rules = allCodes();
  const ruleIndex = new Map(rules.map((r, i) => [r.code, i]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'joch',
            version: ctx.toolVersion ?? '0.0.0',
            informationUri: 'https://joch.dev',
            rules: rules.map((r) => sarifRule(r, ctx.helpUrl)),
          },
        },
        // Code scanning wants an absolute URI here, ending in a slash.
        originalUriBaseIds: { SRCROOT: { uri: folderUri(ctx.sourceRoot ?? process.cwd()) } },
        results: diags.map((d) => ({
          ruleId: d.code,
          ...(ruleIndex.has(d.code) ? { ruleIndex: ruleIndex.get(d.code) } : {}),
          level: SARIF_LEVEL[d.severity],
          message: { text: d.hint ? `${d.message} Hint: ${d.hint}` : d.message },
          locations: [sarifLocation(d)],
          partialFingerprints: { 'jochFinding/v1': fingerprint(d) },
          ...(d.related?.length
            ? { relatedLocations: d.related.map((r, i) => ({ id: i, ...sarifLocation(r), message: { text: r.message } })) }
            : {}),
          ...(d.resource ? { properties: { resource: { ...d.resource } } } : {}),
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function sarifRule(r: CodeInfo, helpUrl: string | undefined) {
  const t = ruleText(r);
  return {
    id: r.code,
    name: r.name,
    shortDescription: { text: r.summary },
    fullDescription: { text: t.fullDescription },
    help: { text: t.helpText, markdown: t.helpMarkdown },
    ...(helpUrl ? { helpUri: `${helpUrl}#${codeAnchor(r.code)}` } : {}),
    defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
    properties: { tags: [...(t.family?.tags ?? [])], ...(t.family?.securitySeverity ? { 'security-severity': t.family.securitySeverity } : {}) },
  };
}

function folderUri(dir: string): string {
  const href = pathToFileURL(path.resolve(dir)).href;
  return href.endsWith('/') ? href : `${href}/`;
}

/**
 * Stable while lines move: the code, the file, the resource and the field
 * (or, without one, the message), so code scanning matches an alert across
 * commits that only shift it.
 */
function fingerprint(d: Diagnostic): string {
  const resource = d.resource ? `${d.resource.kind}/${d.resource.namespace ?? ''}/${d.resource.name}` : '';
  return createHash('sha256').update([d.code, d.file, resource, d.path ?? d.message].join('\0')).digest('hex').slice(0, 32);
}

function sarifLocation(l: { file: string; line: number; column: number; endLine?: number | undefined; endColumn?: number | undefined }) {
  return {
    physicalLocation: {
      // Each segment encoded: encodeURI would leave `#` and `?` to start a fragment or a query.
      artifactLocation: { uri: l.file.replace(/\\/g, '/').split('/').map(encodeURIComponent).join('/'), uriBaseId: 'SRCROOT' },
      region: {
        startLine: l.line,
        startColumn: l.column,
        ...(l.endLine !== undefined ? { endLine: l.endLine } : {}),
        ...(l.endColumn !== undefined ? { endColumn: l.endColumn } : {}),
      },
    },
  };
}

// ---------------------------------------------------------------- text

const ANSI = { red: 31, yellow: 33, blue: 34, gray: 90, bold: 1, cyan: 36 } as const;

function paint(on: boolean, style: keyof typeof ANSI, s: string): string {
  return on ? `\u001b[${ANSI[style]}m${s}\u001b[0m` : s;
}

const SEVERITY_STYLE: Record<Severity, keyof typeof ANSI> = { error: 'red', warning: 'yellow', info: 'blue' };

interface Span {
  readonly line: number;
  readonly endLine: number;
  readonly column: number;
  readonly endColumn: number;
}

/** Places that hold secret values, by file: never shown in a code frame. */
function sensitiveSpans(diags: readonly Diagnostic[]): Map<string, Span[]> {
  const out = new Map<string, Span[]>();
  for (const d of diags) {
    if (!codeInfo(d.code)?.sensitive) continue;
    const span = { line: d.line, column: d.column, endLine: d.endLine ?? d.line, endColumn: d.endColumn ?? Number.MAX_SAFE_INTEGER };
    out.set(d.file, [...(out.get(d.file) ?? []), span]);
  }
  return out;
}

/** Replaces every character of a source line that falls in a sensitive span. */
function maskLine(src: string, n: number, spans: readonly Span[] | undefined): string {
  if (!spans) return src;
  let out = src;
  for (const s of spans) {
    if (n < s.line || n > s.endLine) continue;
    const from = n === s.line ? s.column - 1 : 0;
    const to = n === s.endLine ? Math.min(src.length, s.endColumn - 1) : src.length;
    if (to > from) out = out.slice(0, from) + '*'.repeat(to - from) + out.slice(to);
  }
  return out;
}

function formatText(diags: readonly Diagnostic[], summary: Summary, ctx: FormatContext): string {
  const color = ctx.color ?? false;
  const lines: string[] = [];
  const masked = sensitiveSpans(diags);
  const unparsed = new Set(diags.filter((d) => UNPARSED.has(d.code)).map((d) => d.file));
  // Redaction reads a file from the top (a line's meaning depends on the lines above it), but
  // need not go past the last line a frame shows: a third of the print time of a small repository.
  const lastShown = new Map<string, number>();
  for (const d of diags) lastShown.set(d.file, Math.max(lastShown.get(d.file) ?? 0, d.line + 1));
  // Split and redacted once per file: a file with thousands of findings is not re-read for each.
  const safe = new Map<string, readonly string[] | undefined>();
  const safeLinesOf = (file: string): readonly string[] | undefined => {
    if (!safe.has(file)) {
      const text = ctx.sourceText?.(file);
      const lines = text?.split(/\r?\n/);
      safe.set(file, lines === undefined ? undefined : unparsed.has(file) ? redactUnparsedLines(lines) : redactSourceLines(lines, 0, lastShown.get(file)));
    }
    return safe.get(file);
  };
  for (const d of diags) {
    if (ctx.quietInfo && d.severity === 'info') continue;
    const where = `${d.file}:${d.line}:${d.column}`;
    const res = d.resource ? paint(color, 'gray', `  [${describeResource(d.resource)}]`) : '';
    lines.push(
      `${paint(color, 'bold', where)} ${paint(color, SEVERITY_STYLE[d.severity], d.severity)} ${paint(color, 'gray', d.code)} ${d.message}${res}`,
    );
    const source = safeLinesOf(d.file);
    if (source !== undefined) lines.push(...codeFrame(source, d, color, masked.get(d.file)));
    if (d.hint) lines.push(`  ${paint(color, 'cyan', 'hint:')} ${d.hint}`);
    for (const r of d.related ?? []) lines.push(`  ${paint(color, 'gray', 'see:')} ${r.file}:${r.line}:${r.column} ${r.message}`);
    lines.push('');
  }
  lines.push(summaryLine(summary, color));
  return `${lines.join('\n')}\n`;
}

function summaryLine(s: Summary, color: boolean): string {
  const parts = [
    plural(s.errors, 'error'),
    plural(s.warnings, 'warning'),
    ...(s.infos ? [plural(s.infos, 'note')] : []),
  ].join(', ');
  const checked = `${plural(s.resources, 'resource')} in ${plural(s.files, 'file')}`;
  const mark = s.errors ? paint(color, 'red', 'FAIL') : paint(color, 'bold', 'OK');
  return `${mark} ${parts} (${checked})`;
}

/** `1 error`, `2 errors`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * A few lines of source around the finding, with a caret under it. `safe`
 * is the file's lines already passed through `redactSourceLines` (which must
 * see the file from its top: a frame may start inside a block scalar whose
 * key is above it), at least to the line after the finding's; `hidden` masks
 * what the finding itself points at.
 */
export function codeFrame(
  safe: readonly string[],
  loc: { line: number; column: number; endLine?: number | undefined; endColumn?: number | undefined },
  color = false,
  hidden?: readonly Span[],
): string[] {
  const first = Math.max(1, loc.line - 1);
  const last = Math.min(safe.length, loc.line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const src = maskLine((safe[n - 1] ?? '').replace(/\t/g, ' '), n, hidden);
    const marker = n === loc.line ? '>' : ' ';
    out.push(`  ${paint(color, n === loc.line ? 'bold' : 'gray', `${marker} ${String(n).padStart(width)} |`)} ${src}`);
    if (n === loc.line) {
      const end = loc.endLine === loc.line && loc.endColumn !== undefined ? loc.endColumn : src.length + 1;
      const span = Math.max(1, Math.min(end, src.length + 1) - loc.column);
      out.push(`    ${' '.repeat(width)} | ${' '.repeat(Math.max(0, loc.column - 1))}${paint(color, 'red', '^'.repeat(span))}`);
    }
  }
  return out;
}
