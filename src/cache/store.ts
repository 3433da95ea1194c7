/**
 * A content-addressed store on disk. An entry is found by the digest of the
 * build id, its kind and its key, and holds one structured-clone value
 * (v8 serialization keeps what JSON would lose: NaN, -0, bytes, shared
 * objects). Writes are atomic (a temporary file, then a rename), so readers
 * and concurrent writers only ever see whole entries; anything unreadable is a
 * miss. Files are 0600 in 0700 folders.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  futimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';

const MAGIC = Buffer.from('JOCHC01\n', 'latin1');
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + DIGEST_BYTES + 4;
/** The largest entry (a project's files or units are one entry each); the length field has 32 bits. */
const MAX_ENTRY_BYTES = 1 << 30;
/** A hit refreshes its entry's mtime (the LRU clock) at most this often. */
const TOUCH_AFTER_MS = 24 * 3600_000;
/** The size bound is checked at most this often, by a run that wrote. */
const GC_EVERY_MS = 3600_000;
/** Eviction goes down to this share of the bound, so it does not run on every write. */
const GC_TARGET = 0.8;
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

export interface CacheCounters {
  hits: number;
  misses: number;
  writes: number;
  bytesWritten: number;
  /** Writes that failed (a read-only or full disk): the run goes on uncached. */
  failures: number;
}

export interface StoreOptions {
  readonly dir: string;
  /** Part of every key: entries of another build are never read. */
  readonly buildId: string;
  readonly maxBytes?: number | undefined;
  /** For tests: the clock the LRU and the eviction read. */
  readonly now?: (() => number) | undefined;
}

export interface CacheUsage {
  readonly dir: string;
  readonly entries: number;
  readonly bytes: number;
}

export class CacheStore {
  readonly counters: CacheCounters = { hits: 0, misses: 0, writes: 0, bytesWritten: 0, failures: 0 };
  private readonly made = new Set<string>();
  private readonly maxBytes: number;
  private readonly now: () => number;
  private writable = true;

  constructor(private readonly options: StoreOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.now = options.now ?? Date.now;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** The value stored under (kind, key) by this build, or undefined. Never throws. */
  get<T>(kind: string, key: string): T | undefined {
    const digest = this.digest(kind, key);
    const value = this.read(entryPath(this.options.dir, digest.toString('hex')), digest);
    if (value === MISS) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    return value as T;
  }

  /** Stores a value; a failure to write is counted, never thrown. */
  put(kind: string, key: string, value: unknown): void {
    if (!this.writable) return;
    const digest = this.digest(kind, key);
    const hex = digest.toString('hex');
    const file = entryPath(this.options.dir, hex);
    try {
      const payload = serialize(value);
      if (payload.length > MAX_ENTRY_BYTES) return;
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header, 0);
      digest.copy(header, MAGIC.length);
      header.writeUInt32LE(payload.length, MAGIC.length + DIGEST_BYTES);
      const bytes = Buffer.concat([header, payload]);
      try {
        this.writeAtomically(file, bytes);
      } catch {
        // The folder may have been removed since it was made (`joch cache clear` meanwhile): make it again, once.
        this.made.clear();
        this.writeAtomically(file, bytes);
      }
      this.counters.writes++;
      this.counters.bytesWritten += HEADER_BYTES + payload.length;
    } catch {
      this.counters.failures++;
      this.writable = false;
    }
  }

  /**
   * Keeps the store under its bound, evicting the least recently used entries
   * (by mtime). Runs at most once an hour, and only after a run that wrote.
   */
  collect(force = false): void {
    if (!force && this.counters.writes === 0) return;
    const stamp = path.join(this.options.dir, 'last-gc');
    const now = this.now();
    try {
      if (!force && now - statSync(stamp).mtimeMs < GC_EVERY_MS) return;
    } catch {
      // No stamp yet: collect now.
    }
    try {
      evict(this.options.dir, this.maxBytes, now);
      writeFileSync(stamp, '', { mode: 0o600 });
      utimesSync(stamp, now / 1000, now / 1000);
    } catch {
      // A cache that cannot be collected is still a cache; the next run tries again.
    }
  }

