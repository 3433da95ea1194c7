/**
 * The GitHub Action: validate, govern and compile the head of a pull request,
 * and diff every agent's AgBOM against the base, so reviewers see what the
 * change does to each agent's powers. Writes workflow annotations, a SARIF
 * file, the job summary, step outputs and (on pull requests) one review
 * comment that later runs update in place.
 *
 * It never fails open: a base it cannot read fails the step (unless
 * fail-on-missing-base is false) and leaves the earlier comment marked stale
 * rather than replaced by a review that compared nothing.
 */
import { openCache, type CacheStore } from '../cache/index.js';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffFleets, viewOfAgBom, type AgBomDiff, type InventoryView } from '../agbom/index.js';
import { formatDiagnostics, plural, sortDiagnostics, summarize, type Summary } from '../diagnostics/index.js';
import { buildRunAgBoms } from '../pipeline/agbom.js';
import { runCompile, type CompileRun } from '../pipeline/compile.js';
import { findingResolver } from '../pipeline/findings.js';
import { runSnapshot } from '../pipeline/snapshot.js';
import { CONFIG_FILES } from '../config/index.js';
import { ensureBase, readRevisionFiles } from './base.js';
import { findEscalations, type Escalation, type RiskLevel } from './escalations.js';
import { GitHubApiError, markCommentStale, MAX_COMMENT_CHARS, COMMENT_MARKER, tokenLogin, upsertReviewComment, type GitHubTarget } from './github.js';
import { readInputs, type ActionInputs } from './inputs.js';
import { selectRecords, type RecordSelection } from './records.js';
import { agentVerdicts, fitMarkdown, MAX_SUMMARY_BYTES, renderReport, type ReviewFacts } from './report.js';

export interface ActionIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (s: string) => void;
  readonly toolVersion: string;
}

export type CommentResult = 'created' | 'updated' | 'marked-stale' | 'skipped' | 'failed';

export interface ActionResult {
  readonly exitCode: number;
  readonly errors: number;
  readonly warnings: number;
  readonly agbomChanges: number;
  /** Escalations (risk-relevant changes) of high or medium severity. */
  readonly riskyChanges: number;
  readonly escalations: readonly Escalation[];
  /** The markdown written to the job summary (the comment is this, cut to fit). */
  readonly report: string;
  readonly comment: CommentResult;
}

interface AgBomReview {
  readonly diffs: AgBomDiff[];
  readonly headViews: Map<string, InventoryView>;
  readonly baseSha?: string | undefined;
  /** Why there is no diff, when there is none. */
  readonly note?: string | undefined;
  /** The base could not be read: the review is incomplete. */
  readonly baseMissing?: boolean | undefined;
}

