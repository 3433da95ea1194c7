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
}

/** The ignore file at a source's root, gitignore syntax. */
export const IGNORE_FILE = '.jochignore';

/** The files a source reads as manifests. */
export const YAML_FILE = /\.ya?ml$/i;

/** The path of a snapshot file as shown in diagnostics. */
export function displayPath(snapshot: Pick<Snapshot, 'displayPrefix'>, rel: string): string {
  return snapshot.displayPrefix ? `${snapshot.displayPrefix}/${rel}` : rel;
}
