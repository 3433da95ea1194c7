/**
 * Watches the members of an ApplySet, the way Argo CD keeps its live-state
 * cache: one watch per member kind across all namespaces, filtered by our
 * part-of label, so a hand edit or a deletion is known within a second
 * instead of at the next full comparison. It does not keep the objects: it
 * says that something of ours was changed by someone else, and the caller
 * runs its (full) drift check, which decides what differs and puts it back.
 *
 * Each kind: a LIST with limit=1 for a resourceVersion, then WATCH from it
 * with bookmarks (so a reconnect resumes where it left off), renewed every
 * `watchSeconds`; 410 Gone lists again; a network failure reconnects with
 * exponential backoff. What a quiet hour costs: per kind, one watch request
 * per `watchSeconds` (plus a list after a 410), nothing else.
 */
import { setMaxListeners } from 'node:events';
import { APPLYSET_PART_OF_LABEL, applySetId, parseGroupKind } from './inventory.js';
import { openClient } from './context.js';
import { RestMapper, apiVersionOf, resourcePath } from './discovery.js';
import type { ResourceMapping } from './discovery.js';
import { ApiError, sleep } from './transport.js';
import type { KubeClient, WatchEvent } from './transport.js';
import type { ClusterOptions, InventoryRef, KubeObject, ObjectRef } from './types.js';

export interface MemberWatchOptions extends ClusterOptions {
  inventory: InventoryRef;
  /** `Kind.group` of the members to watch (core group: `Kind`). */
  groupKinds: readonly string[];
  /** A member was changed or deleted by someone other than our field manager. */
  onDrift: (change: DriftEvent) => void;
  /** Server-side length of one watch request; default 300 s. */
  watchSeconds?: number;
  /** Reconnect backoff after a failure; default 500 ms doubling to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface DriftEvent {
  ref: ObjectRef;
  type: 'MODIFIED' | 'DELETED';
  /** The field manager of the change, when the object says. */
  manager?: string;
}

export interface WatchStats {
  lists: number;
  watches: number;
  events: number;
  relists: number;
  reconnects: number;
}

export class MemberWatch {
  readonly stats: WatchStats = { lists: 0, watches: 0, events: 0, relists: 0, reconnects: 0 };
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  /** Kinds whose watch is established (first list done): for callers that must not miss an edit. */
  private readonly ready = new Set<string>();

  private constructor(
    private readonly client: KubeClient,
    private readonly options: MemberWatchOptions,
  ) {}

  static async start(options: MemberWatchOptions): Promise<MemberWatch> {
    // One connection per watched kind stays open: the pool must hold them all, and a few requests more.
    const client = await openClient({ ...options, concurrency: options.groupKinds.length + 4 });
    const watch = new MemberWatch(client, options);
    // Each watched kind listens on the stop signal once.
    setMaxListeners(options.groupKinds.length + 1, watch.abort.signal);
    try {
      const mapper = await RestMapper.discover(client);
      for (const gk of new Set(options.groupKinds)) {
        const { group, kind } = parseGroupKind(gk);
        const mapping = mapper.findPreferred(group, kind);
        // A kind not served now (its CRD left) has nothing to watch; the full drift check still runs.
        if (mapping?.verbs.includes('watch')) watch.loops.push(watch.follow(gk, mapping));
      }
    } catch (err) {
      client.close();
      throw err;
    }
    return watch;
  }

  /** Resolves once every watched kind has its first watch request open (tests, benchmarks). */
  async established(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ready.size < this.loops.length) {
      if (Date.now() > deadline) throw new Error(`only ${this.ready.size} of ${this.loops.length} member watches established`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.client.close();
  }

  private async follow(gk: string, mapping: ResourceMapping): Promise<void> {
    const selector = `${APPLYSET_PART_OF_LABEL}=${applySetId(this.options.inventory)}`;
    const backoff = this.options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    // Each kind's open watch holds one listener on the shared signal, released when the watch settles.
    const signal = this.abort.signal;
    let resourceVersion: string | undefined;
    let delay = backoff.initialMs;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.currentVersion(mapping, selector);
          this.stats.lists++;
        }
        this.stats.watches++;
        const started = this.client.watch(
          resourcePath(mapping, undefined),
          {
            labelSelector: selector,
            resourceVersion,
            allowWatchBookmarks: 'true',
            timeoutSeconds: String(this.options.watchSeconds ?? 300),
          },
          (event) => {
            resourceVersion = this.handle(event, mapping, resourceVersion);
          },
          signal,
        );
        this.ready.add(gk);
        await started;
        delay = backoff.initialMs;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 410) {
          resourceVersion = undefined;
          this.stats.relists++;
          continue;
        }
        this.stats.reconnects++;
        await sleep(delay);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
  }

  /** The collection's resourceVersion now: a list of at most one item, so it costs next to nothing. */
  private async currentVersion(mapping: ResourceMapping, selector: string): Promise<string> {
    const page = await this.client.request<{ metadata?: { resourceVersion?: string } }>({
      method: 'GET',
      path: resourcePath(mapping, undefined),
      query: { labelSelector: selector, limit: '1' },
      counter: 'lists',
    });
    return page.metadata?.resourceVersion ?? '0';
  }

  /** Returns the resourceVersion to resume from; undefined after a 410 in the stream (list again). */
  private handle(event: WatchEvent, mapping: ResourceMapping, last: string | undefined): string | undefined {
    this.stats.events++;
    if (event.type === 'ERROR') {
      // 410 Gone: the server ends the stream next; the loop lists again.
      if (event.object.code === 410) {
        this.stats.relists++;
        return undefined;
      }
      return last;
    }
    const rv = (event.object.metadata?.resourceVersion as string | undefined) ?? last;
    if (event.type === 'MODIFIED' || event.type === 'DELETED') {
      const manager = lastWriter(event.object, this.options.fieldManager ?? 'joch');
      // A deletion is drift whoever last wrote the object; the drift check knows whether we pruned it.
      if (manager !== undefined || event.type === 'DELETED') {
        this.options.onDrift({
          ref: {
            apiVersion: apiVersionOf(mapping),
            kind: mapping.kind,
            ...(event.object.metadata.namespace ? { namespace: event.object.metadata.namespace } : {}),
            name: event.object.metadata.name,
          },
          type: event.type,
          ...(manager ? { manager } : {}),
        });
      }
    }
    return rv;
  }
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
}

/**
 * Who made the latest change, when it was not us: undefined when the
 * latest entries of managedFields are our field manager's applies or status
 * writes (a controller reporting, or our own status), '' when the object
 * does not say (a deletion, an object without managedFields).
 */
export function lastWriter(obj: KubeObject, fieldManager: string): string | undefined {
  const entries = (obj.metadata?.['managedFields'] ?? []) as ManagedFieldsEntry[];
  if (entries.length === 0) return '';
  const latest = entries.reduce((t, e) => (e.time && e.time > t ? e.time : t), '');
  const others = entries.filter((e) => (e.time ?? '') === latest && e.subresource !== 'status' && !(e.manager === fieldManager && e.operation === 'Apply'));
  return others[0]?.manager;
}
