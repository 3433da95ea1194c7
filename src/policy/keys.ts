/**
 * The condition keys a rule's `when` may use. The table is the contract:
 * the compiler rejects any other key (fail closed), the surface builder
 * fills exactly these facts, and the README documents them from here.
 */
import type { KeyScope } from './types.js';

export const SIDE_EFFECT_LEVELS = [
  'read_only',
  'local_write',
  'external_write',
  'financial',
  'communication',
  'code_execution',
  'privileged',
] as const;

/** Data sensitivity, least to most sensitive: comparisons such as ">=pii" follow this order. */
export const SENSITIVITY_LEVELS = ['public', 'internal', 'customer-tier', 'pii', 'regulated'] as const;

export type ValueType =
  | { readonly type: 'string' }
  | { readonly type: 'number' }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly ordered?: boolean };

/**
 * static:  decided from the manifests.
 * runtime: only the runtime knows it; the rule is compiled into the bundle.
 * bounded: the runtime knows it, but the manifests bound it, so compile time
 *          decides when the bound already settles the comparison.
 */
export type Phase = 'static' | 'runtime' | 'bounded';

export interface ConditionKey {
  readonly key: string;
  readonly scope: KeyScope;
  readonly value: ValueType;
  readonly phase: Phase;
  readonly summary: string;
}

const str: ValueType = { type: 'string' };
const num: ValueType = { type: 'number' };
const bool: ValueType = { type: 'boolean' };
const oneOf = (values: readonly string[], ordered = false): ValueType => ({ type: 'enum', values, ordered });

function key(k: string, scope: KeyScope, value: ValueType, summary: string, phase: Phase = 'static'): ConditionKey {
  return { key: k, scope, value, phase, summary };
}

