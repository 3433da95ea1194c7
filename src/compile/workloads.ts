/**
 * Runtime objects of a Joch Deployment (apps/v1 Deployment, HPA, PDB) and of
 * a Joch Execution (batch/v1 Job), as docs/platform/crds-controllers.md and
 * docs/specs/kubernetes/deployment.md describe them.
 */
import { finding, type Finding, type SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph } from '../model/graph.js';
import { invalidLabelValue, invalidQualifiedName, kubernetesLabelName, labelValue } from '../model/names.js';
import { refOf, type Resource } from '../model/resource.js';
import { containerResources, resourceConflicts, type ContainerResources, type WorkloadPlace } from './bounds.js';
import type { UnitContext } from './context.js';
import { ANNOTATION, LABEL, objectMeta, type Component } from './meta.js';
import { durationSeconds, podSpec, type EnvVar } from './pod.js';
import type { CompiledObject, KubeObject } from './types.js';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const REVISION_HISTORY_LIMIT = 5;

/** What the workloads of one agent share. */
export interface AgentRuntime {
  readonly graph: AgentGraph;
  readonly serviceAccount: string;
  readonly configMap: string;
  /** sha256 of the CompiledAgentManifest: pods roll when it changes. */
  readonly manifestHash: string;
  readonly findings: Finding[];
}

const at = (r: Resource, path: readonly (string | number)[]): SourcePointer => ({ file: r.file, doc: r.doc, path });

/** Whether a Joch Deployment runs on Kubernetes: its runtime adapter and its Environment's orchestrator say so (or say nothing). */
export function runsOnKubernetes(deployment: Resource, environment: Resource | undefined): boolean {
  const adapter = str(rec(deployment.spec.runtime).adapter) ?? 'kubernetes';
  const orchestrator = str(rec(environment?.spec.runtime).orchestrator) ?? 'kubernetes';
  return adapter === 'kubernetes' && orchestrator === 'kubernetes';
}

/** The Deployment's worker image, else the framework adapter's image. */
function deploymentImage(rt: AgentRuntime, deployment: Resource): string | undefined {
  return str(rec(deployment.spec.runtime).workerImage) ?? str(rt.graph.adapter?.resource.spec.adapterImage);
}

function probe(check: Json, kind: 'readiness' | 'liveness', port: string): Json {
  const period = durationSeconds(str(check.interval) ?? '');
  if (check.type === 'synthetic_prompt') {
    // A synthetic prompt is a model round trip: probe rarely and wait for it.
    return { httpGet: { path: `/healthz/synthetic/${kind}`, port }, periodSeconds: period ?? 60, timeoutSeconds: 30, failureThreshold: 3 };
  }
  return { httpGet: { path: '/healthz/heartbeat', port }, periodSeconds: period ?? 10, timeoutSeconds: 5, failureThreshold: 3 };
}

function probesOf(deployment: Resource): { probes: Json; env: EnvVar[] } {
  const checks = rec(deployment.spec.healthChecks);
  const probes: Json = {};
  const env: EnvVar[] = [];
  for (const kind of ['readiness', 'liveness'] as const) {
    const check = rec(checks[kind]);
    if (!check.type) continue;
    probes[`${kind}Probe`] = probe(check, kind, 'health');
    const prompt = str(check.prompt);
    if (check.type === 'synthetic_prompt' && prompt) env.push({ name: `JOCH_${kind.toUpperCase()}_PROMPT`, value: prompt });
  }
  return { probes, env };
}

/**
 * Canary (a share of the traffic to the new version) and shadow (mirrored
 * traffic) both need a router in front of two versions. Git holds one version
 * of the agent and Kubernetes has no traffic split of its own, so neither is
 * compiled: a rolling update in their place would roll out to everyone.
 */
