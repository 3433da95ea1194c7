/**
 * The persistent cache in front of the per-document checks (schema,
 * secrets): each file's findings are stored under the hash of its bytes and
 * its displayed path, in one entry per project and options, and handed to
 * `validateManifests` through the in-memory cache it already takes.
 * Cross-file checks (identity, references, policy) always run.
 *
 * Why findings and not the parse: reading a stored parse back costs as much
 * as the fast YAML path that produced it (measured: 0.45 s against 0.47 s for
 * 1,000 agents), and for 10,000 agents the stored parse (190 MB) made a warm
 * run slower than none. Findings are small (a clean file has none), so the
 * entry is cheap to read and to rewrite. They never quote a credential; a
 * file with a credential finding is not stored all the same.
 */
import type { CacheStore } from '../cache/index.js';
import type { Finding } from '../diagnostics/index.js';
import type { ManifestDocument, ManifestSet, ParseLimits } from '../manifests/index.js';
import { groupBy } from '../model/group.js';
import { isCredentialFinding } from '../schema/secrets.js';

/** Bumped when the stored shape changes (the build id covers the code that fills it). */
const PACK_KIND = 'checks-pack-v1';

export interface FileCacheOptions {
  readonly defaultNamespace: string;
  readonly limits?: Partial<ParseLimits> | undefined;
  /** Whether the schema check runs: the stored findings include its findings. */
  readonly schema: boolean;
}

interface StoredChecks {
  readonly path: string;
  /** The findings of each document of the file, in document order. */
  readonly checks: readonly (readonly Finding[])[];
}

interface ChecksPack {
  readonly files: ReadonlyMap<string, StoredChecks>;
  /** Files checked but not stored (a credential): their absence is no reason to write the pack again. */
  readonly unstored: ReadonlySet<string>;
}

/**
 * The store's use by one project: `prime` after loading puts the stored
 * findings of unchanged files into the per-document cache, `save` after
 * validating stores the project's findings again when any file was checked.
 * Kept between the sync loop's cycles.
 */
export class PersistentFiles {
  /** Per-document findings, for `validateManifests`. */
  readonly documents: WeakMap<ManifestDocument, readonly Finding[]>;
  /** Of the last `prime`: files whose findings came from the store, and files left to check. */
  readonly counts = { reused: 0, worked: 0 };
  private pack: ChecksPack | undefined;
  private missed = new Set<string>();
  /** The documents of the set `prime` saw, by file: `save` follows with the same set. */
  private grouped: { readonly set: ManifestSet; readonly byFile: Map<string, ManifestDocument[]> } | undefined;

  constructor(
    private readonly store: CacheStore,
    private readonly options: FileCacheOptions,
    documents?: WeakMap<ManifestDocument, readonly Finding[]>,
  ) {
    this.documents = documents ?? new WeakMap();
  }

  /** Fills the per-document cache from the store for every file whose documents are not in it yet. */
  prime(set: ManifestSet): WeakMap<ManifestDocument, readonly Finding[]> {
    this.counts.reused = 0;
    this.counts.worked = 0;
    this.missed = new Set();
    const byFile = this.documentsOf(set);
    for (const file of set.files) {
      const docs = byFile.get(file.path) ?? [];
      if (docs.length > 0 && docs.every((d) => this.documents.has(d))) continue;
      const key = keyOf(file);
      this.pack ??= this.readPack(set);
      const stored = this.pack.files.get(key);
      if (stored && stored.path === file.path && stored.checks.length === docs.length) {
        docs.forEach((d, i) => this.documents.set(d, stored.checks[i] ?? []));
        this.counts.reused++;
      } else {
        this.missed.add(key);
        this.counts.worked++;
      }
    }
    return this.documents;
  }

  /** Stores the project's findings when `prime` missed a file that can be stored. */
  save(set: ManifestSet): void {
    if (this.missed.size === 0) return;
    const byFile = this.documentsOf(set);
    const read = new Set(set.files.map((f) => f.path));
    const files = new Map<string, StoredChecks>();
    // Files of the project this run did not read (a run on one folder or file) stay, one version per path.
    for (const [key, stored] of this.pack?.files ?? []) if (!read.has(stored.path)) files.set(key, stored);
    const unstored = new Set<string>();
    let changed = false;
    for (const file of set.files) {
      const key = keyOf(file);
      const docs = byFile.get(file.path) ?? [];
      const checks: (readonly Finding[])[] = [];
      for (const d of docs) {
        const found = this.documents.get(d);
        if (!found) break;
        checks.push(found);
      }
      const complete = checks.length === docs.length;
      if (complete && !checks.some(holdsCredential)) {
        files.set(key, { path: file.path, checks });
        if (this.missed.has(key)) changed = true;
      } else {
        unstored.add(key);
        if (this.missed.has(key) && !this.pack?.unstored.has(key)) changed = true;
      }
    }
    this.missed = new Set();
    this.pack = { files, unstored };
    if (changed) this.store.put(PACK_KIND, this.packKey(set), this.pack);
  }

  private documentsOf(set: ManifestSet): Map<string, ManifestDocument[]> {
    if (this.grouped?.set !== set) this.grouped = { set, byFile: groupBy(set.documents, (d) => d.file) };
    return this.grouped.byFile;
  }

  private readPack(set: ManifestSet): ChecksPack {
    const pack = this.store.get<ChecksPack>(PACK_KIND, this.packKey(set));
    return pack && pack.files instanceof Map && pack.unstored instanceof Set ? pack : { files: new Map(), unstored: new Set() };
  }

  private packKey(set: ManifestSet): string {
    const { defaultNamespace, limits, schema } = this.options;
    return JSON.stringify([set.root, defaultNamespace, limits ?? {}, schema]);
  }
}

/** A file is found by the sha256 of its bytes and its displayed path (findings carry the path). */
function keyOf(file: { readonly path: string; readonly hash: string }): string {
  return `${file.hash} ${file.path}`;
}

function holdsCredential(findings: readonly Finding[]): boolean {
  return findings.some(isCredentialFinding);
}
