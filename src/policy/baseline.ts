/**
 * The built-in baseline: always on, evaluated before any Policy, each rule
 * with a stable code (JOCH7xx, locked in the codes table so joch.yaml can
 * raise but never lower or silence it). Each function looks at one
 * capability and returns the baseline's contributions to its decision.
 */
import { createHash } from 'node:crypto';
import type { PathSegment, SourcePointer } from '../diagnostics/index.js';
import type { ApprovalRequirement, PolicyRef } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';
import { agentKeyOf, isRecord, strings, type FleetIndex } from './fleet.js';
import { isPinned, type AgentSurface, type DeploymentLink } from './surface.js';
import type { Capability, Contribution, PendingFinding, ProductionEvidence } from './types.js';

export interface BaselineRule {
  readonly code: string;
  readonly name: string;
  readonly summary: string;
  readonly rationale: string;
}

/** The rules, with their rationale: the README and `joch explain` quote them from here. */
export const BASELINE_RULES: readonly BaselineRule[] = [
  {
    code: 'JOCH701',
    name: 'prod-side-effect-without-approval',
    summary: 'A production agent holds a tool with a consequential side effect that nothing puts under approval.',
    rationale:
      'external_write, financial, communication, code_execution and privileged calls cannot be taken back; in production a human approves them, either because the tool requires it or because an applicable Policy does.',
  },
  {
    code: 'JOCH702',
    name: 'prod-mcp-unpinned',
    summary: 'An MCP server reachable by a production agent does not pin its version.',
    rationale: 'An unpinned server can change the tools it exposes under a running production agent; pinning makes every change a reviewed change.',
  },
  {
    code: 'JOCH703',
    name: 'mcp-stdio-unsandboxed',
    summary: 'An MCP server that runs over stdio is not sandboxed.',
    rationale: 'A stdio server is a local process with the worker\'s privileges; only a sandbox keeps it from the file system and the network.',
  },
  {
    code: 'JOCH704',
    name: 'prod-agent-without-budget',
    summary: 'A production agent has neither complete budgets (token, cost and tool-call limits) nor an applicable Budget.',
    rationale: 'A loop in production spends without bound; a limit per run or an enforced Budget caps the damage.',
  },
  {
    code: 'JOCH705',
    name: 'tool-agent-not-allowed',
    summary: "An agent references a tool whose safety.allowedAgents does not list it.",
    rationale: "The tool's owner decides who may call it; a reference from elsewhere is not a grant.",
  },
  {
    code: 'JOCH706',
    name: 'tool-namespace-denied',
    summary: "An agent references a tool whose safety.deniedNamespaces lists the agent's namespace.",
    rationale: "The tool's owner has excluded that namespace, whatever the agent says.",
  },
  {
    code: 'JOCH707',
    name: 'memory-access-denied',
    summary: "An agent binds a memory whose access.readableBy does not list it (one not in writableBy only reads).",
    rationale: "A memory's owner decides who reads and writes it; binding it is not a grant.",
  },
  {
    code: 'JOCH708',
    name: 'promotion-gate-unresolved',
    summary: "A Deployment's promotion gate names an Eval or an approver that does not exist.",
    rationale: 'A gate that refers to nothing can never pass or, worse, is skipped; either way the release is not gated.',
  },
  {
    code: 'JOCH709',
    name: 'promotion-gate-mismatch',
    summary: "A Deployment's required Eval does not gate this agent's promotion to this Environment.",
    rationale: 'An Eval of another agent, or one gating another Environment, does not vouch for this release.',
  },
  {
    code: 'JOCH710',
    name: 'unresolved-capability',
    summary: "A reference in an agent's capability surface does not resolve, so policy cannot evaluate it.",
    rationale: 'What cannot be evaluated is denied (fail closed): an unknown tool, server or policy is never silently allowed.',
  },
  {
    code: 'JOCH711',
    name: 'route-requirement-unmet',
    summary: "The primary model of an agent's route lacks a capability or the context window the route requires.",
    rationale: 'A route whose primary cannot serve its requirements fails every call or silently degrades; the router skips what does not match, so it is decided where the records are.',
  },
  {
    code: 'JOCH712',
    name: 'route-fallback-cannot-serve',
    summary: "A fallback model of an agent's route lacks what the route requires or cannot keep data in the required residency (a warning).",
    rationale: 'The router skips such a fallback: the failover the route promises is thinner than it reads, though the agent still has a model that serves.',
  },
  {
    code: 'JOCH713',
    name: 'data-residency-violated',
    summary: "The primary model of an agent's route has no region in the residency its route or one of its Environments requires.",
    rationale: 'Data bound to a residency may not leave it; a model with no region there (or none declared) cannot be proved to keep it.',
  },
  {
    code: 'JOCH714',
    name: 'secret-out-of-scope',
    summary: 'A tool, model or MCP server uses a Secret whose scope.boundTo does not name it.',
    rationale: 'A credential bound to named holders is a grant to them only; any other holder widens its blast radius.',
  },
  {
    code: 'JOCH715',
    name: 'cross-namespace-capability',
    summary: "An agent references a tool in another namespace whose joch.dev/allowed-namespaces annotation does not list the agent's namespace.",
    rationale: "A namespace is an ownership boundary: another team's tool is reachable only when its owner lets that namespace in.",
  },
];