function unsupportedStrategy(deployment: Resource, rollout: Json, findings: Finding[]): boolean {
  const kind = str(rollout.strategy) ?? 'rolling';
  const canaryOn = rec(rollout.canary).enabled === true;
  if (kind !== 'canary' && kind !== 'shadow' && !canaryOn) return false;
  const path = kind === 'canary' || kind === 'shadow' ? ['spec', 'rollout', 'strategy'] : ['spec', 'rollout', 'canary', 'enabled'];
  const what = kind === 'shadow' ? 'rollout strategy "shadow" mirrors traffic' : 'a canary rollout shifts a share of the traffic';
  findings.push(
    finding('JOCH902', `${what} to a second version, which Kubernetes cannot express on its own; it is not compiled`, at(deployment, path), {
      resource: refOf(deployment),
      hint: 'use strategy rolling (maxUnavailable: 0 for side-effecting agents) or recreate; traffic splitting belongs to the Joch router',
    }),
  );
  return true;
}

function strategy(deployment: Resource, findings: Finding[]): Json {
  const rollout = rec(deployment.spec.rollout);
  const kind = str(rollout.strategy) ?? 'rolling';
  if (unsupportedStrategy(deployment, rollout, findings)) return { type: 'RollingUpdate' };
  if (kind === 'recreate') return { type: 'Recreate' };
  const surge = num(rollout.maxSurge);
  const unavailable = num(rollout.maxUnavailable);
  if (surge === 0 && unavailable === 0) {
    findings.push(
      finding('JOCH903', 'maxSurge and maxUnavailable cannot both be 0: the rollout could never make progress', at(deployment, ['spec', 'rollout']), {
        resource: refOf(deployment),
      }),
    );
  }
  const rolling = { ...(surge !== undefined ? { maxSurge: surge } : {}), ...(unavailable !== undefined ? { maxUnavailable: unavailable } : {}) };
  return { type: 'RollingUpdate', ...(Object.keys(rolling).length ? { rollingUpdate: rolling } : {}) };
}

/** The nodeSelector as written, with each key and value the API server would refuse reported at its line. */
function nodeSelector(deployment: Resource, findings: Finding[]): Record<string, string> {
  const written = rec(rec(deployment.spec.scheduling).nodeSelector);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(written)) {
    const where = at(deployment, ['spec', 'scheduling', 'nodeSelector', key]);
    const badKey = invalidQualifiedName(key);
    const badValue = typeof value === 'string' ? invalidLabelValue(value) : 'it is not a string';
    if (badKey) findings.push(finding('JOCH915', `nodeSelector key "${key}" is not a valid label key: ${badKey}`, { ...where, part: 'key' }, { resource: refOf(deployment) }));
    else if (badValue) findings.push(finding('JOCH915', `nodeSelector value of "${key}" is not a valid label value: ${badValue}`, where, { resource: refOf(deployment) }));
    else out[key] = value as string;
  }
  return out;
}

