/**
 * What the status branch holds: per Joch resource its phase, conditions,
 * the source revision its applied content comes from, its compiled hash, its
 * AgBOM generation and files, and its errors with file and line; plus a short
 * summary of the last cycle. Pure functions: the loop decides, these render.
 *
 * Layout of the branch:
 *   summary.yaml                      the last cycle, the last applied revision, counts, errors
 *   resources/<namespace>.yaml        one entry per resource (`_cluster.yaml` for cluster-scoped kinds)
 *   agbom/state.json                  AgBOM generation per agent
 *   agbom/<ns>/<agent>/<gen>.cdx.json the CycloneDX document of each generation
 *
 * Nothing here reads the clock, so a cycle that changed nothing renders the
 * same bytes and makes no commit.
 */
import { redactText } from '../diagnostics/redact.js';
import { stringify } from 'yaml';
import type { AppliedObject, ClusterError, HealthStatus, JochStatus, ObjectRef, StatusUpdate } from '../cluster/index.js';
import { objectRefKey, type CompiledView } from '../pipeline/origins.js';
import type { Diagnostic } from '../diagnostics/index.js';
import { groupBy } from '../model/group.js';
import type { Resource } from '../model/resource.js';

export const SUMMARY_FILE = 'summary.yaml';
export const RESOURCES_DIR = 'resources';
export const AGBOM_DIR = 'agbom';
export const AGBOM_STATE_FILE = 'agbom/state.json';
export const SUMMARY_API_VERSION = 'joch.dev/sync-status/v1';
const MAX_SUMMARY_ERRORS = 50;
const MAX_RESOURCE_ERRORS = 20;

export type ResourcePhase = 'Ready' | 'Progressing' | 'Applied' | 'Failed' | 'Pending';

