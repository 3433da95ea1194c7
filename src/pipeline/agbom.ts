/**
 * validate -> AgBOMs: every agent's AgBOM for a validation run, shared by
 * `joch agbom`, the GitHub Action and the sync loop.
 */
import { buildFleet, digestFiles, isPolicyFindingCode, sourceTimeOf, type AgBom, type GenerationState, type Organization } from '../agbom/index.js';
import type { Diagnostic } from '../diagnostics/index.js';
import { resolveFindings } from '../manifests/index.js';
import { emissionFindings } from '../schema/emission.js';
import { agbomEmissions } from './emission.js';
import type { ValidationRun } from './index.js';

export interface RunAgBomOptions {
  readonly toolVersion: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly organization?: Organization | undefined;
  readonly state?: GenerationState | undefined;
}

export type RunAgBoms =
  | {
      readonly ok: true;
      readonly boms: AgBom[];
      readonly state: GenerationState;
      /** No commit time and no SOURCE_DATE_EPOCH: documents carry the epoch to stay reproducible. */
      readonly timeFallback: boolean;
    }
  | {
      readonly ok: false;
      /** Errors outside policy: with them the inventory would be wrong, so nothing is built. */
      readonly blocking: readonly Diagnostic[];
    };

/** What an AgBOM needs of a run: a local one (ValidationRun) or one of a Git snapshot (SnapshotRun). */
export type AgBomSource = Pick<ValidationRun, 'diagnostics' | 'snapshot' | 'graphs' | 'policy' | 'set'>;

/** Policy findings are part of what an AgBOM reports (ls --high-risk); any other error means a wrong inventory. */
export function blockingFindings(run: Pick<AgBomSource, 'diagnostics'>): Diagnostic[] {
  return run.diagnostics.filter((d) => d.severity === 'error' && !isPolicyFindingCode(d.code));
}

export function buildRunAgBoms(run: AgBomSource, options: RunAgBomOptions): RunAgBoms {
  const blocking = blockingFindings(run);
  if (blocking.length) return { ok: false, blocking };
  const time = sourceTimeOf(run.snapshot.commitTime, options.env);
  const built = buildFleet(
    { graphs: run.graphs, state: options.state, bundles: new Map((run.policy?.bundles ?? []).map((b) => [b.agent, b])) },
    {
      toolVersion: options.toolVersion,
      sourceTime: time.seconds,
      revision: run.snapshot.revision,
      organization: options.organization,
      files: digestFiles(run.snapshot),
    },
  );
  // Refused as a whole: an AgBOM without the component that leaked would be a wrong inventory.
  const leaks = emissionFindings(agbomEmissions(built.boms, run.set.resources));
  if (leaks.length) return { ok: false, blocking: resolveFindings(run.set, leaks) };
  return { ok: true, ...built, timeFallback: time.fallback };
}