export const RISKY_SIDE_EFFECTS: ReadonlySet<string> = new Set(['external_write', 'financial', 'communication', 'code_execution', 'privileged']);

/** The baseline as a policy reference: its version changes with the rules and with the options that shape them. */
export function baselineRef(optionsFingerprint: string): PolicyRef {
  const version = createHash('sha256')
    .update(JSON.stringify(BASELINE_RULES.map((r) => [r.code, r.name])))
    .update(optionsFingerprint)
    .digest('hex')
    .slice(0, 12);
  return { name: 'joch-baseline', source: 'baseline', version };
}

export function describeRes(r: Resource): string {
  return r.namespace ? `${r.kind} ${r.namespace}/${r.name}` : `${r.kind} ${r.name}`;
}

export function agentName(r: Resource): string {
  return `${r.namespace ?? ''}/${r.name}`;
}

export function at(r: Resource, path: readonly PathSegment[]): SourcePointer {
  return { file: r.file, doc: r.doc, path };
}

function productionNote(evidence: readonly ProductionEvidence[]): string {
  const first = evidence[0];
  return first ? `deployed to production Environment ${first.environment} (${first.because})` : 'not in production';
}

function productionRelated(evidence: readonly ProductionEvidence[]): { at: SourcePointer; message: string }[] {
  const first = evidence[0];
  return first ? [{ at: first.at, message: `deployed to production here (${first.because})` }] : [];
}

function deny(ref: PolicyRef, code: string, reason: string, finding: PendingFinding): Contribution {
  return { outcome: 'deny', policy: ref, rule: code, reason, finding };
}

const TOOL_APPROVAL: ApprovalRequirement = { approvers: [] };

