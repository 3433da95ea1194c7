/** Renderings of AgBOM diffs and risk reports for terminals, JSON consumers and pull-request comments. */
import type { AgBomDiff, ComponentChange } from './diff.js';
import type { AgentRisk, RiskFinding } from './risk.js';

const MARK: Readonly<Record<ComponentChange['kind'], string>> = { added: '+', removed: '-', changed: '~' };

/** The AgBOM versions compared; nothing when both sides carry the same number (two fresh builds). */
function versions(d: AgBomDiff): string {
  if (d.before && d.after && d.before.version === d.after.version) return '';
  return `${d.before ? `version ${d.before.version}` : '(none)'} -> ${d.after ? `version ${d.after.version}` : '(none)'}`;
}

export function formatDiffText(diffs: readonly AgBomDiff[]): string {
  const changed = diffs.filter((d) => d.changes.length);
  if (!changed.length) return 'No AgBOM changes.\n';
  const out: string[] = [];
  for (const d of changed) {
    out.push(`AgBOM ${d.agent}${versions(d) ? `: ${versions(d)}` : ''}`);
    const risky = d.risks.filter((r) => r.severity !== 'low');
    if (risky.length) {
      out.push(`  Risk-relevant changes (${risky.length}):`);
      for (const r of risky) out.push(`    [${r.severity}] ${r.message}`);
    }
    out.push(`  Components (${d.changes.length} changed):`);
    for (const c of d.changes) {
      out.push(`    ${MARK[c.kind]} ${c.key}${c.kind === 'changed' ? '' : ` (${c.kind})`}`);
      for (const line of c.details) out.push(`        ${line}`);
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown for the GitHub Action's pull-request comment: risks first, then a table of changes. */
export interface MarkdownOptions {
  /** The section title (default "AgBOM changes"). */
  readonly title?: string | undefined;
  /** Heading level of the title; agents get the next level (default 2). */
  readonly level?: number | undefined;
}

export function formatDiffMarkdown(diffs: readonly AgBomDiff[], options: MarkdownOptions = {}): string {
  const changed = diffs.filter((d) => d.changes.length);
  const level = options.level ?? 2;
  const title = `${'#'.repeat(level)} ${options.title ?? 'AgBOM changes'}`;
  if (!changed.length) return `${title}\n\nNo AgBOM changes.\n`;
  const out: string[] = [title, ''];
  for (const d of changed) {
    out.push(`${'#'.repeat(level + 1)} ${d.agent}${versions(d) ? ` (${versions(d)})` : ''}`, '');
    const risky = d.risks.filter((r) => r.severity !== 'low');
    if (risky.length) {
      out.push('**Risk-relevant changes**', '');
      for (const r of risky) out.push(`- **${r.severity}**: ${r.message}`);
      out.push('');
    }
    out.push('| | Component | Class | Version | Details |', '|---|---|---|---|---|');
    for (const c of d.changes) {
      const version = c.kind === 'changed' ? `${c.before} → ${c.after}` : (c.after ?? c.before ?? '');
      out.push(`| ${MARK[c.kind]} | \`${cell(c.key)}\` | ${c.class} | ${cell(version)} | ${cell(c.details.join('; '))} |`);
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

export function formatRiskText(risks: readonly AgentRisk[], all: boolean): string {
  const out: string[] = [];
  for (const r of risks) {
    if (!all && !r.risks.length) continue;
    out.push(`${r.agent}${r.risks.length ? `  HIGH RISK (${r.risks.length})` : ''}`);
    for (const f of r.risks) out.push(`    ${f.code}: ${f.message}`);
  }
  return out.length ? `${out.join('\n')}\n` : 'No high-risk agents.\n';
}

export type { RiskFinding };
