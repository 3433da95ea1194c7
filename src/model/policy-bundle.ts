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
}

/** What was decided at compile time for one capability of the agent. */
export interface CapabilityDecision {
  readonly capability: { readonly kind: string; readonly name: string; readonly namespace?: string | undefined };
  readonly outcome: Outcome;
  readonly decidedBy: { readonly policy: PolicyRef; readonly rule: string } | { readonly baseline: string };
  readonly reason?: string | undefined;
  readonly approval?: ApprovalRequirement | undefined;
}

export interface PolicyBundle {
  /** Key of the agent resource. */
  readonly agent: string;
  /** Every policy in effect, in evaluation order. */
  readonly policies: readonly PolicyRef[];
  readonly decisions: readonly CapabilityDecision[];
  readonly runtimeRules: readonly RuntimeRule[];
  /** sha256 of the canonical JSON of the bundle without this field. */
  readonly hash: string;
}