export interface StatusError {
  readonly code: string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface ResourceCondition {
  readonly type: 'Applied' | 'Healthy';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message?: string | undefined;
}

export interface ResourceStatus {
  /** `Kind/namespace/name`, as Resource.key. */
  readonly key: string;
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
  readonly file: string;
  readonly phase: ResourcePhase;
  readonly conditions: readonly ResourceCondition[];
  /** The source revision whose content for this resource is applied (it moves only when the resource's compiled objects change). */
  readonly sourceRevision?: string | undefined;
  /** sha256 over the resource's compiled objects. */
  readonly compiledHash?: string | undefined;
  readonly agbom?: { readonly generation: number; readonly files: readonly string[] } | undefined;
  readonly errors?: readonly StatusError[] | undefined;
}

export type SyncPhase = 'Synced' | 'Progressing' | 'Refused' | 'Failed' | 'SourceUnavailable' | 'Suspended';

export interface SyncSummary {
  readonly source: { readonly url: string; readonly ref: string; readonly root: string };
  readonly target: string;
  readonly phase: SyncPhase;
  readonly message: string;
  /** The revision the last cycle looked at (undefined when the source could not be read). */
  readonly observedRevision?: string | undefined;
  readonly lastApplied?: { readonly revision: string; readonly at: string } | undefined;
  readonly suspended: boolean;
  /** Objects of the last applied revision. */
  readonly objects?: { readonly desired: number } | undefined;
  readonly lastDriftCorrection?: { readonly at: string; readonly revision: string; readonly objects: readonly string[] } | undefined;
  /** Per cluster of joch.yaml `clusters` applied to: whether its share is applied, failed or unreachable. */
  readonly clusters?: readonly { readonly name: string; readonly phase: 'Synced' | 'Failed' | 'Unreachable'; readonly message: string }[] | undefined;
  readonly errors: readonly StatusError[];
}

export function keyOf(ref: { readonly kind: string; readonly namespace?: string | undefined; readonly name: string }): string {
  return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

export function fromDiagnostic(d: Diagnostic): StatusError {
  // Status is published: the same masking as every other rendering of a diagnostic (a file name can be a token).
  return { code: d.code, message: redactText(d.message), file: redactText(d.file), line: d.line, column: d.column };
}

export function fromClusterError(e: ClusterError): StatusError {
  const where = e.ref ? `${e.ref.kind} ${e.ref.namespace ? `${e.ref.namespace}/` : ''}${e.ref.name}: ` : '';
  return { code: `cluster/${e.code}`, message: redactText(`${where}${e.message}`), file: redactText(e.origin?.file ?? ''), line: e.origin?.line ?? 0, column: e.origin?.column ?? 0 };
}

function base(r: Resource): Pick<ResourceStatus, 'key' | 'kind' | 'namespace' | 'name' | 'file'> {
  return { key: r.key, kind: r.kind, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), name: r.name, file: redactText(r.file) };
}

export interface AppliedInput {
  readonly resources: readonly Resource[];
  readonly revision: string;
  /** Previous statuses: a resource whose compiled hash did not change keeps its source revision. */
  readonly previous: ReadonlyMap<string, ResourceStatus>;
  readonly hashes: ReadonlyMap<string, string>;
  readonly agbom: ReadonlyMap<string, { readonly generation: number; readonly files: readonly string[] }>;
  /** Per resource, the cluster's view of its objects (undefined for rendered targets). */
  readonly objects?: ReadonlyMap<string, readonly AppliedObject[]> | undefined;
  /** Errors by resource key (apply failures); the rest went to the summary. */
  readonly errors: ReadonlyMap<string, readonly StatusError[]>;
  /** Whether the apply as a whole completed. */
  readonly complete: boolean;
}

/** Statuses after an apply (complete or not) of `revision`. */
export function appliedStatuses(input: AppliedInput): Map<string, ResourceStatus> {
  const out = new Map<string, ResourceStatus>();
  for (const r of input.resources) {
    const previous = input.previous.get(r.key);
    const hash = input.hashes.get(r.key);
    const errors = input.errors.get(r.key) ?? [];
    // A run that did not complete says nothing about resources it did not touch: they keep what they had.
    if (!input.complete && errors.length === 0 && !touched(input.objects?.get(r.key))) {
      if (previous) out.set(r.key, previous);
      continue;
    }
    const sameContent = previous?.compiledHash !== undefined && previous.compiledHash === hash && previous.sourceRevision !== undefined;
    const applied = errors.length === 0 && input.complete;
    const health = input.objects ? worstHealth(input.objects.get(r.key) ?? []) : undefined;
    const conditions: ResourceCondition[] = [
      applied
        ? { type: 'Applied', status: 'True', reason: 'Applied' }
        : { type: 'Applied', status: 'False', reason: 'ApplyFailed', message: errors[0]?.message ?? 'the apply did not complete' },
    ];
    if (health) conditions.push(healthCondition(health));
    out.set(r.key, {
      ...base(r),
      phase: !applied ? 'Failed' : health === undefined ? 'Applied' : health === 'Current' ? 'Ready' : health === 'Failed' ? 'Failed' : 'Progressing',
      conditions,
      sourceRevision: applied ? (sameContent ? previous.sourceRevision : input.revision) : previous?.sourceRevision,
      ...(hash ? { compiledHash: hash } : {}),
      ...(input.agbom.get(r.key) ? { agbom: input.agbom.get(r.key) } : {}),
      ...(errors.length ? { errors: errors.slice(0, MAX_RESOURCE_ERRORS) } : {}),
    });
  }
  return out;
}

/** Whether the run wrote (or failed to write) any of these objects. */
function touched(objects: readonly AppliedObject[] | undefined): boolean {
  return (objects ?? []).some((o) => o.outcome !== 'unchanged' && o.outcome !== 'skipped');
}

/**
 * Statuses when a revision was refused: what is applied stays as it was;
 * resources with errors are Failed and carry them; resources the refused
 * revision adds are Pending.
 */
export function refusedStatuses(
  previous: ReadonlyMap<string, ResourceStatus>,
  resources: readonly Resource[],
  diagnostics: readonly Diagnostic[],
  reason: 'ValidationFailed' | 'PolicyDenied',
): Map<string, ResourceStatus> {
  const errors = new Map<string, StatusError[]>();
  const byFile = new Map<string, StatusError[]>();
  for (const d of diagnostics) {
    if (d.severity !== 'error') continue;
    const e = fromDiagnostic(d);
    if (d.resource) push(errors, keyOf(d.resource), e);
    else push(byFile, d.file, e);
  }
  const out = new Map<string, ResourceStatus>();
  const message = 'the revision was refused; the last good revision stays applied';
  const mark = (status: Omit<ResourceStatus, 'phase' | 'conditions' | 'errors'>, own: readonly StatusError[], conditions: readonly ResourceCondition[]) => {
    out.set(status.key, {
      ...status,
      phase: own.length ? 'Failed' : 'Pending',
      conditions: [{ type: 'Applied', status: 'False', reason, message }, ...conditions.filter((c) => c.type !== 'Applied')],
      errors: own.slice(0, MAX_RESOURCE_ERRORS),
    });
  };
  for (const [key, p] of previous) {
    const own = [...(errors.get(key) ?? []), ...(byFile.get(p.file) ?? [])];
    if (own.length) mark(p, own, p.conditions);
    else out.set(key, p);
  }
  for (const r of resources) {
    if (out.has(r.key)) continue;
    mark(base(r), errors.get(r.key) ?? [], []);
  }
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function worstHealth(objects: readonly AppliedObject[]): HealthStatus {
  const order: HealthStatus[] = ['Failed', 'NotFound', 'Unknown', 'InProgress', 'Current'];
  let worst: HealthStatus = 'Current';
  for (const o of objects) {
    const h = o.health?.status ?? 'Unknown';
    if (order.indexOf(h) < order.indexOf(worst)) worst = h;
  }
  return worst;
}

function healthCondition(h: HealthStatus): ResourceCondition {
  if (h === 'Current') return { type: 'Healthy', status: 'True', reason: 'Current' };
  if (h === 'Failed') return { type: 'Healthy', status: 'False', reason: 'Failed' };
  return { type: 'Healthy', status: 'Unknown', reason: h };
}

const YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** The status files for the branch: summary and one file per namespace. */
export function renderStatusFiles(summary: SyncSummary, statuses: ReadonlyMap<string, ResourceStatus>): Map<string, string> {
  const files = new Map<string, string>();
  files.set(SUMMARY_FILE, renderSummary(summary, statuses));
  const byNamespace = new Map<string, ResourceStatus[]>();
  for (const s of statuses.values()) push(byNamespace, s.namespace ?? '_cluster', s);
  for (const [ns, list] of [...byNamespace].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const entries: Record<string, unknown> = {};
    for (const s of list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      const { key: _key, kind: _kind, namespace: _ns, name: _name, ...rest } = s;
      entries[`${s.kind}/${s.name}`] = rest;
    }
    files.set(`${RESOURCES_DIR}/${ns}.yaml`, stringify(entries, YAML_OPTIONS));
  }
  return files;
}

export function phaseCounts(statuses: ReadonlyMap<string, ResourceStatus>): Record<ResourcePhase, number> {
  const counts: Record<ResourcePhase, number> = { Ready: 0, Progressing: 0, Applied: 0, Failed: 0, Pending: 0 };
  for (const s of statuses.values()) counts[s.phase]++;
  return counts;
}

function renderSummary(summary: SyncSummary, statuses: ReadonlyMap<string, ResourceStatus>): string {
  const doc = {
    apiVersion: SUMMARY_API_VERSION,
    kind: 'SyncStatus',
    phase: summary.phase,
    message: summary.message,
    suspended: summary.suspended,
    source: summary.source,
    target: summary.target,
    ...(summary.observedRevision ? { observedRevision: summary.observedRevision } : {}),
    ...(summary.lastApplied ? { lastApplied: summary.lastApplied } : {}),
    resources: { total: statuses.size, ...phaseCounts(statuses) },
    ...(summary.objects ? { objects: summary.objects } : {}),
    ...(summary.lastDriftCorrection ? { lastDriftCorrection: summary.lastDriftCorrection } : {}),
    ...(summary.clusters ? { clusters: Object.fromEntries(summary.clusters.map((c) => [c.name, { phase: c.phase, message: redactText(c.message) }])) } : {}),
    errors: summary.errors.slice(0, MAX_SUMMARY_ERRORS),
    ...(summary.errors.length > MAX_SUMMARY_ERRORS ? { moreErrors: summary.errors.length - MAX_SUMMARY_ERRORS } : {}),
  };
  return stringify(doc, YAML_OPTIONS);
}

/** First line of a status commit. */
export function statusSubject(summary: SyncSummary, statuses: ReadonlyMap<string, ResourceStatus>): string {
  const c = phaseCounts(statuses);
  const rev = summary.observedRevision?.slice(0, 12) ?? 'unknown revision';
  const parts = [`${c.Ready + c.Applied} ok`, ...(c.Progressing ? [`${c.Progressing} progressing`] : []), ...(c.Failed ? [`${c.Failed} failed`] : []), ...(c.Pending ? [`${c.Pending} pending`] : [])];
  return `joch: ${summary.phase} ${rev} (${parts.join(', ')})`;
}

/** The Joch resource an object or error belongs to: its origin's, else the owner of its object. */
export function ownerKey(
  view: Pick<CompiledView, 'owners'>,
  x: { readonly origin?: { readonly resource?: { kind: string; namespace?: string; name: string } | undefined } | undefined; readonly ref?: ObjectRef | undefined },
): string | undefined {
  if (x.origin?.resource) return keyOf(x.origin.resource);
  return x.ref ? view.owners.get(objectRefKey(x.ref)) : undefined;
}

export interface AfterApplyInput {
  readonly resources: readonly Resource[];
  readonly revision: string;
  readonly previous: ReadonlyMap<string, ResourceStatus>;
  readonly view: Pick<CompiledView, 'owners' | 'hashes'>;
  readonly agbom: ReadonlyMap<string, { readonly generation: number; readonly files: readonly string[] }>;
  /** The cluster's view of each object (undefined for rendered targets) and the apply's errors. */
  readonly objects?: readonly AppliedObject[] | undefined;
  readonly errors: readonly ClusterError[];
  readonly complete: boolean;
}

/** Statuses after an apply, with objects and errors attributed to the resources they came from. */
export function statusesAfterApply(input: AfterApplyInput): Map<string, ResourceStatus> {
  // A health timeout is not an apply failure: it shows in the Healthy condition, from each object's health.
  const applyErrors = input.errors.filter((e) => e.phase !== 'health');
  const errors = new Map(
    [...groupBy(applyErrors, (e) => ownerKey(input.view, e))].map(([k, list]) => [k, list.map(fromClusterError)] as const),
  );
  return appliedStatuses({
    resources: input.resources,
    revision: input.revision,
    previous: input.previous,
    hashes: input.view.hashes,
    agbom: input.agbom,
    objects: input.objects ? groupBy(input.objects, (o) => ownerKey(input.view, o)) : undefined,
    errors,
    complete: input.complete,
  });
}

/** The status subresource of each resource's custom resource. */
export function customResourceUpdates(statuses: Iterable<ResourceStatus>, customResources: ReadonlyMap<string, ObjectRef>): StatusUpdate[] {
  const updates: StatusUpdate[] = [];
  for (const s of statuses) {
    const ref = customResources.get(s.key);
    if (!ref) continue;
    const status: JochStatus = {
      phase: s.phase,
      conditions: s.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, ...(c.message ? { message: c.message } : {}) })),
      ...(s.sourceRevision ? { sourceRevision: s.sourceRevision } : {}),
      ...(s.compiledHash ? { compiledHash: s.compiledHash } : {}),
      ...(s.agbom ? { agbomRef: s.agbom.files[0] } : {}),
    };
    updates.push({ ref, status });
  }
  return updates;
}
