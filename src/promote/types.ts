/** The promote stage's plain data: what a promotion or a rollback asks for, and what it produced. */
import type { Diagnostic } from '../diagnostics/index.js';

export interface RepositoryInput {
  /** The working tree of the Git repository. */
  readonly worktree: string;
  /** The Joch project root (the folder of joch.yaml), inside the working tree. */
  readonly projectRoot: string;
  /** Where paths in diagnostics are shown from. */
  readonly cwd: string;
  /** The revision the change is made on; default HEAD. */
  readonly base?: string | undefined;
  /** The branch to create; a default name is derived from the change. */
  readonly branch?: string | undefined;
  /** Replace the branch when it exists. */
  readonly force?: boolean | undefined;
  /** Compute and check everything, write nothing. */
  readonly dryRun?: boolean | undefined;
  /** Commit time in seconds since the epoch; default now. */
  readonly time?: number | undefined;
}

export interface PromoteInput extends RepositoryInput {
  readonly agent: string;
  readonly namespace?: string | undefined;
  readonly from: string;
  readonly to: string;
  /** The branch holding recorded Eval results: default joch/status (local, else origin's). */
  readonly statusBranch?: string | undefined;
}

export interface RollbackInput extends RepositoryInput {
  /** `Agent` (with `environment`) or `Deployment`. */
  readonly kind: 'Agent' | 'Deployment';
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly environment?: string | undefined;
  /** The Deployment revision to restore (1 is the oldest). */
  readonly toVersion: number;
  /** The branch whose history records what ran: default joch/status (local, else origin's). */
  readonly statusBranch?: string | undefined;
}

export interface GateResult {
  readonly kind: 'running' | 'eval' | 'approval' | 'policy';
  readonly name: string;
  readonly passed: boolean;
  /** What the verdict rests on: scores against thresholds, the Approval record, the policy verdict. */
  readonly evidence: string;
}

export interface FileChange {
  /** Path relative to the repository. */
  readonly path: string;
  readonly before: string | undefined;
  readonly after: string;
}

/** One version of a Deployment record in the history of the repository. */
export interface DeploymentRevision {
  readonly revision: number;
  readonly commit: string;
  readonly subject: string;
  /** The version it pinned (joch.dev/version), when it was promoted. */
  readonly version: string | undefined;
  /** Whether the status branch records it applied (Ready or Applied); undefined when the branch records nothing of this Deployment. */
  readonly ran: boolean | undefined;
}

export interface ChangeResult {
  /** `unchanged`: the target already runs this version; nothing is written. */
  readonly outcome: 'written' | 'planned' | 'refused' | 'unchanged';
  readonly agent: string;
  readonly deployment: string;
  readonly base: string;
  readonly version: string | undefined;
  readonly gates: readonly GateResult[];
  readonly files: readonly FileChange[];
  readonly message: string;
  readonly branch: string | undefined;
  readonly commit: string | undefined;
  readonly tree: string | undefined;
  /** Errors that refused the change, and notes. */
  readonly diagnostics: readonly Diagnostic[];
  /** The files the diagnostics point into, by their displayed path. */
  readonly texts: ReadonlyMap<string, string>;
}

export interface PromotionResult extends ChangeResult {
  readonly from: string;
  readonly to: string;
  /** The target Deployment did not exist and was written. */
  readonly created: boolean;
}

export interface RollbackResult extends ChangeResult {
  readonly revisions: readonly DeploymentRevision[];
  readonly restored: number | undefined;
  /** What the agent compiles to after the rollback; differs from `version` when something it reaches changed since. */
  readonly compiledVersion: string | undefined;
}

/** A request that cannot be carried out as asked (unknown agent, Environment or revision): exit 2. */
export class PromoteUsageError extends Error {}
