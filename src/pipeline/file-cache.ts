/**
 * The persistent cache in front of the per-file work: a file's parse,
 * classification and per-document findings (schema, secrets) are stored
 * under the hash of its bytes, its displayed path and the options that shape
 * them, and handed to `loadManifests` and `validateManifests` through the
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
const ENTRY_KIND = 'file-v1';

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
 * One run's use of the store: `prime` before loading puts the stored results
 * of unchanged files into the caches, `save` after validating stores the
 * files that were worked out.
 */
export class PersistentFiles {
  /** Per-file load results, for `loadManifests`. */
  readonly files: WeakMap<SourceFile, FileLoad>;
  /** Per-document findings, for `validateManifests`. */
  readonly documents: WeakMap<ManifestDocument, readonly Finding[]>;
  private readonly missed = new Map<SourceFile, string>();

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
    this.missed.clear();
    for (const source of snapshot.files) {
      if (this.files.has(source)) continue;
      const display = displayPath(snapshot, source.path);
      const key = this.keyOf(display, source.bytes);
      const stored = this.store.get<StoredFile>(ENTRY_KIND, key);
      const load = stored && this.restore(stored, source.bytes, display);
      if (load) this.files.set(source, load);
      else this.missed.set(source, key);
    }
    return this.files;
  }

  /** Stores what `prime` did not find, now that loading and validating worked it out. */
  save(): void {
    for (const [source, key] of this.missed) {
      const load = this.files.get(source);
      if (!load) continue;
      const checks: (readonly Finding[])[] = [];
      for (const d of load.documents) {
        const found = this.documents.get(d);
        if (!found) break;
        checks.push(found);
      }
      // A document the validate stage did not see (it ran on a narrower set) leaves the file unstored.
      if (checks.length !== load.documents.length) continue;
      if (holdsCredential(load.findings) || checks.some(holdsCredential)) continue;
      const stored: StoredFile = {
        file: load.file,
        documents: load.documents.map((d) => ({ file: d.file, doc: d.doc, kind: d.kind.kind, apiVersion: d.apiVersion, body: d.body })),
        resources: load.resources,
        findings: load.findings,
        checks,
      };
      this.store.put(ENTRY_KIND, key, stored);
    }
    this.missed.clear();
  }

  private keyOf(display: string, bytes: Uint8Array): string {
    const { defaultNamespace, limits, schema } = this.options;
    return JSON.stringify([hashBytes(bytes), display, defaultNamespace, limits ?? {}, schema]);
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
