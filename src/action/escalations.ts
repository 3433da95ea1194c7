/**
 * Escalations: the risk-relevant changes of the AgBOM diff as first-class
 * findings (codes JOCH951-JOCH960), each placed at the line of the head that
 * grants it: the reference in the agent for a capability it gains, the
 * changed field of the resource for one it already had. They then travel the
 * same way as every other finding: annotations, SARIF results with their own
 * rules, counts, and joch.yaml severity overrides.
 */
import type { AgBomDiff, RiskFinding, RiskSeverity } from '../agbom/index.js';
import { finding, type Finding, type SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph, Reached } from '../model/graph.js';
import { refOf, type Resource } from '../model/resource.js';

/** Escalations are the risks above low. */
export type RiskLevel = Exclude<RiskSeverity, 'low'>;

/** The diagnostic code of each risk the diff reports; low-severity changes (a policy added) are not escalations. */
export const ESCALATION_CODES: Readonly<Record<string, string>> = {
  'new-side-effect-tool': 'JOCH951',
  'side-effect-changed': 'JOCH952',
  'approval-dropped': 'JOCH953',
  'mcp-unpinned': 'JOCH954',
  'mcp-below-trust-threshold': 'JOCH955',
  'mcp-trust-threshold-lowered': 'JOCH956',
  'mcp-pin-changed': 'JOCH957',
  'new-model-provider': 'JOCH958',
  'trust-boundary-flow': 'JOCH959',
  'policy-removed': 'JOCH960',
};

export interface Escalation {
  /** Agent key, `Agent/ns/name`. */
  readonly agent: string;
  readonly level: RiskLevel;
  readonly risk: RiskFinding;
  /** Whether the agent did not reach the component at the base (it gains it). */
  readonly gained: boolean;
  readonly finding: Finding;
}

interface EscalationInput {
  readonly diffs: readonly AgBomDiff[];
  /** The head's agent graphs, where the references that grant capabilities are written. */
  readonly graphs: readonly AgentGraph[];
  /** Escalations at or above this level are errors (fail-on-risk); the others warnings. */
  readonly failAt?: RiskLevel | undefined;
}

export function findEscalations(input: EscalationInput): Escalation[] {
  const graphs = new Map(input.graphs.map((g) => [g.agent.key, g]));
  const out: Escalation[] = [];
  for (const diff of input.diffs) {
    const graph = graphs.get(diff.agent);
    // An agent the change removes gains nothing.
    if (!graph) continue;
    const added = new Set(diff.changes.filter((c) => c.kind === 'added').map((c) => c.key));
    for (const risk of diff.risks) {
      const code = ESCALATION_CODES[risk.code];
      if (!code || risk.severity === 'low') continue;
      const level: RiskLevel = risk.severity;
      const gained = added.has(risk.component) || !diff.before;
      const message = `${agentName(diff.agent)}: ${risk.message}`;
      const place = placeOf(graph, risk, gained);
      const severity = input.failAt && (input.failAt === 'medium' || level === 'high') ? 'error' : 'warning';
      out.push({
        agent: diff.agent,
        level,
        risk,
        gained,
        finding: finding(code, `[${level}] ${message}`, place.at, {
          severity,
          resource: refOf(graph.agent),
          related: place.related,
        }),
      });
    }
  }
  return out;
}

export function agentName(key: string): string {
  return key.replace(/^Agent\//, '');
}

interface Place {
  readonly at: SourcePointer;
  readonly related: { at: SourcePointer; message: string }[];
}

/**
 * A capability the agent gains is granted by its reference to it; a change
 * to one it already had is made in the component's own record.
 */
function placeOf(graph: AgentGraph, risk: RiskFinding, gained: boolean): Place {
  const reached = reachedBy(graph, risk.component);
  if (!reached) return { at: { file: graph.agent.file, doc: graph.agent.doc, path: ['metadata', 'name'] }, related: [] };
  const own = ownPlace(reached.resource, risk.code);
  if (gained) return { at: reached.via, related: [{ at: own, message: `${reached.resource.kind} ${reached.resource.name} is defined here` }] };
  return { at: own, related: [{ at: reached.via, message: `${agentName(graph.agent.key)} reaches it here` }] };
}

function reachedBy(graph: AgentGraph, key: string): Reached | undefined {
  const lists: readonly (readonly Reached[])[] = [
    graph.tools,
    graph.mcpServers,
    graph.memories,
    graph.rags,
    graph.attachedPolicies,
    graph.handoffs,
    graph.children,
    graph.route ? [graph.route] : [],
  ];
  for (const list of lists) {
    const hit = list.find((r) => r.resource.key === key);
    if (hit) return hit;
  }
  const model = graph.models.find((m) => m.model.key === key);
  return model && graph.route ? { resource: model.model, via: graph.route.via } : undefined;
}

/** The field of a record that a risk is about, when the record has it. */
const FIELD_OF_RISK: Readonly<Record<string, readonly string[]>> = {
  'new-side-effect-tool': ['spec', 'sideEffects', 'level'],
  'side-effect-changed': ['spec', 'sideEffects', 'level'],
  'approval-dropped': ['spec', 'sideEffects', 'requiresApproval'],
  'mcp-unpinned': ['spec', 'security'],
  'mcp-below-trust-threshold': ['spec', 'security', 'minTrustScore'],
  'mcp-trust-threshold-lowered': ['spec', 'security', 'minTrustScore'],
  'new-model-provider': ['spec', 'provider'],
};

function ownPlace(r: Resource, riskCode: string): SourcePointer {
  const wanted = FIELD_OF_RISK[riskCode] ?? [];
  // The longest prefix of the field that the record actually has.
  let depth = 0;
  let node: unknown = r.body;
  for (const seg of wanted) {
    if (!node || typeof node !== 'object' || !(seg in node)) break;
    node = (node as Record<string, unknown>)[seg];
    depth++;
  }
  const at = depth ? wanted.slice(0, depth) : ['metadata', 'name'];
  return { file: r.file, doc: r.doc, path: at };
}