/** A Kubernetes quantity for a metric target: integers as they are, fractions in milli-units. */
export function quantity(n: number): string {
  return Number.isInteger(n) ? String(n) : `${Math.round(n * 1000)}m`;
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * cpu and memory are resource metrics (target in percent). Anything else is an
 * External metric `joch_<name>` that a metrics adapter serves per Deployment:
 * `target` as an average per replica (queue depth), `targetMs` as a value
 * (latency).
 */
function hpaMetric(m: Json, selector: Json): Json | undefined {
  const type = str(m.type) ?? '';
  const target = num(m.target);
  const targetMs = num(m.targetMs);
  if ((type === 'cpu' || type === 'memory') && target !== undefined) {
    return { type: 'Resource', resource: { name: type, target: { type: 'Utilization', averageUtilization: Math.round(target) } } };
  }
  if (target !== undefined) {
    return { type: 'External', external: { metric: { name: `joch_${snake(type)}`, selector }, target: { type: 'AverageValue', averageValue: quantity(target) } } };
  }
  if (targetMs !== undefined) {
    return { type: 'External', external: { metric: { name: `joch_${snake(type)}_ms`, selector }, target: { type: 'Value', value: quantity(targetMs) } } };
  }
  return undefined;
}

function hpaSpec(deployment: Resource, name: string, selector: Json, findings: Finding[]): Json | undefined {
  const scaling = rec(deployment.spec.autoscaling);
  const where = (p: string[]) => at(deployment, ['spec', 'autoscaling', ...p]);
  const max = num(scaling.maxReplicas);
  if (max === undefined) {
    findings.push(finding('JOCH903', 'autoscaling is enabled but maxReplicas is not set', where([]), { resource: refOf(deployment) }));
    return undefined;
  }
  let min = num(scaling.minReplicas) ?? Math.min(num(deployment.spec.replicas) ?? 1, max);
  if (min < 1) {
    findings.push(finding('JOCH908', 'minReplicas 0 needs the HPAScaleToZero feature gate; compiled as 1', where(['minReplicas']), { resource: refOf(deployment) }));
    min = 1;
  }
  if (min > max) {
    findings.push(finding('JOCH903', `minReplicas ${min} is greater than maxReplicas ${max}`, where(['minReplicas']), { resource: refOf(deployment) }));
    return undefined;
  }
  const metrics = (Array.isArray(scaling.metrics) ? scaling.metrics : []).map((m) => hpaMetric(rec(m), selector)).filter((m): m is Json => m !== undefined);
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
    minReplicas: min,
    maxReplicas: max,
    ...(metrics.length ? { metrics } : {}),
  };
}

/** The container resources of a workload, with a finding when the API server would refuse them. */
function resourcesFor(rt: AgentRuntime, from: Resource, place: WorkloadPlace, path: (string | number)[], ctx: UnitContext): ContainerResources {
  const resources = containerResources(ctx.workloads, place);
  rt.findings.push(...resourceConflicts(resources, at(from, path), from, place));
  return resources;
}

interface Emit {
  (object: KubeObject, origin: SourcePointer): void;
}

function metaFor(rt: AgentRuntime, from: Resource, name: string, component: Component, ctx: UnitContext, environment?: string) {
  return objectMeta(
    {
      name,
      namespace: from.namespace,
      from: ctx.provenance(from),
      component,
      appName: rt.graph.agent.name,
      agent: rt.graph.agent.name,
      labels: environment ? { [LABEL.environment]: labelValue(environment) } : undefined,
    },
    ctx.options.applySetId,
  );
}

/** Pod labels: what the selectors and the NetworkPolicy match, and nothing that changes with the source. */
function podLabels(rt: AgentRuntime, extra: Record<string, string>): Record<string, string> {
  return {
    [LABEL.name]: labelValue(rt.graph.agent.name),
    [LABEL.component]: 'agent-runtime',
    [LABEL.partOf]: 'joch',
    [LABEL.agent]: labelValue(rt.graph.agent.name),
    ...extra,
  };
}