/** JOCH705, JOCH706, JOCH701 and the tool's own approval requirement. */
export function toolBaseline(cap: Capability, surface: AgentSurface, ref: PolicyRef, policyContributions: readonly Contribution[]): Contribution[] {
  const tool = cap.resource as Resource;
  const agent = surface.agent;
  const out: Contribution[] = [];
  const safety = isRecord(tool.spec.safety) ? tool.spec.safety : undefined;
  const ns = tool.namespace ?? '';
  if (safety?.allowedAgents !== undefined) {
    const allowed = strings(safety.allowedAgents);
    if (!allowed.some((w) => agentKeyOf(w, ns) === agent.key)) {
      out.push(
        deny(ref, 'JOCH705', 'agent-not-allowed', {
          code: 'JOCH705',
          message: `${describeRes(tool)} allows only ${allowed.length ? allowed.join(', ') : 'no agent'} (safety.allowedAgents); agent ${agentName(agent)} is not one of them`,
          hint: `add ${agent.namespace === ns ? agent.name : agentName(agent)} to the tool's safety.allowedAgents, or remove the tool from the agent`,
          related: [{ at: at(tool, ['spec', 'safety', 'allowedAgents']), message: 'the agents the tool allows' }],
        }),
      );
    }
  }
  if (strings(safety?.deniedNamespaces).includes(agent.namespace ?? '')) {
    out.push(
      deny(ref, 'JOCH706', 'namespace-denied', {
        code: 'JOCH706',
        message: `${describeRes(tool)} denies namespace ${agent.namespace ?? ''} (safety.deniedNamespaces), the namespace of agent ${agentName(agent)}`,
        related: [{ at: at(tool, ['spec', 'safety', 'deniedNamespaces']), message: 'the namespaces the tool denies' }],
      }),
    );
  }
  const requiresApproval = cap.facts.get('tool.requiresApproval') === true;
  if (requiresApproval) {
    out.push({ outcome: 'require-approval', policy: ref, rule: 'tool-requires-approval', reason: 'the tool requires approval (spec.sideEffects.requiresApproval)', approval: TOOL_APPROVAL });
  }
  const level = cap.facts.get('tool.sideEffect') as string;
  if (surface.production.length && RISKY_SIDE_EFFECTS.has(level) && !requiresApproval && !policyCovers(policyContributions)) {
    const se = isRecord(tool.spec.sideEffects) ? tool.spec.sideEffects : undefined;
    const declared = typeof se?.level === 'string' && se.level === level;
    out.push(
      deny(ref, 'JOCH701', 'side-effect-without-approval', {
        code: 'JOCH701',
        message:
          `agent ${agentName(agent)} is ${productionNote(surface.production)} and holds ${describeRes(tool)}, ` +
          `whose side effect is ${declared ? level : 'not declared (treated as privileged)'}, without an approval: neither the tool nor an applicable Policy requires one`,
        hint: `set spec.sideEffects.requiresApproval: true on the tool, or apply a Policy rule with when: {tool.sideEffect: ${level}} and require: {approval: human}`,
        related: [
          { at: at(tool, declared ? ['spec', 'sideEffects', 'level'] : ['spec']), message: 'the side effect' },
          ...productionRelated(surface.production),
        ],
      }),
    );
  }
  return out;
}

/** A statically applicable approval (or a denial, which is stricter) satisfies JOCH701. */
function policyCovers(contributions: readonly Contribution[]): boolean {
  return contributions.some((c) => c.outcome === 'require-approval' || c.outcome === 'deny');
}

/** JOCH702 (production only) and JOCH703. */
export function mcpBaseline(cap: Capability, surface: AgentSurface, ref: PolicyRef): Contribution[] {
  const server = cap.resource as Resource;
  const out: Contribution[] = [];
  const through = cap.role ? ` (${cap.role})` : '';
  if (surface.production.length && !isPinned(server)) {
    out.push(
      deny(ref, 'JOCH702', 'mcp-version-not-pinned', {
        code: 'JOCH702',
        message: `${describeRes(server)}${through} is reachable by agent ${agentName(surface.agent)}, ${productionNote(surface.production)}, but does not pin its version`,
        hint: 'set security.pinServerVersion: true and security.pinnedVersion on the MCPServer',
        related: [{ at: at(server, ['spec', 'security']), message: 'the server\'s security settings' }, ...productionRelated(surface.production)],
      }),
    );
  }
  const stdio = cap.facts.get('mcpServer.transport') === 'stdio' || cap.facts.get('mcpServer.allowStdio') === true;
  if (stdio && cap.facts.get('mcpServer.sandbox') !== true) {
    out.push(
      deny(ref, 'JOCH703', 'stdio-without-sandbox', {
        code: 'JOCH703',
        message: `${describeRes(server)}${through}, reachable by agent ${agentName(surface.agent)}, runs over stdio without security.sandbox: true`,
        hint: 'set security.sandbox: true on the MCPServer, or serve it over streamable_http',
        related: [{ at: at(server, ['spec', 'security']), message: 'the server\'s security settings' }],
      }),
    );
  }
  return out;
}

