/**
 * The plain data the policy stage works on and hands back. Nothing here
 * holds behaviour: the engine builds these records, the CLI renders them,
 * the compiler and the AgBOM read the bundles.
 */
import type { BudgetBinding } from './budgets.js';
import type { Finding, SourcePointer } from '../diagnostics/index.js';
import type { ApprovalRequirement, Outcome, PolicyBundle, PolicyRef, RuntimeRule } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';

/** A kind of capability a rule can be about. */
export type Subject = 'tool' | 'mcpServer' | 'model' | 'memory' | 'rag' | 'handoff';

/**
 * What a condition key reads: a capability of one subject, the agent's own
 * context (labels, environments, budgets), or the request, which only the
 * runtime sees.
 */
export type KeyScope = Subject | 'agent' | 'request';

/** A value known only within bounds at compile time, such as a trust score with a declared floor. */
export interface Range {
  readonly lo: number;
  readonly hi: number;
}

export type FactValue = string | number | boolean | readonly string[] | Range;

/**
 * Attribute values by condition key, for one capability or for the agent.
 * Read on demand: most attributes are never asked for by any rule.
 */
export interface Facts {
  get(key: string): FactValue | undefined;
}

export interface CapabilityRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

/**
 * What a decision is about: a capability the agent holds, the agent itself
 * (rules over its context only), one of its Deployments, a Policy that could
 * not be evaluated, or a reference that did not resolve.
 */
export type CapabilityClass = Subject | 'agent' | 'deployment' | 'policy' | 'unresolved';

export interface Capability {
  /** Unique within the agent. */
  readonly key: string;
  readonly ref: CapabilityRef;
  readonly class: CapabilityClass;
  /** The reference that grants it: where a finding about it points. */
  readonly via: SourcePointer;
  /** Binding role: `primary`/`fallback` for models, the memory role, `via tool X` for servers. */
  readonly role?: string | undefined;
  readonly resource?: Resource | undefined;
  readonly facts: Facts;
}

/** One rule's (or one baseline rule's) say about one capability. */
export interface Contribution {
  readonly outcome: Outcome;
  readonly policy: PolicyRef;
  /** The rule name, `rules[i]` for an unnamed rule, or the baseline code. */
  readonly rule: string;
  /** Where the rule is written; undefined for the baseline. */
  readonly at?: SourcePointer | undefined;
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
  readonly modify?: string | undefined;
  readonly redactionRules?: readonly string[] | undefined;
  /** Condition keys the capability does not declare, taken as matching because the rule restricts. */
  readonly assumed?: readonly string[] | undefined;
  /** A finding this contribution raises (baseline violations, policy denials). */
  readonly finding?: PendingFinding | undefined;
}

/** A finding before it is tied to the agent: code, message and where. */
export interface PendingFinding {
  readonly code: string;
  readonly message: string;
  /** Defaults to the capability's `via`. */
  readonly at?: SourcePointer | undefined;
  readonly hint?: string | undefined;
  readonly related?: readonly { readonly at: SourcePointer; readonly message: string }[] | undefined;
}

/** A rule that matched a capability as far as compile time can tell; the rest is the runtime's. */
export interface DeferredMatch {
  readonly policy: PolicyRef;
  readonly rule: string;
  readonly at: SourcePointer;
  /** Every condition of the rule as written (keys canonical). */
  readonly when: Readonly<Record<string, string | number | boolean>>;
  /** The conditions compile time could not settle: the runtime decides these. */
  readonly open: readonly string[];
  readonly outcome: Outcome;
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
  readonly modify?: string | undefined;
  readonly redactionRules?: readonly string[] | undefined;
}

export interface CapabilityVerdict {
  readonly capability: Capability;
  readonly outcome: Outcome;
  /** The contribution that decided; undefined when nothing matched (default allow). */
  readonly decidedBy?: Contribution | undefined;
  /** Every contribution, in composition order: baseline, then policies in evaluation order. */
  readonly contributions: readonly Contribution[];
  readonly deferred: readonly DeferredMatch[];
  readonly approval?: ApprovalRequirement | undefined;
  readonly redactionRules?: readonly string[] | undefined;
}

export interface BoundPolicy {
  readonly ref: PolicyRef;
  readonly key: string;
  /** Where the policy is defined. */
  readonly at: SourcePointer;
  /** What binds it to the agent: the agent's reference, the Environment's or Team's, or the policy's selector. */
  readonly via: SourcePointer;
}

/** Why an agent counts as production: the Deployment and the Environment, and what makes it production. */
export interface ProductionEvidence {
  readonly deployment: string;
  readonly environment: string;
  readonly because: string;
  /** The Deployment's environmentRef. */
  readonly at: SourcePointer;
}

export interface AgentFinding {
  readonly agent: string;
  /** Key of the capability within the agent. */
  readonly capability?: string | undefined;
  readonly finding: Finding;
}

export interface AgentEvaluation {
  readonly agent: Resource;
  readonly production: readonly ProductionEvidence[];
  readonly policies: readonly BoundPolicy[];
  readonly verdicts: readonly CapabilityVerdict[];
  readonly runtimeRules: readonly RuntimeRule[];
  readonly findings: readonly AgentFinding[];
  /** The Budgets that bind the agent, with the places that bind each (explain shows them). */
  readonly budgets: readonly BudgetBinding[];
  readonly bundle: PolicyBundle;
}

/** A rule that at least one agent defers to run time: reported once by `joch validate`. */
export interface DeferredRule {
  readonly policy: string;
  readonly rule: string;
  readonly at: SourcePointer;
  readonly keys: readonly string[];
  readonly agents: readonly string[];
}

export interface PolicyStats {
  readonly policies: number;
  readonly rules: number;
  readonly agents: number;
  readonly decisions: number;
  readonly runtimeRules: number;
}

export interface PolicyResult {
  /** Every finding of the stage, agent findings and policy-definition findings alike. */
  readonly findings: readonly Finding[];
  /** One per agent, sorted by agent key. */
  readonly agents: readonly AgentEvaluation[];
  /** The same bundles as in `agents`, for the compiler and the AgBOM. */
  readonly bundles: readonly PolicyBundle[];
  readonly deferred: readonly DeferredRule[];
  readonly stats: PolicyStats;
  /** Keys of the agents deployed to production (a handoff to one of them is a fact of the handing agent). */
  readonly production?: readonly string[] | undefined;
  /** How many findings at the end of `findings` are not one agent's own (shared holes, policy defects, run-time rules). */
  readonly shared?: number | undefined;
}

export interface PolicyOptions {
  /** Environment names treated as production in addition to prod and production. */
  readonly productionEnvironments?: readonly string[] | undefined;
  /** Roles that promotion gates may name as approvers, in addition to Team names and members. */
  readonly approverRoles?: readonly string[] | undefined;
}