/** apps/v1 Deployment, HorizontalPodAutoscaler (when autoscaling is on) and PodDisruptionBudget. */
export function deploymentObjects(rt: AgentRuntime, deployment: Resource, environment: Resource | undefined, ctx: UnitContext): CompiledObject[] {
  const out: CompiledObject[] = [];
  const emit: Emit = (object, origin) => out.push({ object, origin });
  const image = deploymentImage(rt, deployment);
  if (!image) {
    rt.findings.push(
      finding('JOCH901', 'no image to run: set spec.runtime.workerImage or the FrameworkAdapter adapterImage', at(deployment, ['spec', 'runtime']), { resource: refOf(deployment) }),
    );
    return out;
  }
  const name = kubernetesLabelName(deployment.name);
  const env = environment?.name;
  const selector = { [LABEL.deployment]: name };
  const { probes, env: probeEnv } = probesOf(deployment);
  const scaling = rec(deployment.spec.autoscaling);
  const autoscaled = scaling.enabled === true;
  const extraEnv: EnvVar[] = [
    { name: 'JOCH_DEPLOYMENT', value: deployment.name },
    ...(env ? [{ name: 'JOCH_ENVIRONMENT', value: env }] : []),
    ...(str(rec(environment?.spec.defaults).logLevel) ? [{ name: 'JOCH_LOG_LEVEL', value: str(rec(environment?.spec.defaults).logLevel) as string }] : []),
    ...probeEnv,
  ];
  const resources = resourcesFor(rt, deployment, { environment: env, team: ctx.teamOf(deployment.namespace) }, env ? ['spec', 'environmentRef'] : [], ctx);
  const spec: Json = {
    // With an HPA the replica count is the autoscaler's: leaving it out keeps apply from resetting it.
    ...(autoscaled ? {} : { replicas: num(deployment.spec.replicas) ?? 1 }),
    // Old ReplicaSets are kept for `kubectl rollout undo`, but not forever.
    revisionHistoryLimit: REVISION_HISTORY_LIMIT,
    selector: { matchLabels: selector },
    strategy: strategy(deployment, rt.findings),
    template: {
      metadata: {
        labels: podLabels(rt, { ...selector, [LABEL.instance]: name, ...(env ? { [LABEL.environment]: labelValue(env) } : {}) }),
        annotations: { [ANNOTATION.manifestHash]: rt.manifestHash },
      },
      spec: podSpec(
        {
          graph: rt.graph,
          serviceAccount: rt.serviceAccount,
          configMap: rt.configMap,
          image,
          env: extraEnv,
          probes,
          nodeSelector: nodeSelector(deployment, rt.findings),
          resources,
        },
        ctx,
      ),
    },
  };
  const origin = at(deployment, []);
  emit({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: metaFor(rt, deployment, name, 'agent-runtime', ctx, env), spec }, origin);
  if (autoscaled) {
    const hpa = hpaSpec(deployment, name, { matchLabels: selector }, rt.findings);
    if (hpa) {
      emit({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: metaFor(rt, deployment, name, 'agent-runtime', ctx, env), spec: hpa }, at(deployment, ['spec', 'autoscaling']));
    }
  }
  emit(
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metaFor(rt, deployment, name, 'agent-runtime', ctx, env),
      // One pod at a time: never blocks a node drain, even at one replica, and
      // crash-looping pods may always be evicted.
      spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    },
    origin,
  );
  return out;
}

/**
 * Triggers whose Job waits, suspended, until something resumes it: those fired
 * outside the cluster, and a schedule that names no cron expression.
 */
const DEFERRED_TRIGGERS = new Set(['webhook', 'upstream', 'schedule']);

/**
 * The Joch Execution has no field for its recurrence ("cron-style", the spec
 * says, and no more), so a scheduled Execution names it in this annotation.
 */
const SCHEDULE_ANNOTATION = 'joch.dev/schedule';

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/[0-9]+)?)*$/;

