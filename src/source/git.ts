/** The Git side of the source stage: follow a repository of manifests, and write status back to it. */
export { GitSource } from './git-source.js';
export type {
  GitSourceOptions,
  GitSourceEvent,
  GitSnapshotResult,
  GitUpdateFailure,
  GitUpdateResult,
  GitUpdateStats,
} from './git-source.js';
export type { GitAuth, SecretSource } from './git-auth.js';
export type { RefSelector, ResolvedRef } from './git-refs.js';
export type { ChangeSet, SkippedEntry } from './git-snapshot.js';
export { GitSourceError, redact, redactUrls } from './git-errors.js';
export type { GitFailure, GitFailureReason, UnverifiedCommit } from './git-errors.js';
export { TrustedKeys, openpgpSigner, verifyCommitSignature } from './git-verify.js';
export type { CommitSigner, CommitVerification, SignedPayload, VerifiedCommit } from './git-verify.js';
export {
  DEFAULT_BOT_IDENTITY,
  DEFAULT_STATUS_BRANCH,
  STATUS_TRAILER,
  StatusWriter,
  isOwnStatusCommit,
} from './git-status.js';
export type {
  BotIdentity,
  CommitLike,
  StatusFiles,
  StatusReadResult,
  StatusWriteOptions,
  StatusWriteResult,
  StatusWriteSuccess,
  StatusWriterOptions,
} from './git-status.js';
