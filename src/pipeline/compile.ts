/**
 * validate -> policy -> compile. Nothing is compiled when validation or
 * policy found an error, and nothing should be written when compilation did:
 * `refused` says so. Returns data; the CLI renders and writes.
 */
import { outputLeaks, unitEmissionFindings } from './emission.js';
import { findingResolver } from './findings.js';
import { localPinSource, resolvePins } from './pins.js';
import { sortDiagnostics, summarize, finding, type Diagnostic, type Finding, type Summary } from '../diagnostics/index.js';
import { createCompiler, type Compiler, type CompileOptions, type CompileOutput } from '../compile/index.js';
import { ALL_CHECKS } from '../schema/index.js';
import type { CacheStore } from '../cache/index.js';
import { PIPELINE_CHECKS, runValidate, type ProjectInput, type Timings, type ValidationRun } from './index.js';

export interface CompileRunInput extends ProjectInput {
  /**
   * Compile without the policy stage. Only tests and an explicit
   * `--without-policy` ask for it: the run then carries a JOCH910 warning and
   * the manifests have no policy section.
   */
  readonly withoutPolicy?: boolean | undefined;
  readonly options?: Partial<CompileOptions> | undefined;
  /** A compiler kept between runs (watch mode, the sync loop, the benchmark) rebuilds only what changed. */
  readonly compiler?: Compiler | undefined;
  /** SOURCE_DATE_EPOCH: the time written when the source is not a Git commit. */
  readonly sourceDateEpoch?: number | undefined;
  /** The persistent cache (src/cache): unchanged files and compiled units are reused. */
  readonly cache?: CacheStore | undefined;
}

export interface CompileRun {
  readonly validation: ValidationRun;
  /** Undefined when validation or policy found an error: nothing was compiled. */
  readonly output: CompileOutput | undefined;
  /** True when any stage found an error: emit nothing. */
  readonly refused: boolean;
  readonly diagnostics: Diagnostic[];
  readonly summary: Summary;
  readonly timings: Timings;
}

function finish(run: ValidationRun, diagnostics: Diagnostic[], output: CompileOutput | undefined, timings: Timings): CompileRun {
  const sorted = sortDiagnostics(diagnostics);
  const summary = summarize(sorted, run.set.files.length, run.set.resources.length);
  return { validation: run, output, refused: output === undefined || summary.errors > 0, diagnostics: sorted, summary, timings };
}

/** validate (which governs too) -> compile; refuses when either of the first two found an error. */
export async function runCompile(input: CompileRunInput): Promise<CompileRun> {
  const checks = new Set(input.withoutPolicy ? ALL_CHECKS : PIPELINE_CHECKS);
  const run = await runValidate({ paths: input.paths, cwd: input.cwd, configFile: input.configFile, checks, cache: input.cache });
  const timings: Timings = { ...run.timings };
  const extra: Finding[] = [];
  if (input.withoutPolicy) {
    const at = { file: run.project.config.file ?? '.', line: 1, column: 1 };
    extra.push(finding('JOCH910', 'compiled without the policy stage: the CompiledAgentManifests have no policy section', at));
  }
  const resolve = findingResolver(run.set.texts, run.project.config);
  const before = [...run.diagnostics, ...resolve(extra)];
  if (run.summary.errors > 0) return finish(run, before, undefined, timings);

  const options = { requirePolicyBundles: !input.withoutPolicy, ...input.options };
  const compiler = input.compiler ?? createCompiler(options, { store: input.cache, scope: run.project.root, guard: unitEmissionFindings });
  const start = performance.now();
  const compileInput = {
    resources: run.set.resources,
    graphs: run.graphs,
    references: run.validation.references,
    bundles: new Map((run.policy?.bundles ?? []).map((b) => [b.agent, b])),
    revision: run.snapshot.revision,
    commitTime: run.snapshot.commitTime ?? input.sourceDateEpoch,
    displayPrefix: run.snapshot.displayPrefix,
    workloads: run.project.config.config.workloads,
  };
  const atHead = compiler.compile(compileInput);
  timings.compile = performance.now() - start;
  // Deployments pinned to a promoted version run it, whatever the agent at HEAD compiles to.
  const pinStart = performance.now();
  const pins = await resolvePins(run.graphs, atHead, localPinSource(run.snapshot, options));
  const output = pins.pinned.size ? compiler.compile({ ...compileInput, pinned: pins.pinned }) : atHead;
  if (pins.findings.length) timings.pins = performance.now() - pinStart;
  const leaks = outputLeaks(output);
  return finish(run, [...before, ...resolve([...pins.findings, ...output.findings, ...leaks])], output, timings);
}
