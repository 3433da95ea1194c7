/**
 * The pod every agent workload runs: one `agent-runtime` container, the
 * CompiledAgentManifest mounted read-only, a short-lived audience-bound token
 * as the agent's workload identity for the data plane, env wiring to the
 * gateways, and a security context that meets the "restricted" Pod Security
 * Standard. Deployments and Jobs differ only in what they add around it.
 */
import type { AgentGraph } from '../model/graph.js';
import type { UnitContext } from './context.js';
import { agentUrls } from './manifest.js';

export const CONTAINER = 'agent-runtime';
export const MANIFEST_DIR = '/etc/joch/manifest';
export const MANIFEST_FILE = 'manifest.json';
export const IDENTITY_DIR = '/var/run/secrets/joch.dev';

type Json = Record<string, unknown>;

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Json;
}

export interface PodInput {
  readonly graph: AgentGraph;
  readonly serviceAccount: string;
  readonly configMap: string;
  readonly image: string;
  /** Added after the common variables, in order. */
  readonly env: readonly EnvVar[];
  readonly probes?: Json | undefined;
  readonly nodeSelector?: Readonly<Record<string, string>> | undefined;
  readonly restartPolicy?: 'Always' | 'Never' | undefined;
  /** Requests and limits (bounds.ts); every agent container has both. */
  readonly resources: { readonly requests: Readonly<Record<string, string>>; readonly limits: Readonly<Record<string, string>> };
}

/**
 * Every data-plane URL, whatever the agent uses today: a Job's pod template is
 * immutable, so its env must not change when the agent gains a tool. What the
 * agent may reach is decided by its NetworkPolicy, not by its env.
 */
export function commonEnv(graph: AgentGraph, ctx: UnitContext): EnvVar[] {
  const urls = agentUrls(graph, ctx.options.dataPlane.urls);
  return [
    { name: 'JOCH_AGENT', value: graph.agent.name },
    { name: 'JOCH_AGENT_NAMESPACE', value: graph.agent.namespace ?? '' },
    { name: 'JOCH_POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'JOCH_POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    { name: 'JOCH_RUNTIME_ADAPTER', value: 'kubernetes' },
    { name: 'JOCH_MANIFEST_PATH', value: `${MANIFEST_DIR}/${MANIFEST_FILE}` },
    { name: 'JOCH_IDENTITY_TOKEN_FILE', value: `${IDENTITY_DIR}/token` },
    { name: 'JOCH_HEALTH_PORT', value: String(ctx.options.healthPort) },
    { name: 'JOCH_SERVER_URL', value: urls.server },
    { name: 'JOCH_GATEWAY_URL', value: urls.toolGateway },
    { name: 'JOCH_MCP_GATEWAY_URL', value: urls.mcpGateway },
    { name: 'JOCH_ROUTER_URL', value: urls.router },
    { name: 'JOCH_MEMORY_URL', value: urls.memory },
    { name: 'JOCH_TRACE_URL', value: urls.trace },
  ];
}

export function podSpec(input: PodInput, ctx: UnitContext): Json {
  const container: Json = {
    name: CONTAINER,
    image: input.image,
    env: [...commonEnv(input.graph, ctx), ...input.env],
    ports: [{ name: 'health', containerPort: ctx.options.healthPort, protocol: 'TCP' }],
    ...(input.probes ?? {}),
    resources: { requests: { ...input.resources.requests }, limits: { ...input.resources.limits } },
    volumeMounts: [
      { name: 'manifest', mountPath: MANIFEST_DIR, readOnly: true },
      { name: 'identity', mountPath: IDENTITY_DIR, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
  };
  return {
    serviceAccountName: input.serviceAccount,
    // No Kubernetes API token: workers talk to the Joch control plane and data
    // plane only, with the audience-bound token below as their identity.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    ...(input.restartPolicy ? { restartPolicy: input.restartPolicy } : {}),
    ...(input.nodeSelector && Object.keys(input.nodeSelector).length ? { nodeSelector: { ...input.nodeSelector } } : {}),
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container],
    volumes: [
      { name: 'manifest', configMap: { name: input.configMap } },
      {
        name: 'identity',
        projected: {
          sources: [{ serviceAccountToken: { audience: ctx.options.identityAudience, expirationSeconds: 3600, path: 'token' } }],
        },
      },
      { name: 'tmp', emptyDir: {} },
    ],
  };
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** `30s`, `10m`, `1h`, `500ms` in whole seconds, at least 1. */
export function durationSeconds(text: string): number | undefined {
  const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  return Math.max(1, Math.ceil(Number(m[1]) * (UNIT_SECONDS[m[2] as string] ?? 1)));
}