/** JOCH707: not readable is a denial; readable but not writable makes the binding read-only. */
export function memoryBaseline(cap: Capability, surface: AgentSurface, ref: PolicyRef): Contribution[] {
  const memory = cap.resource as Resource;
  const agent = surface.agent;
  if (cap.facts.get('memory.readable') !== true) {
    const access = isRecord(memory.spec.access) ? memory.spec.access : {};
    return [
      deny(ref, 'JOCH707', 'memory-not-readable', {
        code: 'JOCH707',
        message: `${describeRes(memory)} is readable only by ${strings(access.readableBy).join(', ') || 'no agent'} (access.readableBy); agent ${agentName(agent)} binds it as ${cap.role ?? 'memory'}`,
        hint: `add ${agent.name} to the memory's access.readableBy, or remove the binding`,
        related: [{ at: at(memory, ['spec', 'access', 'readableBy']), message: 'who may read the memory' }],
      }),
    ];
  }
  if (cap.facts.get('memory.writable') !== true) {
    return [{ outcome: 'modify', policy: ref, rule: 'JOCH707', reason: 'memory-read-only: the agent is not in access.writableBy', modify: 'read-only' }];
  }
  return [];
}

const BUDGET_PARTS: readonly { readonly what: string; readonly fields: readonly string[] }[] = [
  { what: 'token', fields: ['tokenLimitPerRun'] },
  { what: 'cost', fields: ['costLimitUsdPerRun', 'costLimitUsdPerDay'] },
  { what: 'tool-call', fields: ['toolCallLimitPerRun'] },
];

/** JOCH704: complete spec.budgets, or a Budget that covers the agent. */
export function agentBaseline(surface: AgentSurface, fleet: FleetIndex, ref: PolicyRef): Contribution[] {
  if (!surface.production.length) return [];
  const agent = surface.agent;
  const budgets = isRecord(agent.spec.budgets) ? agent.spec.budgets : {};
  const missing = BUDGET_PARTS.filter((p) => !p.fields.some((f) => typeof budgets[f] === 'number')).map((p) => p.what);
  if (!missing.length || applicableBudgets(surface, fleet).length) return [];
  return [
    deny(ref, 'JOCH704', 'no-budget', {
      code: 'JOCH704',
      message: `agent ${agentName(agent)} is ${productionNote(surface.production)} without ${missing.join(', ')} limits in spec.budgets, and no Budget applies to it`,
      hint: 'set tokenLimitPerRun, costLimitUsdPerRun or costLimitUsdPerDay, and toolCallLimitPerRun in spec.budgets, or add a Budget whose scope names the agent, its namespace or its team',
      at: at(agent, agent.spec.budgets !== undefined ? ['spec', 'budgets'] : ['metadata', 'name']),
      related: productionRelated(surface.production),
    }),
  ];
}

