/**
 * `joch validate` when only per-file checks run (schema, secrets) and no
 * persistent cache is kept: nothing after the checks reads a document's
 * values (no identity, references, graph or policy), so each file is reduced
 * to its findings and counts where it is checked, on a worker or on the main
 * thread, and no manifest set is assembled. The diagnostics are the ones
 * `runValidate` gives for the same checks, byte for byte
 * (test/cli/threads.test.ts): the same findings, in the same order, located
 * the same way.
 *
 * With the cache on, `runValidate` runs instead: the cache stores per-document
 * findings of an assembled set.
 */
import { finding, sortDiagnostics, summarize, type Diagnostic, type Finding, type Summary } from '../diagnostics/index.js';
import { decodeText, DEFAULT_PARSE_LIMITS } from '../manifests/index.js';
import { SUMMARY_MIN_FREE_CORES, summarizeFiles, threadsFor, type FileSummary } from '../schema/index.js';
import { readLocalSource } from '../source/local.js';
import { displayPath, type SourceFile } from '../source/types.js';
import { findingResolver } from './findings.js';
import { resolveProject, sourceOptionsOf, type PipelineCheck, type Project, type Timings, type ValidateInput } from './index.js';

/** The checks whose findings depend on one file alone. */
const PER_FILE_CHECKS: ReadonlySet<PipelineCheck> = new Set<PipelineCheck>(['schema', 'secrets']);

/** Whether `checks` are all per-file checks, so `runFileChecks` gives what `runValidate` would. */
export function perFileChecksOnly(checks: ReadonlySet<PipelineCheck>): boolean {
  return [...checks].every((c) => PER_FILE_CHECKS.has(c));
}

export interface FileChecksRun {
  readonly project: Project;
  readonly diagnostics: Diagnostic[];
  readonly summary: Summary;
  readonly timings: Timings;
  /** Decoded text of each file a diagnostic is in, by displayed path: for code frames. */
  readonly texts: ReadonlyMap<string, string>;
}

export async function runFileChecks(input: ValidateInput & { readonly checks: ReadonlySet<PipelineCheck> }): Promise<FileChecksRun> {
  if (!perFileChecksOnly(input.checks)) throw new Error(`runFileChecks runs per-file checks only, not ${[...input.checks].join(', ')}`);
  const timings: Timings = {};
  const project = resolveProject(input);
  const { config } = project.config;
  const start = performance.now();
  const source = await readLocalSource(sourceOptionsOf(project, input.cwd));
  timings.source = performance.now() - start;

  const checked = performance.now();
  const { snapshot } = source;
  const files = [...snapshot.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const inputs = files.map((f) => ({ path: displayPath(snapshot, f.path), bytes: f.bytes }));
  const threads = threadsFor(
    files.reduce((n, f) => n + f.bytes.byteLength, 0),
    process.env,
    undefined,
    undefined,
    SUMMARY_MIN_FREE_CORES,
  );
  let byWorkers = 0;
  const options = { defaultNamespace: config.defaultNamespace, limits: { ...DEFAULT_PARSE_LIMITS, ...config.limits }, schema: input.checks.has('schema') };
  const summaries = await summarizeFiles(inputs, options, { threads, onChecked: (by, n) => void (by === 'worker' && (byWorkers += n)) });
  timings[threads > 1 ? `files (${threads} threads, ${byWorkers} by workers)` : 'files'] = performance.now() - checked;

  const reporting = performance.now();
  // In the order runValidate gathers them: the project's, the source's, then every file's load findings, then every document's.
  const findings: Finding[] = [
    ...project.config.findings,
    ...project.findings,
    ...source.findings,
    ...summaries.flatMap((s) => s.loadFindings),
    ...summaries.flatMap((s) => s.documentFindings),
  ];
  if (files.length === 0 && !source.findings.length) {
    findings.push(finding('JOCH003', 'no YAML files were found', { file: project.config.file ?? '.', line: 1, column: 1 }));
  }
  const texts = textsOf(findings, files, inputs);
  const diagnostics = sortDiagnostics(findingResolver(texts, project.config)(findings));
  timings.report = performance.now() - reporting;
  return { project, diagnostics, summary: summarize(diagnostics, files.length, resourcesIn(summaries)), timings, texts };
}

/** The text of each file a finding points into: only those are located and shown. */
function textsOf(findings: readonly Finding[], files: readonly SourceFile[], inputs: readonly { readonly path: string }[]): Map<string, string> {
  const wanted = new Set(findings.map((f) => f.at.file));
  const texts = new Map<string, string>();
  files.forEach((f, i) => {
    const shown = inputs[i]?.path;
    if (shown === undefined || !wanted.has(shown)) return;
    const decoded = decodeText(f.bytes);
    if (decoded.ok) texts.set(shown, decoded.text);
  });
  return texts;
}

function resourcesIn(summaries: readonly FileSummary[]): number {
  return summaries.reduce((n, s) => n + s.resources, 0);
}