export async function runAction(io: ActionIO): Promise<ActionResult> {
  const inputs = readInputs(io.env);
  const selection = selectRecords(inputs.workspace, inputs.path);
  if (selection.empty) return noRecords(inputs, io);
  // The base commit shares most files with the head: its review reuses what the head's run stored.
  const store = openCache({ env: io.env });
  const head = await runCompile({ paths: selection.paths, cwd: inputs.workspace, cache: store });
  const review = await agbomReview(inputs, selection, head, io, store);
  store?.collect();
  const found = findEscalations({
    diffs: review.diffs,
    graphs: head.validation.graphs,
    failAt: inputs.failOnRisk === 'never' ? undefined : (inputs.failOnRisk as RiskLevel),
  });
  // Escalations are findings like any other: joch.yaml's severity overrides apply, and they count.
  const resolve = findingResolver(head.validation.set.texts, head.validation.project.config);
  const escalationDiagnostics = resolve(found.map((e) => e.finding));
  // Placed at their resolved lines; one that joch.yaml turned off is gone from every count.
  const byMessage = new Map(escalationDiagnostics.map((d) => [d.message, d]));
  const escalations = found.flatMap((e) => {
    const d = byMessage.get(e.finding.message);
    return d ? [{ ...e, finding: { ...e.finding, severity: d.severity, at: { file: d.file, line: d.line, column: d.column } } }] : [];
  });
  const diagnostics = sortDiagnostics([...head.diagnostics, ...escalationDiagnostics]);
  const summary = summarize(diagnostics, head.summary.files, head.summary.resources);

  io.stdout(formatDiagnostics('github', diagnostics, summary));
  const sarifPath = path.resolve(inputs.workspace, inputs.sarifFile);
  mkdirSync(path.dirname(sarifPath), { recursive: true });
  writeFileSync(sarifPath, formatDiagnostics('sarif', diagnostics, summary, { toolVersion: io.toolVersion, sourceRoot: inputs.workspace, helpUrl: inputs.helpUrl }));

  const failReasons = reasonsToFail(inputs, summary, review, escalations);
  const facts: ReviewFacts = {
    failed: failReasons.length > 0,
    failReasons,
    errors: summary.errors,
    warnings: summary.warnings,
    files: summary.files,
    resources: summary.resources,
    objects: head.output?.objects.length,
    records: selection.described,
    headSha: inputs.headSha,
    baseSha: review.baseSha,
    noDiff: review.note,
    verdicts: agentVerdicts(review.diffs, head.validation.graphs, review.headViews, escalations, productionAgents(head)),
    escalations,
    findings: head.diagnostics,
    diffs: review.diffs,
  };
  const report = renderReport(facts);
  // Half the byte limit, counted in characters: the review is mostly ASCII, with a few emoji of four bytes.
  if (inputs.summaryFile) appendFileSync(inputs.summaryFile, fitMarkdown(report, MAX_SUMMARY_BYTES / 2, '_The review is cut here to fit the job summary; the annotations and the SARIF file have every finding._'));
  const comment = await postComment(inputs, report, review, io);
  const agbomChanges = review.diffs.reduce((n, d) => n + d.changes.length, 0);
  writeOutputs(inputs, { errors: summary.errors, warnings: summary.warnings, 'sarif-file': sarifPath, 'agbom-changes': agbomChanges, 'risky-changes': escalations.length, escalations: escalations.length, comment });
  if (failReasons.length) io.stdout(`::error title=joch::${failReasons.join('; ')}\n`);
  return { exitCode: failReasons.length ? 1 : 0, errors: summary.errors, warnings: summary.warnings, agbomChanges, riskyChanges: escalations.length, escalations, report, comment };
}

/** The agents the policy stage found production evidence for: one answer for the baseline and the review. */
function productionAgents(head: CompileRun): Set<string> {
  return new Set((head.validation.policy?.agents ?? []).filter((a) => a.production.length > 0).map((a) => a.agent.key));
}

function reasonsToFail(inputs: ActionInputs, s: Summary, review: AgBomReview, escalations: readonly Escalation[]): string[] {
  const out: string[] = [];
  // Escalations at the fail-on-risk level are errors; they fail the step whatever fail-on says.
  const risky = escalations.filter((e) => e.finding.severity === 'error').length;
  const errors = s.errors - risky;
  if (inputs.failOn !== 'never' && errors > 0) out.push(plural(errors, 'error'));
  if (risky > 0 && (inputs.failOnRisk !== 'never' || inputs.failOn !== 'never')) {
    out.push(`${plural(risky, 'escalation')} at or above ${inputs.failOnRisk === 'never' ? 'the severity joch.yaml sets' : `${inputs.failOnRisk} (fail-on-risk)`}`);
  }
  if (inputs.failOn === 'warning' && s.warnings > 0) out.push(`${plural(s.warnings, 'warning')} (fail-on: warning)`);
  if (review.baseMissing && inputs.failOnMissingBase) {
    out.push(`${review.note}; set \`fetch-depth: 0\` on actions/checkout, or \`fail-on-missing-base: false\` to review without the comparison`);
  }
  return out;
}

