import type { Severity } from './types.js';

export interface CodeInfo {
  readonly code: string;
  readonly name: string;
  readonly severity: Severity;
  readonly summary: string;
  /** joch.yaml may raise the severity of a locked code but never lower or silence it. */
  readonly locked?: boolean;
  /** The finding points at a secret value: renderers must never show the source there. */
  readonly sensitive?: boolean;
}

/**
 * Every diagnostic code, with its default severity. Codes are stable: CI
 * tooling, joch.yaml severity overrides and SARIF consumers key on them, so a
 * code is never reused for another meaning.
 */
const TABLE: readonly CodeInfo[] = [
  // 0xx: configuration and usage
  { code: 'JOCH001', name: 'invalid-config', severity: 'error', summary: 'joch.yaml is not valid.', locked: true },
  { code: 'JOCH002', name: 'path-not-found', severity: 'error', summary: 'A path given on the command line or in joch.yaml does not exist.', locked: true },
  { code: 'JOCH003', name: 'no-manifests', severity: 'warning', summary: 'No YAML files were found under the given paths.' },
  { code: 'JOCH004', name: 'config-unknown-name', severity: 'warning', summary: "joch.yaml's workloads name an Environment or Team that no record defines; its settings apply to nothing." },
  { code: 'JOCH005', name: 'cluster-not-mapped', severity: 'info', summary: "An Environment runs on a cluster that joch.yaml's clusters does not map: its share is compiled but not applied; applying to that cluster is an error." },

  // 1xx: reading and parsing files
  { code: 'JOCH101', name: 'yaml-syntax', severity: 'error', summary: 'The file is not valid YAML.', locked: true },
  { code: 'JOCH102', name: 'duplicate-key', severity: 'error', summary: 'A mapping has the same key twice.', locked: true },
  { code: 'JOCH103', name: 'alias-limit', severity: 'error', summary: 'YAML aliases expand beyond the allowed limit (a possible alias bomb), or an alias refers to a collection that contains it.', locked: true },
  { code: 'JOCH104', name: 'custom-tag', severity: 'error', summary: 'A YAML tag outside the core schema is used.', locked: true },
  { code: 'JOCH105', name: 'not-text', severity: 'error', summary: 'The file is binary or not valid UTF-8.', locked: true },
  { code: 'JOCH106', name: 'file-too-large', severity: 'error', summary: 'The file is larger than the configured limit.', locked: true },
  { code: 'JOCH107', name: 'symlink-escape', severity: 'error', summary: 'A symbolic link points outside the repository root and was not followed.', locked: true },
  { code: 'JOCH108', name: 'empty-document', severity: 'info', summary: 'A YAML document is empty.' },
  { code: 'JOCH109', name: 'not-a-mapping', severity: 'error', summary: 'A YAML document is not a mapping.', locked: true },
  { code: 'JOCH110', name: 'unreadable-file', severity: 'error', summary: 'A file or folder could not be read.', locked: true },
  { code: 'JOCH111', name: 'too-many-documents', severity: 'error', summary: 'A file holds more YAML documents than the configured limit.', locked: true },
  { code: 'JOCH112', name: 'link-not-followed', severity: 'error', summary: 'A YAML file in a Git revision is a symbolic link: links are not followed there, so its records would be missing.', locked: true },
  { code: 'JOCH113', name: 'not-read-from-git', severity: 'warning', summary: 'A symbolic link or a submodule in a Git revision is not read; any manifests it leads to are missing.' },

  // 2xx: what a document is
  { code: 'JOCH201', name: 'missing-type', severity: 'error', summary: 'A document has no apiVersion or kind.' },
  { code: 'JOCH202', name: 'unknown-kind', severity: 'error', summary: 'The kind is not in the Joch resource catalog.' },
  { code: 'JOCH203', name: 'unsupported-api-version', severity: 'error', summary: 'The apiVersion is not one this kind is served under.' },
  { code: 'JOCH204', name: 'not-joch', severity: 'warning', summary: 'The document is not a Joch resource; it is ignored.' },
  { code: 'JOCH205', name: 'placeholder-kind', severity: 'error', summary: 'The kind is a documentation placeholder such as `<Kind>`.' },
  { code: 'JOCH206', name: 'not-desired-state', severity: 'warning', summary: 'The kind is a Joch kind outside the resource catalog (server settings or compiler output); it is ignored.' },
  { code: 'JOCH207', name: 'runtime-record', severity: 'info', summary: 'A runtime record: its shape is validated, but it is not reference-checked or compiled.' },
  { code: 'JOCH208', name: 'status-ignored', severity: 'warning', summary: 'status is owned by the controller; the value in the repository is ignored.' },

  // 3xx: schema
  { code: 'JOCH301', name: 'schema-type', severity: 'error', summary: 'A value has the wrong type.' },
  { code: 'JOCH302', name: 'schema-required', severity: 'error', summary: 'A required field is missing.' },
  { code: 'JOCH303', name: 'schema-unknown-field', severity: 'error', summary: 'A field is not part of the kind.' },
  { code: 'JOCH304', name: 'schema-enum', severity: 'error', summary: 'A value is not one of the allowed values.' },
  { code: 'JOCH305', name: 'schema-format', severity: 'error', summary: 'A value does not have the required format or pattern.' },
  { code: 'JOCH306', name: 'schema-range', severity: 'error', summary: 'A value is out of range or has the wrong length.' },
  { code: 'JOCH307', name: 'schema-other', severity: 'error', summary: 'A value does not satisfy the kind schema.' },

  // 4xx: identity
  { code: 'JOCH401', name: 'name-mapped', severity: 'info', summary: 'A Joch name is not a valid Kubernetes name; it is mapped to one when compiled.' },
  { code: 'JOCH402', name: 'namespace-ignored', severity: 'warning', summary: 'A cluster-scoped resource has a namespace; it is ignored.' },
  { code: 'JOCH403', name: 'invalid-label', severity: 'error', summary: 'A label key or value is not valid in Kubernetes.' },
  { code: 'JOCH404', name: 'duplicate-resource', severity: 'error', summary: 'The same kind, namespace and name is defined twice.' },
  { code: 'JOCH405', name: 'name-collision', severity: 'error', summary: 'Two Joch names map to the same Kubernetes name.' },
  { code: 'JOCH406', name: 'invalid-annotation', severity: 'error', summary: 'An annotation key is not valid in Kubernetes.' },

  // 5xx: references
  { code: 'JOCH501', name: 'unresolved-reference', severity: 'error', summary: 'A reference names a resource that does not exist.' },
  { code: 'JOCH502', name: 'provider-mismatch', severity: 'error', summary: 'A `provider:model` reference names a Model of another provider.' },
  { code: 'JOCH503', name: 'adapter-capability', severity: 'error', summary: 'The agent needs a capability its framework adapter does not declare.' },
  { code: 'JOCH504', name: 'invalid-reference', severity: 'error', summary: 'A reference is malformed or points at the wrong kind.' },

  // 6xx: secrets
  { code: 'JOCH601', name: 'literal-credential', severity: 'error', summary: 'A manifest holds what looks like a credential value; Joch only holds references.', locked: true, sensitive: true },
  { code: 'JOCH602', name: 'credential-in-url', severity: 'error', summary: 'A URL carries a password or token.', locked: true, sensitive: true },
  { code: 'JOCH603', name: 'credential-in-output', severity: 'error', summary: 'A compiled object or AgBOM would carry what looks like a credential; nothing was emitted.', locked: true },

  // 7xx: the built-in policy baseline (src/policy/README.md gives each rule's rationale)
  { code: 'JOCH701', name: 'prod-side-effect-without-approval', severity: 'error', summary: 'A production agent holds an external_write, financial, communication, code_execution or privileged tool that neither the tool nor an applicable Policy puts under approval.', locked: true },
  { code: 'JOCH702', name: 'prod-mcp-unpinned', severity: 'error', summary: 'An MCP server reachable by a production agent does not pin its version.', locked: true },
  { code: 'JOCH703', name: 'mcp-stdio-unsandboxed', severity: 'error', summary: 'An MCP server reachable by an agent runs over stdio without sandbox: true.', locked: true },
  { code: 'JOCH704', name: 'prod-agent-without-budget', severity: 'error', summary: 'A production agent has neither token, cost and tool-call limits nor an applicable Budget.', locked: true },
  { code: 'JOCH705', name: 'tool-agent-not-allowed', severity: 'error', summary: "An agent references a tool whose safety.allowedAgents does not list it.", locked: true },
  { code: 'JOCH706', name: 'tool-namespace-denied', severity: 'error', summary: "An agent references a tool whose safety.deniedNamespaces lists the agent's namespace.", locked: true },
  { code: 'JOCH707', name: 'memory-access-denied', severity: 'error', summary: "An agent binds a memory whose access.readableBy does not list it.", locked: true },
  { code: 'JOCH708', name: 'promotion-gate-unresolved', severity: 'error', summary: "A Deployment's promotion gate names an Eval or an approver that does not exist.", locked: true },
  { code: 'JOCH709', name: 'promotion-gate-mismatch', severity: 'error', summary: "A Deployment's required Eval does not gate this agent's promotion to this Environment.", locked: true },
  { code: 'JOCH710', name: 'unresolved-capability', severity: 'error', summary: "A reference in an agent's capability surface does not resolve; policy denies it (fail closed).", locked: true },
  { code: 'JOCH711', name: 'route-requirement-unmet', severity: 'error', summary: "The primary model of an agent's route lacks a capability or the context window the route requires.", locked: true },
  { code: 'JOCH712', name: 'route-fallback-cannot-serve', severity: 'warning', summary: "A fallback model of an agent's route lacks what the route requires or cannot keep data in the required residency (a warning)." },
  { code: 'JOCH713', name: 'data-residency-violated', severity: 'error', summary: "The primary model of an agent's route has no region in the residency its route or one of its Environments requires.", locked: true },
  { code: 'JOCH714', name: 'secret-out-of-scope', severity: 'error', summary: 'A tool, model or MCP server uses a Secret whose scope.boundTo does not name it.', locked: true },
  { code: 'JOCH715', name: 'cross-namespace-capability', severity: 'error', summary: "An agent references a tool in another namespace whose joch.dev/allowed-namespaces annotation does not list the agent's namespace.", locked: true },
  // Release gates of `joch promote` and `joch rollback` (checked on the change, not on every run).
  { code: 'JOCH720', name: 'promotion-eval-missing', severity: 'error', summary: 'A release gate names an Eval that has no recorded result for the version being promoted.', locked: true },
  { code: 'JOCH721', name: 'promotion-eval-failing', severity: 'error', summary: "The recorded result of a release gate's Eval for the version being promoted fails the Eval's thresholds.", locked: true },
  { code: 'JOCH722', name: 'promotion-approval-missing', severity: 'error', summary: 'A release gate requires an approval and no Approval record approves this agent, Environment and version.', locked: true },
  { code: 'JOCH723', name: 'promotion-refused', severity: 'error', summary: "The repository with the promotion or rollback applied has errors: the target Environment's policies deny the agent there, or the change is invalid.", locked: true },
  { code: 'JOCH724', name: 'promotion-not-running', severity: 'error', summary: 'The status branch records that the source Environment does not run the version being promoted (it failed there, is not healthy yet, or runs another version).', locked: true },
  { code: 'JOCH725', name: 'pinned-version-held', severity: 'info', summary: 'A Deployment pinned to a promoted version keeps running it while the agent at HEAD compiles to another version; promoting again moves it.' },
  { code: 'JOCH726', name: 'pinned-revision-unreadable', severity: 'error', summary: 'The source revision a Deployment is pinned to cannot be read (not a Git repository, a shallow clone, or the commit is missing): nothing is compiled rather than running the agent at HEAD.', locked: true },
  { code: 'JOCH727', name: 'pinned-version-mismatch', severity: 'error', summary: 'The source revision a Deployment is pinned to does not compile the agent to the pinned version.', locked: true },

  // 8xx: Policy resources and their decisions
  { code: 'JOCH800', name: 'policy-evaluation-failed', severity: 'error', summary: 'The policy stage could not complete; every agent is denied (fail closed).', locked: true },
  { code: 'JOCH801', name: 'unknown-condition-key', severity: 'error', summary: "A rule's when names a condition key the engine does not know; the rule denies (fail closed).", locked: true },
  { code: 'JOCH802', name: 'invalid-condition-value', severity: 'error', summary: "A rule's condition value is not valid for its key; the rule denies (fail closed).", locked: true },
  { code: 'JOCH803', name: 'invalid-selector', severity: 'error', summary: "A Policy's appliesTo cannot be parsed; it denies every agent it could select (fail closed).", locked: true },
  { code: 'JOCH804', name: 'mixed-capability-rule', severity: 'error', summary: 'A rule reads attributes of two kinds of capability; the rule denies (fail closed).', locked: true },
  { code: 'JOCH805', name: 'invalid-rule', severity: 'error', summary: 'A rule or rule list is malformed (no when, no action or requirement, contradictory action); it denies (fail closed).', locked: true },
  { code: 'JOCH806', name: 'duplicate-rule-name', severity: 'error', summary: 'Two rules of a Policy have the same name.' },
  { code: 'JOCH810', name: 'deferred-rule', severity: 'info', summary: 'A rule can only be decided at run time; it is compiled into the policy bundles the runtime enforces.' },
  { code: 'JOCH811', name: 'policy-denied', severity: 'error', summary: 'A Policy rule denies a capability the agent holds.', locked: true },

  // 9xx: compile
  { code: 'JOCH901', name: 'compile-no-image', severity: 'error', summary: 'A workload has no image: neither the Deployment runtime nor the framework adapter names one.', locked: true },
  { code: 'JOCH902', name: 'compile-strategy-unsupported', severity: 'error', summary: 'A rollout strategy Kubernetes has no native form for (canary, shadow) is not compiled.', locked: true },
  { code: 'JOCH903', name: 'compile-invalid-scaling', severity: 'error', summary: 'Autoscaling or rollout settings that Kubernetes would reject.', locked: true },
  { code: 'JOCH904', name: 'compile-object-collision', severity: 'error', summary: 'Two compiled objects have the same kind, namespace and name.', locked: true },
  { code: 'JOCH905', name: 'compile-not-kubernetes', severity: 'info', summary: 'A Deployment runs on another runtime adapter or in a non-Kubernetes Environment; only its custom resource is emitted.' },
  { code: 'JOCH906', name: 'compile-no-policy-bundle', severity: 'error', summary: 'An agent has no policy bundle: the policy stage did not run or skipped it.', locked: true },
  { code: 'JOCH907', name: 'compile-unresolved', severity: 'error', summary: 'A reference the compiler needs did not resolve (the references check was off or failed).', locked: true },
  { code: 'JOCH908', name: 'compile-adjusted', severity: 'warning', summary: 'A value was adjusted to what Kubernetes accepts (for example minReplicas 0 raised to 1).' },
  { code: 'JOCH909', name: 'compile-namespace-owners', severity: 'warning', summary: 'Several Teams claim the same namespace; the first by name owns it.' },
  { code: 'JOCH910', name: 'compile-without-policy', severity: 'warning', summary: 'Compiled without the policy stage (explicitly asked for): the CompiledAgentManifests have no policy section.' },
  { code: 'JOCH912', name: 'compile-no-schedule', severity: 'warning', summary: 'A schedule-triggered Execution names no schedule (joch.dev/schedule); it is compiled as a suspended Job.' },
  { code: 'JOCH913', name: 'compile-invalid-schedule', severity: 'error', summary: 'The joch.dev/schedule of an Execution is not a cron schedule the CronJob controller accepts.', locked: true },
  { code: 'JOCH914', name: 'compile-invalid-resources', severity: 'error', summary: "A workload's resource request exceeds its limit; the API server would refuse the pod.", locked: true },
  { code: 'JOCH915', name: 'compile-invalid-node-selector', severity: 'error', summary: 'A nodeSelector key or value is not a valid label; the API server would refuse the workload.', locked: true },
  { code: 'JOCH911', name: 'compile-system-team-member', severity: 'error', summary: 'A Team member is a system: identity (a ServiceAccount, a node); Team roles are for people.', locked: true },

  // 95x: escalations, what a change grants an agent (the AgBOM diff against a base revision)
  { code: 'JOCH951', name: 'escalation-side-effect-tool', severity: 'warning', summary: 'The change gives an agent a tool with side effects.' },
  { code: 'JOCH952', name: 'escalation-side-effect-raised', severity: 'warning', summary: "The change raises the side-effect class of a tool an agent holds." },
  { code: 'JOCH953', name: 'escalation-approval-dropped', severity: 'warning', summary: 'The change drops the approval a side-effecting tool of an agent required.' },
  { code: 'JOCH954', name: 'escalation-mcp-unpinned', severity: 'warning', summary: 'The change gives an agent an MCP server that is not pinned to a version, or unpins one.' },
  { code: 'JOCH955', name: 'escalation-mcp-below-trust', severity: 'warning', summary: "The change gives an agent an MCP server whose trust score is below its threshold." },
  { code: 'JOCH956', name: 'escalation-mcp-trust-lowered', severity: 'warning', summary: "The change lowers the trust threshold of an MCP server an agent reaches." },
  { code: 'JOCH957', name: 'escalation-mcp-pin-changed', severity: 'warning', summary: 'The change moves the pinned version of an MCP server an agent reaches.' },
  { code: 'JOCH958', name: 'escalation-model-provider', severity: 'warning', summary: 'The change sends an agent\'s prompts to a model provider it did not use before.' },
  { code: 'JOCH959', name: 'escalation-boundary-flow', severity: 'warning', summary: 'The change adds or raises a data flow that crosses a trust boundary.' },
  { code: 'JOCH960', name: 'escalation-policy-removed', severity: 'warning', summary: 'The change takes a policy out of effect for an agent.' },
];

const BY_CODE = new Map(TABLE.map((c) => [c.code, c]));

export function registerCodes(codes: readonly CodeInfo[]): void {
  for (const c of codes) {
    const existing = BY_CODE.get(c.code);
    if (existing && existing.name !== c.name) {
      throw new Error(`diagnostic code ${c.code} registered twice (${existing.name}, ${c.name})`);
    }
    BY_CODE.set(c.code, c);
  }
}

export function codeInfo(code: string): CodeInfo | undefined {
  return BY_CODE.get(code);
}

export function allCodes(): CodeInfo[] {
  return [...BY_CODE.values()].sort((a, b) => a.code.localeCompare(b.code));
}

/**
 * Whether an error with this code left part of the input unread (the
 * configuration, a path, a file's YAML): whatever that part held, a Policy
 * included, was never evaluated.
 */
export function leavesInputUnread(code: string): boolean {
  return /^JOCH[01]\d\d$/.test(code);
}
