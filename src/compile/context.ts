/**
 * What every compile unit reads: the options, the resources by key, the
 * reference edges by referrer and target, and each resource's provenance
 * (computed once per resource and run).
 */
import { DEFAULT_CONFIG, type WorkloadSettings } from '../config/index.js';
import type { ReferenceEdge } from '../model/graph.js';
import type { Resource } from '../model/resource.js';
import { provenance, type Provenance } from './meta.js';
import type { CompileInput, CompileOptions } from './types.js';

export interface UnitContext {
  readonly options: CompileOptions;
  readonly byKey: ReadonlyMap<string, Resource>;
  readonly edgesFrom: ReadonlyMap<string, readonly ReferenceEdge[]>;
  readonly edgesTo: ReadonlyMap<string, readonly ReferenceEdge[]>;
  /** joch.yaml `workloads`: resources, quotas, Pod Security, deadlines. */
  readonly workloads: WorkloadSettings;
  /** The name of the Team that owns a namespace, when one does. */
  teamOf(namespace: string | undefined): string | undefined;
  provenance(resource: Resource): Provenance;
  /** The resource a reference of `from` at `path` (the reference object's path) resolved to. */
  target(from: Resource, kind: string, path: readonly (string | number)[]): Resource | undefined;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function startsWith(path: readonly (string | number)[], prefix: readonly (string | number)[]): boolean {
  return prefix.every((p, i) => path[i] === p);
}

export function unitContext(input: CompileInput, options: CompileOptions, owners: ReadonlyMap<string, string> = new Map()): UnitContext {
  const byKey = new Map(input.resources.map((r) => [r.key, r]));
  const edgesFrom = new Map<string, ReferenceEdge[]>();
  const edgesTo = new Map<string, ReferenceEdge[]>();
  for (const e of input.references) {
    push(edgesFrom, e.from, e);
    if (e.to) push(edgesTo, e.to, e);
  }
  const provenances = new Map<string, Provenance>();
  return {
    options,
    byKey,
    edgesFrom,
    edgesTo,
    workloads: input.workloads ?? DEFAULT_CONFIG.workloads,
    teamOf: (namespace) => (namespace === undefined ? undefined : owners.get(namespace)),
    provenance(resource) {
      let p = provenances.get(resource.key);
      if (!p) {
        p = provenance(resource, input.displayPrefix);
        provenances.set(resource.key, p);
      }
      return p;
    },
    target(from, kind, path) {
      for (const e of edgesFrom.get(from.key) ?? []) {
        if (e.kind === kind && e.to && startsWith(e.path, path)) return byKey.get(e.to);
      }
      return undefined;
    },
  };
}
