/**
 * Workload bounds: the requests and limits of every agent container, and the
 * ResourceQuota and LimitRange of each Team namespace that declares a quota.
 * Neither the Joch Deployment nor the Team has a resources field, so the
 * values come from joch.yaml (`workloads`), most specific first: the
 * Environment a Deployment targets, the Team that owns the namespace, the
 * repository default, then a conservative built-in default. A pod with no
 * requests is BestEffort, the first evicted, and refused outright by a
 * namespace with a ResourceQuota on cpu or memory.
 */
import type { ResourceSettings, WorkloadSettings } from '../config/index.js';
import { finding, type Finding, type SourcePointer } from '../diagnostics/index.js';
import { labelValue } from '../model/names.js';
import { refOf, type Resource } from '../model/resource.js';
import type { UnitContext } from './context.js';
import { LABEL, objectMeta } from './meta.js';
import type { CompiledObject } from './types.js';
import { parseQuantity } from '../model/quantity.js';

type ResourceList = Record<string, string>;

export interface ContainerResources {
  readonly requests: ResourceList;
  readonly limits: ResourceList;
}

/** Small enough to fit many agents on a node, large enough for a worker that waits on remote calls. */
const BUILT_IN_RESOURCES: ContainerResources = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

const TEAM_QUOTA_NAME = 'joch-team-quota';
const TEAM_LIMIT_RANGE_NAME = 'joch-team-defaults';

/** Where a workload runs: the Environment it is deployed to and the Team that owns its namespace. */
export interface WorkloadPlace {
  readonly environment?: string | undefined;
  readonly team?: string | undefined;
}

function layered(workloads: WorkloadSettings, place: WorkloadPlace): ResourceSettings[] {
  return [
    (place.environment !== undefined ? workloads.environments[place.environment]?.resources : undefined) ?? {},
    (place.team !== undefined ? workloads.teams[place.team]?.resources : undefined) ?? {},
    workloads.resources ?? {},
    BUILT_IN_RESOURCES,
  ];
}

/** Each resource name takes its value from the most specific layer that sets it. */
export function containerResources(workloads: WorkloadSettings, place: WorkloadPlace): ContainerResources {
  const layers = layered(workloads, place);
  const pick = (part: 'requests' | 'limits'): ResourceList => {
    const out: ResourceList = {};
    for (const layer of [...layers].reverse()) Object.assign(out, layer[part] ?? {});
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  return { requests: pick('requests'), limits: pick('limits') };
}


/**
 * The API server refuses a container whose request exceeds its limit. With
 * layers the two can come from different places, so the check is on the
 * merged result, reported at the workload that would be refused.
 */
export function resourceConflicts(resources: ContainerResources, at: SourcePointer, from: Resource, place: WorkloadPlace): Finding[] {
  const out: Finding[] = [];
  for (const [name, request] of Object.entries(resources.requests)) {
    const limit = resources.limits[name];
    if (limit === undefined) continue;
    const r = parseQuantity(request);
    const l = parseQuantity(limit);
    if (r !== undefined && l !== undefined && r.num * l.den > l.num * r.den) {
      const where = [place.environment ? `Environment "${place.environment}"` : '', place.team ? `Team "${place.team}"` : ''].filter(Boolean).join(' and ');
      out.push(
        finding('JOCH914', `the ${name} request ${request} exceeds its limit ${limit}: the API server would refuse the pod`, at, {
          resource: refOf(from),
          hint: `joch.yaml workloads: the values come from ${where || 'the repository default'} and the layers under it; set both in the same layer`,
        }),
      );
    }
  }
  return out;
}

/**
 * Per namespace of a Team that declares a quota: the ResourceQuota, and a
 * LimitRange that gives every other container in the namespace the Team's
 * defaults, so a pod someone else creates there is not refused for having none.
 */
export function teamQuotaObjects(
  team: Resource,
  namespaces: readonly { namespace: string; index: number }[],
  ctx: UnitContext,
  findings: Finding[],
): CompiledObject[] {
  const { workloads } = ctx;
  const quota = workloads.teams[team.name]?.quota;
  if (!quota || !Object.keys(quota).length) return [];
  const defaults = containerResources(workloads, { team: team.name });
  // The API server refuses a LimitRange whose default request exceeds its default limit, as it does a pod.
  const conflicts = resourceConflicts(defaults, { file: team.file, doc: team.doc, path: ['metadata', 'name'] }, team, { team: team.name });
  if (conflicts.length) {
    findings.push(...conflicts);
    return [];
  }
  const hard = Object.fromEntries(Object.entries(quota).sort(([a], [b]) => (a < b ? -1 : 1)));
  return namespaces.flatMap(({ namespace, index }) => {
    const origin = { file: team.file, doc: team.doc, path: ['spec', 'namespaces', index] };
    const meta = (name: string) =>
      objectMeta({ name, namespace, from: ctx.provenance(team), component: 'namespace', appName: team.name, labels: { [LABEL.team]: labelValue(team.name) } }, ctx.options.applySetId);
    return [
      { object: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta(TEAM_QUOTA_NAME), spec: { hard } }, origin },
      {
        object: {
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: meta(TEAM_LIMIT_RANGE_NAME),
          spec: { limits: [{ type: 'Container', default: defaults.limits, defaultRequest: defaults.requests }] },
        },
        origin,
      },
    ];
  });
}
