/**
 * The GitHub Action: validate, govern and compile the head of a pull request,
 * and diff every agent's AgBOM against the base, so reviewers see what the
 * change does to each agent's powers. Writes workflow annotations, a SARIF
 * file, the job summary, step outputs and (on pull requests) one review
 * comment that later runs update in place.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffFleets, formatDiffMarkdown, viewOfAgBom, type AgBomDiff, type InventoryView } from '../agbom/index.js';
import { formatDiagnostics, type Diagnostic } from '../diagnostics/index.js';
import { buildRunAgBoms } from '../pipeline/agbom.js';
import { runCompile, type CompileRun } from '../pipeline/compile.js';
import { validateRevision } from '../pipeline/revision.js';
import { upsertReviewComment } from './github.js';
import { readInputs, type ActionInputs } from './inputs.js';

export { readInputs, type ActionInputs } from './inputs.js';
export { upsertReviewComment, COMMENT_MARKER } from './github.js';

export interface ActionIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (s: string) => void;
  readonly toolVersion: string;
}

export interface ActionResult {
  readonly exitCode: number;
  readonly errors: number;
  readonly warnings: number;
  readonly agbomChanges: number;
  readonly riskyChanges: number;
  /** The markdown written to the job summary and the review comment. */
  readonly report: string;
  readonly comment?: 'created' | 'updated' | 'skipped' | undefined;
}

export async function runAction(io: ActionIO): Promise<ActionResult> {
  const inputs = readInputs(io.env);
  const head = await runCompile({ paths: [inputs.path], cwd: inputs.workspace });
  const diagnostics = head.diagnostics;

  // Annotations: the runner turns these lines of stdout into file annotations.
  io.stdout(formatDiagnostics('github', diagnostics, head.summary));
  const sarifPath = path.resolve(inputs.workspace, inputs.sarifFile);
  mkdirSync(path.dirname(sarifPath), { recursive: true });
  writeFileSync(sarifPath, formatDiagnostics('sarif', diagnostics, head.summary, { toolVersion: io.toolVersion }));

  const agbom = await agbomDiff(inputs, head, io);
  const riskyChanges = agbom.diffs.reduce((n, d) => n + d.risks.filter((r) => r.severity !== 'low').length, 0);
  const agbomChanges = agbom.diffs.reduce((n, d) => n + d.changes.length, 0);
  const report = renderReport(inputs, head, diagnostics, agbom);

  if (inputs.summaryFile) appendFileSync(inputs.summaryFile, `${report}\n`);
  const comment = await postComment(inputs, report, io);
  const { errors, warnings } = head.summary;
  if (inputs.outputFile) {
    appendFileSync(
      inputs.outputFile,
      [`errors=${errors}`, `warnings=${warnings}`, `sarif-file=${sarifPath}`, `agbom-changes=${agbomChanges}`, `risky-changes=${riskyChanges}`, ''].join('\n'),
    );
  }
  const failed = inputs.failOn === 'error' ? errors > 0 : inputs.failOn === 'warning' ? errors + warnings > 0 : false;
  return { exitCode: failed ? 1 : 0, errors, warnings, agbomChanges, riskyChanges, report, comment };
}

interface AgBomReview {
  readonly diffs: AgBomDiff[];
  /** Why there is no diff, when there is none. */
  readonly note?: string | undefined;
}

/** The AgBOMs of the base commit against those of the head. */
async function agbomDiff(inputs: ActionInputs, head: CompileRun, io: ActionIO): Promise<AgBomReview> {
  const after = buildRunAgBoms(head.validation, { toolVersion: io.toolVersion, env: io.env });
  if (!after.ok) return { diffs: [], note: 'the head has errors outside policy, so its AgBOMs were not built' };
  if (!inputs.base) return { diffs: [], note: 'no base commit (not a pull request and no `base` input): nothing to compare with' };
  const before = await baseViews(inputs, io);
  if ('note' in before) return { diffs: [], note: before.note };
  return { diffs: diffFleets(before.views, after.boms.map(viewOfAgBom)) };
}

/** The base commit's records, read from the object store (no checkout), and their AgBOMs. */
async function baseViews(inputs: ActionInputs, io: ActionIO): Promise<{ views: InventoryView[] } | { note: string }> {
  const base = await validateRevision(inputs.workspace, inputs.base as string, inputs.path);
  if (!base.ok) return { note: base.reason };
  const built = buildRunAgBoms(base.run, { toolVersion: io.toolVersion, env: io.env });
  if (!built.ok) return { note: 'the base has errors outside policy, so its AgBOMs could not be built; every agent is shown as new' };
  return { views: built.boms.map(viewOfAgBom) };
}

const MAX_FINDINGS = 50;

function renderReport(inputs: ActionInputs, head: CompileRun, diagnostics: readonly Diagnostic[], agbom: AgBomReview): string {
  const s = head.summary;
  const status = s.errors ? `**${s.errors} error${s.errors === 1 ? '' : 's'}**` : '**no errors**';
  const objects = head.output ? `compiled to ${head.output.objects.length} Kubernetes objects` : 'not compiled (fix the errors first)';
  const lines = [
    '## Joch review',
    '',
    `${status}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'} in ${s.files} files (${s.resources} resources); ${objects}.`,
    '',
  ];
  const shown = diagnostics.filter((d) => d.severity !== 'info').slice(0, MAX_FINDINGS);
  if (shown.length) {
    lines.push('### Findings', '', '| | where | code | message |', '|---|---|---|---|');
    for (const d of shown) {
      const mark = d.severity === 'error' ? '❌' : '⚠️';
      lines.push(`| ${mark} | \`${d.file}:${d.line}\` | ${d.code} | ${escapeCell(d.message)}${d.hint ? ` (${escapeCell(d.hint)})` : ''} |`);
    }
    const hidden = diagnostics.filter((d) => d.severity !== 'info').length - shown.length;
    if (hidden > 0) lines.push('', `…and ${hidden} more; the SARIF file and the annotations have them all.`);
    lines.push('');
  }
  const title = `What changes for each agent${inputs.base ? ` (against ${inputs.base.slice(0, 12)})` : ''}`;
  if (agbom.note) lines.push(`### ${title}`, '', `_${agbom.note}._`);
  else if (agbom.diffs.some((d) => d.changes.length)) lines.push(formatDiffMarkdown(agbom.diffs, { title, level: 3 }));
  else lines.push(`### ${title}`, '', 'No agent gains or loses a capability.');
  return `${lines.join('\n')}\n`;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

async function postComment(inputs: ActionInputs, report: string, io: ActionIO): Promise<ActionResult['comment']> {
  if (!inputs.comment || !inputs.pullRequest || !inputs.repository || !inputs.token) return 'skipped';
  try {
    return await upsertReviewComment(
      { apiUrl: inputs.apiUrl, token: inputs.token, repository: inputs.repository, pullRequest: inputs.pullRequest },
      report,
    );
  } catch (e) {
    // A comment is a convenience: the summary and annotations already carry the review.
    io.stdout(`::warning::joch could not post the review comment: ${(e as Error).message}\n`);
    return 'skipped';
  }
}
