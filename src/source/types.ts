/** What a source stage hands to the loader: files and the revision they came from. */

export interface SourceFile {
  /** Path relative to the source root, with forward slashes. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface Snapshot {
  /** Absolute folder for a local source; the repository URL for a Git source. */
  readonly root: string;
  /**
   * Prefix that turns a snapshot path into the path shown to users (the root
   * relative to the current directory for a local source; empty for Git).
   */
  readonly displayPrefix?: string | undefined;
  /** The commit the files come from, when the source is Git. */
  readonly revision?: string | undefined;
  /** Commit time in seconds since the epoch; deterministic outputs use it instead of the clock. */
  readonly commitTime?: number | undefined;
  readonly files: readonly SourceFile[];
  /**
   * Entries of a Git revision that are not among `files`: links and
   * submodules (never followed) and files over the reader's size limit
   * (never loaded). The pipeline reports them, so a record that was not read
   * is never mistaken for a record that was deleted.
   */
  readonly unread?: readonly UnreadEntry[] | undefined;
}

/** A path under the root that is in the revision but not in the snapshot, and why. */
export interface UnreadEntry {
  readonly path: string;
  readonly reason: 'symlink' | 'submodule' | 'oversize';
  /** Bytes, for `oversize`. */
  readonly size?: number | undefined;
  /** The reader's limit in bytes, for `oversize`. */
  readonly limit?: number | undefined;
}

/**
 * The largest file read from a Git revision unless the caller says
 * otherwise: the default of joch.yaml's `limits.maxFileBytes`, so a
 * repository with the default configuration reads the same files from Git
 * as from a checkout.
 */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;

/** The ignore file at a source's root, gitignore syntax. */
export const IGNORE_FILE = '.jochignore';

/** The files a source reads as manifests. */
export const YAML_FILE = /\.ya?ml$/i;

/** The path of a snapshot file as shown in diagnostics. */
export function displayPath(snapshot: Pick<Snapshot, 'displayPrefix'>, rel: string): string {
  return snapshot.displayPrefix ? `${snapshot.displayPrefix}/${rel}` : rel;
}
