/**
 * The per-agent policy bundle: what the policy stage hands to the compiler
 * (for the CompiledAgentManifest the runtime enforces) and to the AgBOM.
 * Plain data; the policy stage may add optional fields.
 */

export type Outcome = 'allow' | 'deny' | 'require-approval' | 'modify';

export interface PolicyRef {
  readonly name: string;
  readonly namespace?: string | undefined;
  /** Content hash of the Policy resource, short: changes whenever the policy does. */
  readonly version: string;
  /** Why it applies: named by the agent, selected by appliesTo, bound by an Environment or Team, or built in. */
  readonly source: 'attached' | 'selector' | 'environment' | 'team' | 'baseline';
}

export interface ApprovalRequirement {
  readonly approvers: readonly string[];
  readonly timeoutMinutes?: number | undefined;
  readonly onTimeout?: 'deny' | 'allow' | undefined;
  readonly channels?: readonly string[] | undefined;
}

/** A rule whose condition can only be decided at run time (cost so far, payload data). */
export interface RuntimeRule {
  readonly policy: PolicyRef;
  readonly rule: string;
  readonly when: Readonly<Record<string, string | number | boolean>>;
  readonly outcome: Outcome;
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
  readonly redactionRules?: readonly string[] | undefined;
  /** The modification a modify rule applies, such as `redact`. */
  readonly modify?: string | undefined;
  /** The capabilities the rule is limited to (its static conditions matched them); absent: every call of the agent. */
  readonly capabilities?: readonly CapabilityRef[] | undefined;
}

export interface CapabilityRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

/** One rule that had a say in a decision, in composition order. */
export interface DecisionContribution {
  /** `namespace/name` of the Policy, or `joch-baseline`. */
  readonly policy: string;
  readonly rule: string;
  readonly outcome: Outcome;
}

/** What was decided at compile time for one capability of the agent. */
export interface CapabilityDecision {
  readonly capability: { readonly kind: string; readonly name: string; readonly namespace?: string | undefined };
  readonly outcome: Outcome;
  readonly decidedBy: { readonly policy: PolicyRef; readonly rule: string } | { readonly baseline: string };
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
  /** Redactions the runtime applies to calls of the capability (outcome modify, or merged into an approval). */
  readonly redactionRules?: readonly string[] | undefined;
  /** Every rule that matched, when more than one did. */
  readonly contributions?: readonly DecisionContribution[] | undefined;
}

/** A Budget that binds the agent, as the gateways and the budget service enforce it. */
export interface BoundBudget {
  readonly name: string;
  readonly namespace?: string | undefined;
  /** Why it binds the agent: its scope, its allocation, or a Team or Environment that binds it. */
  readonly boundBy: readonly string[];
  /** `monthlyUsd`, `dailyUsd`, `perRunUsd`, `tokenLimitDaily`... as declared. */
  readonly limits: Readonly<Record<string, unknown>>;
  /** `onSoftLimit`, `onHardLimit`, `softLimitPct` as declared. */
  readonly enforcement?: Readonly<Record<string, unknown>> | undefined;
  readonly attribution?: Readonly<Record<string, unknown>> | undefined;
  /** The agent's share of the Budget (allocation.byAgent), and the limits that share comes to. */
  readonly share?: number | undefined;
  readonly allocated?: Readonly<Record<string, unknown>> | undefined;
}

export interface PolicyBundle {
  /** Key of the agent resource. */
  readonly agent: string;
  /** Every Budget that binds the agent, by Budget key; absent when none does. */
  readonly budgets?: readonly BoundBudget[] | undefined;
  /** Every policy in effect, in evaluation order. */
  readonly policies: readonly PolicyRef[];
  readonly decisions: readonly CapabilityDecision[];
  readonly runtimeRules: readonly RuntimeRule[];
  /** sha256 of the canonical JSON of the bundle without this field. */
  readonly hash: string;
}