/** Budgets that cover the agent: by scope, by allocation, or bound by its Teams and Environments. */
export function applicableBudgets(surface: AgentSurface, fleet: FleetIndex): Resource[] {
  const agent = surface.agent;
  const out = new Set<Resource>([
    ...(fleet.budgets.byAgent.get(agent.key) ?? []),
    ...(fleet.budgets.byNamespace.get(agent.namespace ?? '') ?? []),
  ]);
  const teamNames = new Set(surface.teams.map((t) => t.name));
  if (agent.labels.team !== undefined) teamNames.add(agent.labels.team);
  for (const t of teamNames) for (const b of fleet.budgets.byTeam.get(t) ?? []) out.add(b);
  const binders = [...surface.teams.map((t) => t.key), ...surface.deployments.flatMap((d) => (d.environment ? [d.environment.key] : []))];
  for (const k of binders) {
    for (const e of fleet.budgetBindings.get(k) ?? []) {
      const b = e.to ? fleet.byKey.get(e.to) : undefined;
      if (b) out.add(b);
    }
  }
  return [...out].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** JOCH708 and JOCH709 over a Deployment's promotion gates. */
export function deploymentBaseline(link: DeploymentLink, surface: AgentSurface, fleet: FleetIndex, ref: PolicyRef): Contribution[] {
  const d = link.deployment;
  const promotion = isRecord(d.spec.promotion) ? d.spec.promotion : undefined;
  if (!promotion) return [];
  const out: Contribution[] = [];
  const evalName = promotion.requiresEval;
  if (typeof evalName === 'string') out.push(...evalGate(link, evalName, surface, fleet, ref));
  const approver = promotion.requiresApproval;
  if (typeof approver === 'string' && !fleet.approvers.has(approver)) {
    out.push(
      deny(ref, 'JOCH708', 'approver-unknown', {
        code: 'JOCH708',
        message: `${describeRes(d)} requires the approval of "${approver}", which is neither a Team, a Team member or role, nor a role listed in policy.approverRoles of joch.yaml`,
        hint: approver.startsWith('team:') ? `add Team ${approver.slice(5)}` : 'write team:<name>, a Team member, or list the role under policy.approverRoles in joch.yaml',
        at: at(d, ['spec', 'promotion', 'requiresApproval']),
      }),
    );
  }
  return out;
}

function evalGate(link: DeploymentLink, written: string, surface: AgentSurface, fleet: FleetIndex, ref: PolicyRef): Contribution[] {
  const d = link.deployment;
  const where = at(d, ['spec', 'promotion', 'requiresEval']);
  const slash = written.indexOf('/');
  const key = slash > 0 ? written : `${d.namespace ?? ''}/${written}`;
  const ev = fleet.evals.get(key);
  if (!ev) {
    return [
      deny(ref, 'JOCH708', 'eval-unknown', {
        code: 'JOCH708',
        message: `${describeRes(d)} requires Eval "${written}", which does not exist in namespace ${key.slice(0, key.indexOf('/'))}`,
        at: where,
      }),
    ];
  }
  const mismatch = (message: string, relatedPath: readonly PathSegment[]) =>
    deny(ref, 'JOCH709', 'gate-mismatch', {
      code: 'JOCH709',
      message: `${describeRes(d)} requires ${describeRes(ev)}, ${message}`,
      at: where,
      related: [{ at: at(ev, relatedPath), message: 'the Eval' }],
    });
  const target = isRecord(ev.spec.target) ? ev.spec.target : {};
  const targetKey = typeof target.name === 'string' ? agentKeyOf(typeof target.namespace === 'string' ? `${target.namespace}/${target.name}` : target.name, ev.namespace ?? '') : '';
  if (targetKey !== surface.agent.key) {
    return [mismatch(`which evaluates ${targetKey ? targetKey.slice('Agent/'.length) : 'no agent'}, not agent ${agentName(surface.agent)}`, ['spec', 'target'])];
  }
  const gate = isRecord(ev.spec.releaseGate) ? ev.spec.releaseGate : undefined;
  if (gate?.enabled !== true) return [mismatch('whose releaseGate is not enabled, so it gates nothing', ['spec', 'releaseGate'])];
  if (gate.blocksPromotionTo !== link.environmentName) {
    return [
      mismatch(
        `which gates promotion to Environment ${String(gate.blocksPromotionTo ?? '(none)')}, not to ${link.environmentName}, where this Deployment deploys`,
        ['spec', 'releaseGate', 'blocksPromotionTo'],
      ),
    ];
  }
  return [];
}

/** JOCH710: a hole in the surface is a denial. */
export function unresolvedBaseline(cap: Capability, agents: string, ref: PolicyRef): Contribution {
  return deny(ref, 'JOCH710', 'reference-unresolved', {
    code: 'JOCH710',
    message: `${cap.ref.kind} "${cap.ref.name}" does not resolve, so policy cannot evaluate it for ${agents}: denied (fail closed)`,
    hint: 'fix the reference (see the unresolved-reference error at the same place)',
  });
}