export const CONDITION_KEYS: readonly ConditionKey[] = [
  // Tools
  key('tool.name', 'tool', str, 'Tool name; `*` matches any run of characters.'),
  key('tool.namespace', 'tool', str, 'Namespace of the Tool.'),
  key('tool.type', 'tool', oneOf(['function', 'rest', 'mcp', 'os']), 'spec.type.'),
  key('tool.sideEffect', 'tool', oneOf(SIDE_EFFECT_LEVELS), 'spec.sideEffects.level; a tool that declares none counts as privileged.'),
  key('tool.requiresApproval', 'tool', bool, 'spec.sideEffects.requiresApproval (default false).'),
  key('tool.idempotent', 'tool', bool, 'spec.sideEffects.idempotent (default false).'),
  key('tool.rateLimit.callsPerMinute', 'tool', num, 'spec.safety.rateLimit.callsPerMinute; no limit counts as unlimited (infinity).'),
  key('tool.rateLimit.callsPerDay', 'tool', num, 'spec.safety.rateLimit.callsPerDay; no limit counts as unlimited (infinity).'),
  key('tool.mcpServer', 'tool', str, 'Name of the MCPServer of an `mcp` tool; "" for other tools.'),
  key('tool.host', 'tool', str, 'Host of spec.endpoint.url ("" without an endpoint); `*` wildcards allowed.'),
  key('tool.method', 'tool', oneOf(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']), 'spec.endpoint.method (never equal to a method without an endpoint).'),

  // MCP servers (also written `mcp.<attribute>`)
  key('mcpServer.name', 'mcpServer', str, 'MCPServer name.'),
  key('mcpServer.transport', 'mcpServer', oneOf(['streamable_http', 'sse', 'stdio']), 'spec.transport.'),
  key('mcpServer.sandbox', 'mcpServer', bool, 'spec.security.sandbox (default false).'),
  key('mcpServer.allowStdio', 'mcpServer', bool, 'spec.security.allowStdio (default false).'),
  key('mcpServer.pinned', 'mcpServer', bool, 'spec.security.pinServerVersion is true and pinnedVersion is set.'),
  key('mcpServer.pinnedVersion', 'mcpServer', str, 'spec.security.pinnedVersion ("" when not set).'),
  key('mcpServer.publisher', 'mcpServer', str, 'spec.security.trustedPublisher.'),
  key('mcpServer.minTrustScore', 'mcpServer', num, 'spec.security.minTrustScore (default 0).'),
  key('mcpServer.promptInjectionScan', 'mcpServer', bool, 'spec.scanning.promptInjectionScan (default false).'),
  key('mcpServer.onSchemaDrift', 'mcpServer', oneOf(['alert', 'deny', 'quarantine']), 'spec.discovery.onSchemaDrift.'),
  key('mcpServer.host', 'mcpServer', str, 'Host of spec.endpoint.url ("" without an endpoint); `*` wildcards allowed.'),
  key(
    'mcpServer.trustScore',
    'mcpServer',
    num,
    'Trust score measured by the MCP gateway, between minTrustScore and 1: decided at compile time only when that range settles the comparison.',
    'bounded',
  ),
  key('mcpServer.schemaDrift', 'mcpServer', bool, 'The server\'s tool schemas changed since discovery.', 'runtime'),
  key('mcpResult.injectionScan.hit', 'mcpServer', bool, 'The prompt-injection scan flagged a result of the server.', 'runtime'),

  // Models the agent's route can reach
  key('model.name', 'model', str, 'Model resource name.'),
  key('model.provider', 'model', str, 'spec.provider.'),
  key('model.id', 'model', str, 'spec.model, the provider\'s model id.'),
  key('model.role', 'model', oneOf(['primary', 'fallback']), 'Position in the route.'),
  key('model.endpoint', 'model', oneOf(['hosted', 'local']), 'spec.endpoint.type (default hosted).'),
  key('model.region', 'model', str, 'Any of spec.routing.regions.'),
  key('model.price.inputPerMillionTokens', 'model', num, 'spec.pricing.inputPerMillionTokens.'),
  key('model.price.outputPerMillionTokens', 'model', num, 'spec.pricing.outputPerMillionTokens.'),
  key('model.contextWindow', 'model', num, 'spec.limits.contextWindowTokens.'),

  // Memories
  key('memory.name', 'memory', str, 'Memory name.'),
  key('memory.namespace', 'memory', str, 'Namespace of the Memory.'),
  key('memory.type', 'memory', oneOf(['working', 'episodic', 'semantic', 'procedural', 'preference', 'blackboard']), 'spec.type.'),
  key('memory.role', 'memory', str, 'The binding role in the agent (working, longTerm...).'),
  key('memory.backend', 'memory', oneOf(['postgres', 'pgvector', 'qdrant', 'pinecone', 'weaviate', 'redis']), 'spec.backend.type.'),
  key('memory.piiHandling', 'memory', oneOf(['allow', 'redact', 'deny']), 'spec.privacy.piiHandling.'),
  key('memory.encryption', 'memory', oneOf(['required', 'optional', 'none']), 'spec.privacy.encryption.'),
  key('memory.readable', 'memory', bool, 'The agent is allowed to read it (readableBy lists it, or is not set).'),
  key('memory.writable', 'memory', bool, 'The agent is allowed to write it (writableBy lists it, or is not set).'),

  // RAG indices
  key('rag.name', 'rag', str, 'RAG name.'),
  key('rag.namespace', 'rag', str, 'Namespace of the RAG.'),
  key('rag.sensitivity', 'rag', oneOf(SENSITIVITY_LEVELS, true), 'classification.sensitivity of any source; absent when a source declares none.'),
  key('rag.sourceType', 'rag', str, 'spec.type of any source.'),
  key('rag.citationsRequired', 'rag', bool, 'spec.citations.required (default false).'),
  key('rag.enforcePermissions', 'rag', bool, 'spec.permissions.enforceAtQueryTime (default false).'),

  // Handoffs (A2A)
  key('handoff.agent', 'handoff', str, 'Name of the agent handed off to.'),
  key('handoff.namespace', 'handoff', str, 'Its namespace.'),
  key('handoff.production', 'handoff', bool, 'It is deployed to a production Environment.'),

  // The agent's own context
  key('agent.name', 'agent', str, 'Agent name.'),
  key('agent.namespace', 'agent', str, 'Agent namespace.'),
  key('agent.framework', 'agent', str, 'Name of its FrameworkAdapter.'),
  key('agent.team', 'agent', str, 'Any Team it belongs to (by namespace or `team` label).'),
  key('environment', 'agent', str, 'Name of any Environment it is deployed to.'),
  key('environment.production', 'agent', bool, 'It is deployed to a production Environment.'),
  key('environment.region', 'agent', str, 'spec.region of any Environment it is deployed to.'),
  key('environment.piiMode', 'agent', oneOf(['allow', 'redact', 'deny']), 'spec.compliance.piiMode of any of its Environments.'),
  key('environment.dataResidency', 'agent', str, 'spec.compliance.dataResidency of any of its Environments.'),
  key('budget.tokenLimitPerRun', 'agent', num, 'spec.budgets.tokenLimitPerRun; none counts as unlimited (infinity).'),
  key('budget.costLimitUsdPerRun', 'agent', num, 'spec.budgets.costLimitUsdPerRun; none counts as unlimited.'),
  key('budget.costLimitUsdPerDay', 'agent', num, 'spec.budgets.costLimitUsdPerDay; none counts as unlimited.'),
  key('budget.toolCallLimitPerRun', 'agent', num, 'spec.budgets.toolCallLimitPerRun; none counts as unlimited.'),

  // Only the runtime knows these
  key('cost.runUsd', 'request', num, 'Cost of the run so far, in USD.', 'runtime'),
  key('cost.dailyUsd', 'request', num, 'Cost of the agent today, in USD.', 'runtime'),
  key('cost.callUsd', 'request', num, 'Estimated cost of the call, in USD.', 'runtime'),
  key('cost.runTokens', 'request', num, 'Tokens used by the run so far.', 'runtime'),
  key('cost.runToolCalls', 'request', num, 'Tool calls made by the run so far.', 'runtime'),
  key('data.contains', 'request', str, 'A data class detected in the payload (pii, secrets, phi, pci...).', 'runtime'),
  key('data.classification', 'request', oneOf(SENSITIVITY_LEVELS, true), 'Sensitivity of the payload.', 'runtime'),
];

/** `<prefix>.labels.<label>`: a label of the capability, of the agent, or of any of its Environments. */
export const LABEL_PREFIXES: ReadonlyMap<string, KeyScope> = new Map<string, KeyScope>([
  ['tool', 'tool'],
  ['mcpServer', 'mcpServer'],
  ['model', 'model'],
  ['memory', 'memory'],
  ['rag', 'rag'],
  ['handoff', 'handoff'],
  ['agent', 'agent'],
  ['environment', 'agent'],
]);

const BY_KEY = new Map(CONDITION_KEYS.map((k) => [k.key, k]));

/** `mcp.x` is shorthand for `mcpServer.x`. */
export function canonicalKey(written: string): string {
  return written.startsWith('mcp.') ? `mcpServer.${written.slice(4)}` : written;
}

/** The key's definition, or undefined for a key the engine does not know. */
export function lookupKey(written: string): ConditionKey | undefined {
  const k = canonicalKey(written);
  const hit = BY_KEY.get(k);
  if (hit) return hit;
  const m = /^([A-Za-z]+)\.labels\.(.+)$/.exec(k);
  const scope = m ? LABEL_PREFIXES.get(m[1] as string) : undefined;
  if (!m || !scope || !isLabelKey(m[2] as string)) return undefined;
  return { key: k, scope, value: str, phase: 'static', summary: `label ${m[2] as string}` };
}

function isLabelKey(k: string): boolean {
  return /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k);
}

/** Every key name, for "did you mean". */
export function knownKeys(): string[] {
  return [...BY_KEY.keys(), ...[...LABEL_PREFIXES.keys()].map((p) => `${p}.labels.<label>`)];
}
