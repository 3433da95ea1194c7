/**
 * The review as markdown, for the job summary and the pull-request comment.
 * It leads with the verdict (does the step pass, and why), then one line per
 * agent that changes, production first: its environments, what it gains and
 * loses, and who approves its side effects. Every count is taken from the
 * same lists the outputs, annotations and SARIF file are written from.
 */
import { approvalSource, formatDiffMarkdown, type AgBomDiff, type InventoryView } from '../agbom/index.js';
import { plural, type Diagnostic } from '../diagnostics/index.js';
import type { AgentGraph } from '../model/graph.js';
import { groupBy } from '../model/group.js';
import { agentName, type Escalation } from './escalations.js';

export interface AgentVerdict {
  readonly agent: string;
  readonly environments: readonly string[];
  readonly production: boolean;
  readonly gains: readonly string[];
  readonly loses: readonly string[];
  readonly changes: number;
  readonly escalations: readonly Escalation[];
}

export interface ReviewFacts {
  readonly failed: boolean;
  /** Why the step fails, one phrase each. */
  readonly failReasons: readonly string[];
  readonly errors: number;
  readonly warnings: number;
  readonly files: number;
  readonly resources: number;
  readonly objects?: number | undefined;
  readonly records: string;
  readonly headSha?: string | undefined;
  readonly baseSha?: string | undefined;
  /** Why there is no AgBOM comparison, when there is none. */
  readonly noDiff?: string | undefined;
  readonly verdicts: readonly AgentVerdict[];
  readonly escalations: readonly Escalation[];
  /** Findings of the head's pipeline (escalations excluded). */
  readonly findings: readonly Diagnostic[];
  readonly diffs: readonly AgBomDiff[];
}

/** Classes of component that are powers of the agent, as a reviewer reads them. */
const POWER_CLASSES = new Set(['tool', 'mcp-server', 'model', 'memory', 'rag', 'agent', 'policy']);

