/**
 * Promotion and rollback, GitOps style: both change the repository, never a
 * cluster. Each reads the Joch project at a commit, checks what the change
 * needs (release gates for a promotion, a prior revision for a rollback),
 * runs the whole pipeline on the tree the change would produce (so the
 * target Environment's policies judge the agent there), and writes one
 * commit on a new branch, with the evidence as Git trailers.
 */
export * from './types.js';
export { promote } from './promotion.js';
export { rollback } from './rollback.js';
export { DEFAULT_STATUS_BRANCH, gateTrailer } from './project.js';
export { APPROVAL_LABEL, APPROVAL_VERSION, evalResultsPath, parseEvalResults } from './gates.js';
export { ANNOTATION } from './records.js';
