/**
 * Writes the status subresource of Joch custom resources, only when it
 * changed. Status content is the caller's; we only keep each condition's
 * lastTransitionTime stable while its status does not change (the
 * Kubernetes convention), so a repeated write of the same status is a no-op.
 */
import { RestMapper, resourcePath } from './discovery.js';
import { toClusterError } from './errors.js';
import { compareValue, isObject, ownedFields } from './fieldset.js';
import { mapLimit } from './pool.js';
import { openClient } from './context.js';
import type { ClusterError, JochStatus, KubeObject, StatusCondition, StatusOptions, StatusUpdate, StatusWriteResult } from './types.js';

export async function writeStatus(updates: readonly StatusUpdate[], options: StatusOptions): Promise<StatusWriteResult> {
  const manager = options.fieldManager ?? 'joch';
  const concurrency = options.concurrency ?? 16;
  const now = options.now ?? (() => new Date());
  const client = await openClient({ ...options, concurrency });
  const errors: ClusterError[] = [];
  try {
    let mapper: RestMapper;
    try {
      mapper = await RestMapper.discover(client);
    } catch (err) {
      errors.push(toClusterError(err, 'status', {}));
      return { results: updates.map((u) => ({ ref: u.ref, outcome: 'failed' as const })), errors, counters: { ...client.counters } };
    }
    const results = await mapLimit(updates, concurrency, async (u) => {
      const subject = { ref: u.ref, ...(u.origin ? { origin: u.origin } : {}) };
      const m = mapper.find(u.ref.apiVersion, u.ref.kind);
      if (!m) {
        errors.push({ ...subject, code: 'unknown-kind', phase: 'status', message: `the cluster serves no kind ${u.ref.kind} in ${u.ref.apiVersion}` });
        return { ref: u.ref, outcome: 'failed' as const };
      }
      if (!m.hasStatus) {
        errors.push({ ...subject, code: 'invalid', phase: 'status', message: `${u.ref.kind} has no status subresource` });
        return { ref: u.ref, outcome: 'failed' as const };
      }
      try {
        const live = await client.request<KubeObject>({ method: 'GET', path: resourcePath(m, u.ref.namespace, u.ref.name), counter: 'reads' });
        const current = isObject(live['status']) ? live['status'] : {};
        const next = withStableTransitions(u.status, current, rfc3339(now()));
        if (!statusChanged(next, current, live, manager)) return { ref: u.ref, outcome: 'unchanged' as const };
        await client.request({
          method: 'PATCH',
          path: resourcePath(m, u.ref.namespace, u.ref.name, 'status'),
          query: { fieldManager: manager, force: 'true' },
          contentType: 'application/apply-patch+yaml',
          body: {
            apiVersion: u.ref.apiVersion,
            kind: u.ref.kind,
            metadata: { name: u.ref.name, ...(u.ref.namespace ? { namespace: u.ref.namespace } : {}) },
            status: next,
          },
          counter: 'writes',
        });
        return { ref: u.ref, outcome: 'written' as const };
      } catch (err) {
        errors.push(toClusterError(err, 'status', subject));
        return { ref: u.ref, outcome: 'failed' as const };
      }
    });
    return { results, errors, counters: { ...client.counters } };
  } finally {
    client.close();
  }
}

function withStableTransitions(status: JochStatus, current: Record<string, unknown>, now: string): JochStatus {
  if (!status.conditions) return status;
  const previous = Array.isArray(current['conditions']) ? (current['conditions'] as StatusCondition[]) : [];
  const conditions = status.conditions.map((c) => {
    if (c.lastTransitionTime) return c;
    const before = previous.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now };
  });
  return { ...status, conditions };
}

/**
 * Changed when a field we set differs from the live status, or when we own a
 * status field (from an earlier write) that we no longer set. Fields other
 * writers own are not looked at.
 */
function statusChanged(next: JochStatus, current: Record<string, unknown>, live: KubeObject, manager: string): boolean {
  const ours = ownedFields(live, manager, live.apiVersion, 'status');
  const { changes } = compareValue(['status'], stripUndefined(next), current, ours?.['f:status'], { quantities: false });
  return changes.length > 0;
}

/** Kubernetes times (metav1.Time) have whole seconds. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function stripUndefined(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v)) as unknown;
}