export function agentVerdicts(
  diffs: readonly AgBomDiff[],
  graphs: readonly AgentGraph[],
  headViews: ReadonlyMap<string, InventoryView>,
  escalations: readonly Escalation[],
  /** Agent keys the policy stage counts as production (by Environment name, `env` label or compliance). */
  productionAgents: ReadonlySet<string>,
): AgentVerdict[] {
  const graphOf = new Map(graphs.map((g) => [g.agent.key, g]));
  const escalationsOf = groupBy(escalations, (e) => e.agent);
  const out: AgentVerdict[] = [];
  for (const d of diffs) {
    if (!d.changes.length) continue;
    const envs = [...new Set((graphOf.get(d.agent)?.deployments ?? []).map((x) => x.environment?.name).filter((n): n is string => !!n))].sort();
    const view = headViews.get(d.agent);
    const describe = (key: string, cls: string, name: string) => {
      const approval = approvalSource(view?.components.get(key));
      const effect = view?.components.get(key)?.facts.get('joch:tool:sideEffect')?.[0];
      const detail = [effect && effect !== 'read_only' ? effect : undefined, approval].filter(Boolean).join('; ');
      return `${cls} \`${name}\`${detail ? ` (${detail})` : ''}`;
    };
    const powers = d.changes.filter((c) => POWER_CLASSES.has(c.class) && c.key !== d.agent);
    out.push({
      agent: d.agent,
      environments: envs,
      production: productionAgents.has(d.agent),
      gains: !d.before ? ['(new agent)'] : powers.filter((c) => c.kind === 'added').map((c) => describe(c.key, c.class, c.name)),
      loses: !d.after ? ['(agent removed)'] : powers.filter((c) => c.kind === 'removed').map((c) => `${c.class} \`${c.name}\``),
      changes: d.changes.length,
      escalations: escalationsOf.get(d.agent) ?? [],
    });
  }
  const rank = (v: AgentVerdict) => (v.escalations.some((e) => e.level === 'high') ? 0 : v.escalations.length ? 1 : 2);
  return out.sort((a, b) => Number(b.production) - Number(a.production) || rank(a) - rank(b) || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
}

/** `3 escalations (1 high)`; empty for none. */
function escalationPhrase(list: readonly Escalation[]): string {
  const high = list.filter((e) => e.level === 'high').length;
  return list.length ? `${plural(list.length, 'escalation')}${high ? ` (${high} high)` : ''}` : '';
}

function headline(f: ReviewFacts): string {
  const esc = escalationPhrase(f.escalations) || 'no escalation';
  const counts = `${plural(f.errors, 'error')}, ${plural(f.warnings, 'warning')}, ${esc}`;
  if (f.failed) return `❌ **The check fails**: ${f.failReasons.join('; ')}. (${counts})`;
  if (f.escalations.length) return `⚠️ **The check passes, with ${esc} for a reviewer**: ${counts}.`;
  return `✅ **The check passes**: ${counts}.`;
}

function verdictLine(v: AgentVerdict): string {
  const high = v.escalations.filter((e) => e.level === 'high').length;
  const mark = high ? '🔴' : v.escalations.length ? '🟠' : '⚪';
  const where = v.environments.length ? `${v.production ? '**production**' : 'not production'}: ${v.environments.join(', ')}` : 'not deployed';
  const gains = v.gains.length ? `gains ${v.gains.join(', ')}` : 'gains no capability';
  const loses = v.loses.length ? `loses ${v.loses.join(', ')}` : 'loses none';
  const esc = v.escalations.length ? ` · ${escalationPhrase(v.escalations)}` : '';
  // An escalation on something the agent already had is a change, not a gain: say what it is.
  const changed = v.escalations.filter((e) => !e.gained).map((e) => e.risk.message);
  const changes = changed.length ? ` · ${changed.slice(0, 3).join('; ')}${changed.length > 3 ? `; and ${changed.length - 3} more` : ''}` : '';
  return `- ${mark} **${agentName(v.agent)}** (${where}) · ${gains} · ${loses}${changes}${esc}`;
}

/** Past this many agents, the verdicts fold away. */
const OPEN_VERDICTS = 30;
const MAX_ROWS = 50;
/** Past this many changed agents, the per-agent component tables would only bury the verdicts. */
const MAX_COMPONENT_TABLES = 100;

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderReport(f: ReviewFacts): string {
  const lines = ['## Joch review', '', headline(f), ''];
  const reviewed = f.headSha ? `Reviewed \`${f.headSha.slice(0, 12)}\`` : 'Reviewed the workspace';
  const against = f.baseSha ? ` against base \`${f.baseSha.slice(0, 12)}\`` : '';
  const compiled = f.objects !== undefined ? `compiled to ${plural(f.objects, 'Kubernetes object')}` : 'not compiled (fix the errors first)';
  lines.push(`${reviewed}${against}: ${plural(f.resources, 'resource')} in ${plural(f.files, 'file')} (${f.records}), ${compiled}.`, '');

  lines.push('### What changes for each agent', '');
  if (f.noDiff) lines.push(`_No comparison with the base: ${f.noDiff}._`, '');
  else if (!f.verdicts.length) lines.push('No agent gains or loses a capability; no agent\'s powers change.', '');
  else {
    // Sorted production and high risk first, so what folds away is what matters least.
    const open = f.verdicts.slice(0, OPEN_VERDICTS);
    const folded = f.verdicts.slice(OPEN_VERDICTS);
    lines.push(...open.map(verdictLine), '');
    if (folded.length) {
      const escalated = folded.filter((v) => v.escalations.length).length;
      lines.push(`<details><summary>${plural(folded.length, 'more agent')} (${escalated} with escalations)</summary>`, '', ...folded.map(verdictLine), '', '</details>', '');
    }
  }

  if (f.escalations.length) {
    lines.push(`### Escalations (${f.escalations.length})`, '', '| | agent | where | what |', '|---|---|---|---|');
    const rows = f.escalations.slice(0, MAX_ROWS);
    for (const e of rows) {
      const at = e.finding.at;
      const where = 'line' in at ? `${at.file}:${at.line}` : at.file;
      lines.push(`| ${e.level} | ${agentName(e.agent)} | \`${cell(where)}\` | ${cell(e.risk.message)} |`);
    }
    if (f.escalations.length > rows.length) lines.push('', `…and ${f.escalations.length - rows.length} more; the annotations and the SARIF file have them all.`);
    lines.push('');
  }

  const shown = f.findings.filter((d) => d.severity !== 'info');
  if (shown.length) {
    lines.push('### Findings', '', '| | where | code | message |', '|---|---|---|---|');
    for (const d of shown.slice(0, MAX_ROWS)) {
      const mark = d.severity === 'error' ? '❌' : '⚠️';
      lines.push(`| ${mark} | \`${d.file}:${d.line}\` | ${d.code} | ${cell(d.message)}${d.hint ? ` (${cell(d.hint)})` : ''} |`);
    }
    if (shown.length > MAX_ROWS) lines.push('', `…and ${shown.length - MAX_ROWS} more; the annotations and the SARIF file have them all.`);
    lines.push('');
  }

  if (!f.noDiff && f.verdicts.length > MAX_COMPONENT_TABLES) {
    lines.push(`_Component tables are left out for ${plural(f.verdicts.length, 'agent')}; \`joch agbom diff --from <base>\` prints them._`, '');
  } else if (!f.noDiff && f.verdicts.length) {
    lines.push('<details><summary>Component changes, agent by agent</summary>', '', formatDiffMarkdown(f.diffs, { title: 'AgBOM changes', level: 4 }), '</details>', '');
  }
  return `${lines.join('\n')}\n`;
}

/** GitHub refuses a step summary over 1 MiB. */
export const MAX_SUMMARY_BYTES = 1024 * 1024;

/** Cuts markdown at a line so it fits `limit` characters with the note; closes an open <details>. */
export function fitMarkdown(markdown: string, limit: number, note: string): string {
  if (markdown.length <= limit) return markdown;
  const room = limit - note.length - 20;
  let cut = markdown.slice(0, Math.max(0, markdown.lastIndexOf('\n', room)));
  const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
  if (open > 0) cut += '\n\n</details>';
  return `${cut}\n\n${note}\n`;
}