  private digest(kind: string, key: string): Buffer {
    return createHash('sha256').update(`${this.options.buildId}\0${kind}\0${key}`).digest();
  }

  private read(file: string, digest: Buffer): unknown {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return MISS;
    }
    try {
      const stat = fstatSync(fd);
      if (stat.size < HEADER_BYTES || stat.size > HEADER_BYTES + MAX_ENTRY_BYTES) return MISS;
      const buf = Buffer.allocUnsafe(stat.size);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break;
        got += n;
      }
      if (got !== buf.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return MISS;
      if (!buf.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES).equals(digest)) return MISS;
      if (buf.readUInt32LE(MAGIC.length + DIGEST_BYTES) !== buf.length - HEADER_BYTES) return MISS;
      const value: unknown = deserialize(buf.subarray(HEADER_BYTES));
      const now = this.now();
      if (now - stat.mtimeMs > TOUCH_AFTER_MS) {
        try {
          futimesSync(fd, now / 1000, now / 1000);
        } catch {
          // A read-only cache still serves hits.
        }
      }
      return value;
    } catch {
      return MISS;
    } finally {
      closeSync(fd);
    }
  }

  private writeAtomically(file: string, bytes: Buffer): void {
    this.ensureFolder(path.dirname(file));
    // A name no other writer uses: two processes writing the same entry each rename a whole file.
    const tmp = `${file}.${process.pid}.${(tmpCounter++).toString(36)}.tmp`;
    try {
      writeFileSync(tmp, bytes, { mode: 0o600 });
      renameSync(tmp, file);
    } catch (e) {
      removeQuietly(tmp);
      throw e;
    }
  }

  private ensureFolder(dir: string): void {
    if (this.made.has(dir)) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.made.add(dir);
  }
}

const MISS = Symbol('miss');
let tmpCounter = 0;

/** Entries fan out over 256 folders by their first byte. */
function entryPath(dir: string, hex: string): string {
  return path.join(dir, 'entries', hex.slice(0, 2), hex.slice(2));
}

interface EntryFile {
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
}

function listEntries(dir: string): EntryFile[] {
  const root = path.join(dir, 'entries');
  const out: EntryFile[] = [];
  let shards: string[];
  try {
    shards = readdirSync(root);
  } catch {
    return out;
  }
  for (const shard of shards) {
    let names: string[];
    try {
      names = readdirSync(path.join(root, shard));
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(root, shard, name);
      try {
        const s = statSync(file);
        out.push({ file, size: s.size, mtimeMs: s.mtimeMs });
      } catch {
        // Removed meanwhile by another process.
      }
    }
  }
  return out;
}

/** Removes temporary files left by a writer that died, then the oldest entries beyond the bound. */
function evict(dir: string, maxBytes: number, now: number): void {
  const entries = listEntries(dir);
  let total = 0;
  const kept: EntryFile[] = [];
  for (const e of entries) {
    if (e.file.endsWith('.tmp')) {
      if (now - e.mtimeMs > GC_EVERY_MS) removeQuietly(e.file);
      continue;
    }
    total += e.size;
    kept.push(e);
  }
  if (total <= maxBytes) return;
  kept.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.file < b.file ? -1 : 1));
  for (const e of kept) {
    if (total <= maxBytes * GC_TARGET) break;
    removeQuietly(e.file);
    total -= e.size;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

/** How many entries and bytes the store holds. */
export function cacheUsage(dir: string): CacheUsage {
  const entries = listEntries(dir).filter((e) => !e.file.endsWith('.tmp'));
  return { dir, entries: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0) };
}

/** Deletes every entry: the cache is safe to delete at any time. */
export function clearCache(dir: string): void {
  rmSync(path.join(dir, 'entries'), { recursive: true, force: true });
  rmSync(path.join(dir, 'last-gc'), { force: true });
}
