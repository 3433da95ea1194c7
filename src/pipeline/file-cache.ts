/**
 * The persistent cache in front of the per-file work: a file's parse,
 * classification and per-document findings (schema, secrets) are stored
 * under the hash of its bytes and its displayed path, in one entry per
 * project and options, and handed to `loadManifests` and `validateManifests` through the
 * in-memory caches they already take. Cross-file checks (identity,
 * references, policy) always run.
 *
 * What is stored: the parsed documents of Joch kinds and their findings,
 * never the file's text (it is decoded again from the bytes the run read
 * anyway). A file with a credential finding is never stored, so the cache
 * holds no credential the checks saw, and no copy of it outlives the fix.
 */
import type { CacheStore } from '../cache/index.js';
import type { Finding } from '../diagnostics/index.js';
import { decodeText, hashBytes, type FileLoad, type LoadedFile, type ManifestDocument, type ParseLimits } from '../manifests/index.js';
import { kindInfo } from '../model/kinds.js';
import type { Resource } from '../model/resource.js';
import { displayPath, type Snapshot, type SourceFile } from '../source/types.js';

/** Bumped when the stored shape changes (the build id covers the code that fills it). */
const PACK_KIND = 'file-pack-v1';

export interface FileCacheOptions {
  readonly defaultNamespace: string;
  readonly limits?: Partial<ParseLimits> | undefined;
  /** Whether the schema check runs: the stored per-document findings include its findings. */
  readonly schema: boolean;
}

interface StoredDocument {
  readonly file: string;
  readonly doc: number;
  readonly kind: string;
  readonly apiVersion: string;
  readonly body: Readonly<Record<string, unknown>>;
}

interface StoredFile {
  readonly file: LoadedFile;
  readonly documents: readonly StoredDocument[];
  readonly resources: readonly Resource[];
  readonly findings: readonly Finding[];
  /** The per-document findings, in the order of `documents`. */
  readonly checks: readonly (readonly Finding[])[];
}

/** Codes whose finding means the file holds a credential: such a file is not stored. */
const CREDENTIAL_CODES = new Set(['JOCH601', 'JOCH602']);

/**
 * The files of one project (its root, displayed paths and options) as one
 * entry: a warm run reads one file instead of one per manifest, and a cold
 * run writes one. Inside it, files are found by content (the hash of their
 * bytes), so any file whose bytes did not change is reused.
 */
interface FilePack {
  readonly files: ReadonlyMap<string, StoredFile>;
  /** Files worked out but not stored (a credential): their absence is no reason to write the pack again. */
  readonly unstored: ReadonlySet<string>;
}

/**
 * The store's use by one project: `prime` before loading puts the stored
 * results of unchanged files into the caches, `save` after validating stores
 * the project's files again when any was worked out. Kept between the sync
 * loop's cycles, so files already in memory are not looked up again.
 */
export class PersistentFiles {
  /** Per-file load results, for `loadManifests`. */
  readonly files: WeakMap<SourceFile, FileLoad>;
  /** Per-document findings, for `validateManifests`. */
  readonly documents: WeakMap<ManifestDocument, readonly Finding[]>;
  /** What each file in memory is stored as (undefined: not storable). */
  private readonly entries = new WeakMap<SourceFile, { readonly key: string; readonly stored: StoredFile | undefined }>();
  private readonly missed = new Map<SourceFile, string>();
  private snapshot: Snapshot | undefined;
  private pack: FilePack | undefined;
  /** Of the last `prime`: files served by the store, and files left to work out. */
  readonly counts = { reused: 0, worked: 0 };

  constructor(
    private readonly store: CacheStore,
    private readonly options: FileCacheOptions,
    caches: { files?: WeakMap<SourceFile, FileLoad>; documents?: WeakMap<ManifestDocument, readonly Finding[]> } = {},
  ) {
    this.files = caches.files ?? new WeakMap();
    this.documents = caches.documents ?? new WeakMap();
  }