/** Whether the CronJob controller would accept the schedule: a macro or five cron fields. */
function validCronSchedule(text: string): boolean {
  const s = text.trim();
  if (CRON_MACROS.has(s)) return true;
  const fields = s.split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

/**
 * The run's own caps (spec.budgets), as JSON for the worker: the agent's
 * manifest is shared by every run, and a run may tighten or drop what it
 * inherits. Absent when the Execution sets none.
 */
function executionBudgetEnv(execution: Resource): EnvVar[] {
  const budgets = execution.spec.budgets;
  if (budgets === undefined) return [];
  const json = JSON.stringify(Object.fromEntries(Object.entries(rec(budgets)).sort(([a], [b]) => (a < b ? -1 : 1))));
  return [{ name: 'JOCH_EXECUTION_BUDGETS', value: json }];
}

function executionPod(rt: AgentRuntime, execution: Resource, image: string, trigger: string, name: string, ctx: UnitContext): Json {
  const resources = resourcesFor(rt, execution, { team: ctx.teamOf(execution.namespace) }, ['spec', 'agentRef'], ctx);
  return {
    metadata: { labels: podLabels(rt, { [LABEL.execution]: name, [LABEL.instance]: name }) },
    spec: podSpec(
      {
        graph: rt.graph,
        serviceAccount: rt.serviceAccount,
        configMap: rt.configMap,
        image,
        env: [
          { name: 'JOCH_EXECUTION_ID', value: execution.name },
          { name: 'JOCH_EXECUTION_TRIGGER', value: trigger },
          ...executionBudgetEnv(execution),
        ],
        restartPolicy: 'Never',
        resources,
      },
      ctx,
    ),
  };
}

/** The schedule of a scheduled Execution, or undefined (with a finding) when it has none or a malformed one. */
function scheduleOf(rt: AgentRuntime, execution: Resource): string | undefined {
  const schedule = execution.annotations[SCHEDULE_ANNOTATION];
  if (schedule === undefined) {
    rt.findings.push(
      finding('JOCH912', `a schedule-triggered Execution without a ${SCHEDULE_ANNOTATION} annotation has no recurrence: it is compiled as a suspended Job`, at(execution, ['spec', 'trigger', 'type']), {
        resource: refOf(execution),
        hint: `add metadata.annotations."${SCHEDULE_ANNOTATION}": "0 2 * * *" (five cron fields, or @daily)`,
      }),
    );
    return undefined;
  }
  if (!validCronSchedule(schedule)) {
    rt.findings.push(
      finding('JOCH913', `"${schedule}" is not a cron schedule: five fields (minute hour day-of-month month day-of-week) or a macro such as @daily`, at(execution, ['metadata', 'annotations', SCHEDULE_ANNOTATION]), {
        resource: refOf(execution),
      }),
    );
    return undefined;
  }
  return schedule.trim();
}

/**
 * An Execution becomes a Job that runs once: no retries (a retried run could
 * repeat side effects; replay is the policy-gated `joch executions replay`),
 * a deadline (a hung run is stopped rather than holding its quota), and no TTL
 * (a deleted Job would be re-created, and re-run, by the next apply). A
 * scheduled Execution becomes a CronJob of that Job that never overlaps runs.
 */
export function executionJob(rt: AgentRuntime, execution: Resource, image: string | undefined, ctx: UnitContext): CompiledObject[] {
  if (!image) {
    rt.findings.push(
      finding('JOCH901', "no image to run the execution: the agent has no Kubernetes Deployment with spec.runtime.workerImage and its FrameworkAdapter has no adapterImage", at(execution, ['spec', 'agentRef']), {
        resource: refOf(execution),
      }),
    );
    return [];
  }
  const name = kubernetesLabelName(execution.name);
  const trigger = str(rec(execution.spec.trigger).type) ?? 'manual';
  const schedule = trigger === 'schedule' ? scheduleOf(rt, execution) : undefined;
  const job: Json = { backoffLimit: 0, activeDeadlineSeconds: ctx.workloads.executionDeadlineSeconds, template: executionPod(rt, execution, image, trigger, name, ctx) };
  const origin = at(execution, []);
  if (schedule !== undefined) {
    const spec: Json = {
      schedule,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: { metadata: { labels: podLabels(rt, { [LABEL.execution]: name, [LABEL.instance]: name }) }, spec: job },
    };
    return [{ object: { apiVersion: 'batch/v1', kind: 'CronJob', metadata: metaFor(rt, execution, name, 'execution', ctx), spec }, origin }];
  }
  // A schedule with a valid cron expression became a CronJob above; without one the Job waits.
  const waits = DEFERRED_TRIGGERS.has(trigger);
  const spec: Json = { ...(waits ? { suspend: true } : {}), ...job };
  return [{ object: { apiVersion: 'batch/v1', kind: 'Job', metadata: metaFor(rt, execution, name, 'execution', ctx), spec }, origin }];
}

/** The image an agent's Executions run: its first Kubernetes Deployment's worker image, else the adapter's. */
export function executionImage(graph: AgentGraph): string | undefined {
  for (const d of graph.deployments) {
    const image = str(rec(d.deployment.spec.runtime).workerImage);
    if (image && runsOnKubernetes(d.deployment, d.environment)) return image;
  }
  return str(graph.adapter?.resource.spec.adapterImage);
}
