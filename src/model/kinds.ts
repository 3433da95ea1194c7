/**
 * The Joch resource catalog: every kind, its API group, its scope and its
 * role. This table is the one place that says which kinds exist; the schema
 * files, the CRDs and the loader all follow it.
 */

export type Scope = 'Namespaced' | 'Cluster';

/**
 * desired: desired state kept in Git and compiled.
 * runtime: a record the Joch runtime writes (a ToolCall, a Trace...). Its shape
 *          is validated when it appears in a repository, but it is neither
 *          reference-checked nor compiled: it points at other runtime records
 *          that live in the cluster, not in Git.
 */
export type KindRole = 'desired' | 'runtime';

export interface KindInfo {
  readonly kind: string;
  readonly group: string;
  readonly version: 'v1alpha1';
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly scope: Scope;
  readonly role: KindRole;
  /** File name of the kind's JSON Schema in schemas/. */
  readonly schemaFile: string;
}

export const JOCH_VERSION = 'v1alpha1';
export const SHORT_GROUP = 'joch.dev';

function kind(
  kindName: string,
  group: string,
  scope: Scope,
  role: KindRole,
  schemaBase: string,
  shortName: string,
): KindInfo {
  return {
    kind: kindName,
    group,
    version: JOCH_VERSION,
    plural: `${kindName.toLowerCase()}s`.replace(/ys$/, 'ies'),
    shortNames: [shortName],
    scope,
    role,
    schemaFile: `${schemaBase}.schema.json`,
  };
}

/**
 * Scope rule: kinds that several teams share (framework adapters, models, MCP
 * servers, environments, teams) are cluster-wide, as the Joch docs show them
 * without a namespace and referenced from namespaced agents. Everything a team
 * owns is namespaced.
 */
export const KINDS: readonly KindInfo[] = [
  kind('Agent', 'joch.dev', 'Namespaced', 'desired', 'agent', 'jagent'),
  kind('FrameworkAdapter', 'joch.dev', 'Cluster', 'desired', 'framework-adapter', 'jfa'),
  kind('Policy', 'joch.dev', 'Namespaced', 'desired', 'policy', 'jpolicy'),
  kind('Execution', 'runtime.joch.dev', 'Namespaced', 'desired', 'execution', 'jexec'),
  kind('ToolCall', 'runtime.joch.dev', 'Namespaced', 'runtime', 'toolcall', 'jtoolcall'),
  kind('Handoff', 'runtime.joch.dev', 'Namespaced', 'runtime', 'handoff', 'jhandoff'),
  kind('Approval', 'runtime.joch.dev', 'Namespaced', 'runtime', 'approval', 'japproval'),
  kind('Conversation', 'runtime.joch.dev', 'Namespaced', 'runtime', 'conversation', 'jconv'),
  kind('StateCheckpoint', 'runtime.joch.dev', 'Namespaced', 'runtime', 'state-checkpoint', 'jchk'),
  kind('Model', 'model.joch.dev', 'Cluster', 'desired', 'model', 'jmodel'),
  kind('ModelRoute', 'model.joch.dev', 'Namespaced', 'desired', 'model-route', 'jroute'),
  kind('Tool', 'tools.joch.dev', 'Namespaced', 'desired', 'tool', 'jtool'),
  kind('MCPServer', 'tools.joch.dev', 'Cluster', 'desired', 'mcpserver', 'jmcp'),
  kind('Memory', 'memory.joch.dev', 'Namespaced', 'desired', 'memory', 'jmem'),
  kind('RAG', 'memory.joch.dev', 'Namespaced', 'desired', 'rag', 'jrag'),
  kind('KnowledgeSource', 'memory.joch.dev', 'Namespaced', 'desired', 'knowledge-source', 'jks'),
  kind('Deployment', 'ops.joch.dev', 'Namespaced', 'desired', 'deployment', 'jdeploy'),
  kind('Environment', 'ops.joch.dev', 'Cluster', 'desired', 'environment', 'jenv'),
  kind('Team', 'ops.joch.dev', 'Cluster', 'desired', 'team', 'jteam'),
  kind('Budget', 'ops.joch.dev', 'Namespaced', 'desired', 'budget', 'jbudget'),
  kind('Trace', 'ops.joch.dev', 'Namespaced', 'runtime', 'trace', 'jtrace'),
  kind('Eval', 'ops.joch.dev', 'Namespaced', 'desired', 'eval', 'jeval'),
  kind('Artifact', 'ops.joch.dev', 'Namespaced', 'runtime', 'artifact', 'jartifact'),
  kind('AgBOM', 'ops.joch.dev', 'Namespaced', 'desired', 'agbom', 'jagbom'),
  kind('Secret', 'ops.joch.dev', 'Namespaced', 'desired', 'secret', 'jsecret'),
];

const BY_KIND = new Map(KINDS.map((k) => [k.kind, k]));

export function kindInfo(kindName: string): KindInfo | undefined {
  return BY_KIND.get(kindName);
}

export function isClusterScoped(kindName: string): boolean {
  return BY_KIND.get(kindName)?.scope === 'Cluster';
}

/** Every Joch API group, short form first. */
export const JOCH_GROUPS: readonly string[] = [
  SHORT_GROUP,
  ...[...new Set(KINDS.map((k) => k.group))].filter((g) => g !== SHORT_GROUP),
];

/**
 * Kinds the Joch documentation shows that are not part of the resource catalog:
 * server settings (docs/reference/settings.md) and compiler output
 * (docs/architecture/control-plane.md). Recognised so the loader can say what
 * they are instead of calling them unknown.
 */
export const NON_CATALOG_KINDS: ReadonlyMap<string, string> = new Map([
  ['OrgSettings', 'server settings of the Joch control plane (docs/reference/settings.md)'],
  ['FeatureFlags', 'server settings of the Joch control plane (docs/reference/settings.md)'],
  ['NotificationChannel', 'server settings of the Joch control plane (docs/reference/settings.md)'],
  ['CompiledAgentManifest', 'output of `joch compile`, not desired state'],
]);