  /** Looks up every file not already in memory; returns the per-file cache for `loadManifests`. */
  prime(snapshot: Snapshot): WeakMap<SourceFile, FileLoad> {
    this.snapshot = snapshot;
    this.missed.clear();
    this.counts.reused = 0;
    this.counts.worked = 0;
    for (const source of snapshot.files) {
      if (this.files.has(source) && this.entries.has(source)) continue;
      const display = displayPath(snapshot, source.path);
      const key = this.keyOf(display, source.bytes);
      this.pack ??= this.readPack(snapshot);
      const stored = this.pack.files.get(key);
      const load = stored && this.restore(stored, source.bytes, display);
      if (load) {
        this.files.set(source, load);
        this.entries.set(source, { key, stored });
        this.counts.reused++;
      } else {
        this.missed.set(source, key);
        this.counts.worked++;
      }
    }
    return this.files;
  }

  /** Stores the project's files when `prime` missed any that can be stored. */
  save(): void {
    const snapshot = this.snapshot;
    if (!snapshot) return;
    let changed = false;
    for (const [source, key] of this.missed) {
      const load = this.files.get(source);
      if (!load) continue;
      const stored = this.storable(load);
      this.entries.set(source, { key, stored });
      if (stored || !this.pack?.unstored.has(key)) changed = true;
    }
    this.missed.clear();
    if (!changed) return;
    // Files of the project this run did not read (a run on one folder or file) stay, one version per path.
    const read = new Set(snapshot.files.map((f) => displayPath(snapshot, f.path)));
    const files = new Map<string, StoredFile>();
    for (const [key, stored] of this.pack?.files ?? []) if (!read.has(stored.file.path)) files.set(key, stored);
    const unstored = new Set<string>();
    for (const source of snapshot.files) {
      const entry = this.entries.get(source);
      if (!entry) continue;
      if (entry.stored) files.set(entry.key, entry.stored);
      else unstored.add(entry.key);
    }
    this.pack = { files, unstored };
    this.store.put(PACK_KIND, this.packKey(snapshot), this.pack);
  }

  private readPack(snapshot: Snapshot): FilePack {
    const pack = this.store.get<FilePack>(PACK_KIND, this.packKey(snapshot));
    return pack && pack.files instanceof Map && pack.unstored instanceof Set ? pack : { files: new Map(), unstored: new Set() };
  }

  private packKey(snapshot: Snapshot): string {
    const { defaultNamespace, limits, schema } = this.options;
    return JSON.stringify([snapshot.root, snapshot.displayPrefix ?? '', defaultNamespace, limits ?? {}, schema]);
  }

  /** What a worked-out file is stored as; undefined when it must not be (a credential) or was not fully checked. */
  private storable(load: FileLoad): StoredFile | undefined {
    const checks: (readonly Finding[])[] = [];
    for (const d of load.documents) {
      const found = this.documents.get(d);
      if (!found) return undefined;
      checks.push(found);
    }
    if (holdsCredential(load.findings) || checks.some(holdsCredential)) return undefined;
    return {
      file: load.file,
      documents: load.documents.map((d) => ({ file: d.file, doc: d.doc, kind: d.kind.kind, apiVersion: d.apiVersion, body: d.body })),
      resources: load.resources,
      findings: load.findings,
      checks,
    };
  }

  private keyOf(display: string, bytes: Uint8Array): string {
    return `${hashBytes(bytes)} ${display}`;
  }

  /** A stored entry back into the load stage's shape; undefined (a miss) if it does not fit. */
  private restore(stored: StoredFile, bytes: Uint8Array, display: string): FileLoad | undefined {
    if (stored.file?.path !== display || stored.documents.length !== stored.checks.length) return undefined;
    const documents: ManifestDocument[] = [];
    for (const d of stored.documents) {
      const kind = kindInfo(d.kind);
      if (!kind) return undefined;
      documents.push({ file: d.file, doc: d.doc, kind, apiVersion: d.apiVersion, body: d.body });
    }
    documents.forEach((d, i) => this.documents.set(d, stored.checks[i] ?? []));
    const decoded = decodeText(bytes);
    return {
      file: stored.file,
      text: decoded.ok ? decoded.text : undefined,
      documents,
      resources: stored.resources,
      findings: stored.findings,
    };
  }
}

function holdsCredential(findings: readonly Finding[]): boolean {
  return findings.some((f) => CREDENTIAL_CODES.has(f.code));
}