/** The AgBOMs of the base commit against those of the head. */
async function agbomReview(inputs: ActionInputs, selection: RecordSelection, head: CompileRun, io: ActionIO, store: CacheStore | undefined): Promise<AgBomReview> {
  const after = buildRunAgBoms(head.validation, { toolVersion: io.toolVersion, env: io.env });
  if (!after.ok) return { diffs: [], headViews: new Map(), note: 'the head has errors outside policy, so its AgBOMs were not built' };
  const headViews = new Map(after.boms.map((b) => viewOfAgBom(b)).map((v) => [v.agent, v]));
  if (!inputs.base) return { diffs: [], headViews, note: 'no base commit (not a pull request and no `base` input)' };
  const base = await ensureBase(inputs.workspace, inputs.base);
  if (!base.ok) return { diffs: [], headViews, note: base.reason, baseMissing: true };
  const files = await readRevisionFiles(inputs.workspace, base.sha, selection.baseRoot);
  if (!files.ok) return { diffs: [], headViews, baseSha: base.sha, note: files.reason, baseMissing: true };
  // joch.yaml is read from the revision before the selection applies to the records.
  const chosen = files.snapshot.files.filter((f) => CONFIG_FILES.includes(f.path) || selection.keep(f.path, f.bytes));
  const before = runSnapshot({ snapshot: { ...files.snapshot, files: chosen }, compile: false, store });
  const built = buildRunAgBoms(before, { toolVersion: io.toolVersion, env: io.env });
  // A broken base is no reason to hide the head's powers: every agent is then new.
  const views = built.ok ? built.boms.map(viewOfAgBom) : [];
  return { diffs: diffFleets(views, [...headViews.values()]), headViews, baseSha: base.sha };
}

function noRecords(inputs: ActionInputs, io: ActionIO): ActionResult {
  const report = '## Joch review\n\nNo Joch records: no joch.yaml at the repository root and no YAML file that declares a joch.dev apiVersion.\n';
  io.stdout('::warning title=joch::no Joch records found (add a joch.yaml or set the path input)\n');
  if (inputs.summaryFile) appendFileSync(inputs.summaryFile, report);
  writeOutputs(inputs, { errors: 0, warnings: 1, 'agbom-changes': 0, 'risky-changes': 0, escalations: 0, comment: 'skipped' });
  return { exitCode: 0, errors: 0, warnings: 1, agbomChanges: 0, riskyChanges: 0, escalations: [], report, comment: 'skipped' };
}

function writeOutputs(inputs: ActionInputs, values: Record<string, string | number>): void {
  if (!inputs.outputFile) return;
  appendFileSync(inputs.outputFile, `${Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
}

async function postComment(inputs: ActionInputs, report: string, review: AgBomReview, io: ActionIO): Promise<CommentResult> {
  if (!inputs.comment || !inputs.pullRequest || !inputs.repository) return 'skipped';
  if (!inputs.token) {
    io.stdout('::warning title=joch::no review comment: the github-token input is empty (the job summary has the review)\n');
    return 'skipped';
  }
  const target: GitHubTarget = { apiUrl: inputs.apiUrl, token: inputs.token, repository: inputs.repository, pullRequest: inputs.pullRequest };
  let login: string | undefined;
  try {
    login = await tokenLogin(target);
    if (review.baseMissing) {
      const why = `The run for \`${(inputs.headSha ?? 'the head').slice(0, 12)}\` could not compare with the base (${review.note}); this review is of an earlier commit.`;
      return (await markCommentStale(target, why, login)).action === 'marked-stale' ? 'marked-stale' : 'skipped';
    }
    const more = inputs.runUrl ? `[the job summary](${inputs.runUrl})` : 'the job summary';
    const body = fitMarkdown(report, MAX_COMMENT_CHARS - COMMENT_MARKER.length - 1, `_The comment is cut here to fit GitHub's limit; ${more} has the whole review._`);
    return (await upsertReviewComment(target, body, login)).action === 'created' ? 'created' : 'updated';
  } catch (e) {
    // The summary and annotations carry the review; the comment is a convenience, but it must not contradict the check.
    io.stdout(`::warning title=joch::the review comment was not written: ${(e as Error).message}\n`);
    if (e instanceof GitHubApiError && ![0, 401, 403, 404].includes(e.status)) {
      try {
        await markCommentStale(target, `The run for \`${(inputs.headSha ?? 'the head').slice(0, 12)}\` could not update this comment (${e.status}); see the check's job summary.`, login);
      } catch {
        // Already warned.
      }
    }
    return 'failed';
  }
}
