/**
 * Release gates of a promotion, judged from data: an Eval's recorded scores
 * for the exact version against the Eval's thresholds, and an Approval
 * record for the agent, the target Environment and the version. Each gate
 * that fails is a finding at the place in the repository that asked for it.
 */
import { parse } from 'yaml';
import { finding, type Finding, type SourcePointer } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import type { GateResult } from './types.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Labels and annotation that tie an Approval record to one promotion. */
export const APPROVAL_LABEL = { agent: 'joch.dev/agent', environment: 'joch.dev/environment' } as const;
export const APPROVAL_VERSION = 'joch.dev/version';

/** Where the sync loop's status branch keeps the results an eval runner records. */
export function evalResultsPath(ev: Resource): string {
  return `evals/${ev.namespace ?? '_cluster'}/${ev.name}.yaml`;
}

export interface EvalGateSource {
  readonly eval: Resource;
  /** Where the gate is asked for: the Deployment's requiresEval, or the Eval's own releaseGate. */
  readonly at: SourcePointer;
  readonly via: string;
}

/**
 * Every Eval that gates the promotion: the one the target Deployment
 * requires, and each Eval of the agent whose releaseGate protects the
 * target Environment (so a new Deployment is gated too).
 */
export function evalGateSources(resources: readonly Resource[], agent: Resource, to: string, target: Resource | undefined): EvalGateSource[] {
  const out = new Map<string, EvalGateSource>();
  const promotion = target && isRecord(target.spec.promotion) ? target.spec.promotion : undefined;
  const required = promotion?.requiresEval;
  if (target && typeof required === 'string') {
    const slash = required.indexOf('/');
    const [ns, name] = slash > 0 ? [required.slice(0, slash), required.slice(slash + 1)] : [target.namespace, required];
    const ev = resources.find((r) => r.kind === 'Eval' && r.name === name && r.namespace === ns);
    // A missing Eval is the baseline's JOCH708 on the repository itself.
    if (ev) out.set(ev.key, { eval: ev, at: { file: target.file, doc: target.doc, path: ['spec', 'promotion', 'requiresEval'] }, via: `Deployment ${target.namespace}/${target.name} spec.promotion.requiresEval` });
  }
  for (const ev of resources) {
    if (ev.kind !== 'Eval' || out.has(ev.key)) continue;
    const gate = isRecord(ev.spec.releaseGate) ? ev.spec.releaseGate : undefined;
    const t = isRecord(ev.spec.target) ? ev.spec.target : undefined;
    if (gate?.enabled !== true || gate.blocksPromotionTo !== to || t?.name !== agent.name) continue;
    if ((typeof t.namespace === 'string' ? t.namespace : ev.namespace) !== agent.namespace) continue;
    out.set(ev.key, { eval: ev, at: { file: ev.file, doc: ev.doc, path: ['spec', 'releaseGate', 'blocksPromotionTo'] }, via: `Eval ${ev.namespace}/${ev.name} spec.releaseGate` });
  }
  return [...out.values()].sort((a, b) => (a.eval.key < b.eval.key ? -1 : 1));
}

export interface EvalRecord {
  readonly version: string;
  readonly revision?: string | undefined;
  readonly scores: Readonly<Record<string, number>>;
}

/** The results file's entries; anything malformed is left out rather than trusted. */
export function parseEvalResults(text: string): EvalRecord[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return [];
  }
  const list = isRecord(doc) && Array.isArray(doc.results) ? doc.results : [];
  const out: EvalRecord[] = [];
  for (const r of list) {
    if (!isRecord(r) || typeof r.version !== 'string' || !isRecord(r.scores)) continue;
    const scores: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.scores)) if (typeof v === 'number' && Number.isFinite(v)) scores[k] = v;
    out.push({ version: r.version, revision: typeof r.revision === 'string' ? r.revision : undefined, scores });
  }
  return out;
}

interface MetricVerdict {
  readonly metric: string;
  readonly threshold: string;
  readonly score: number | undefined;
  readonly passed: boolean;
}

const COMPARISON = /^(<=|>=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)$/;

function judgeMetric(metric: string, threshold: unknown, score: number | undefined): MetricVerdict {
  if (typeof threshold === 'number') return { metric, threshold: `>= ${threshold}`, score, passed: score !== undefined && score >= threshold };
  const m = typeof threshold === 'string' ? COMPARISON.exec(threshold.trim()) : null;
  if (!m) return { metric, threshold: String(threshold), score, passed: false };
  const [, op, digits] = m;
  const n = Number(digits);
  const passed =
    score !== undefined && (op === '<' ? score < n : op === '<=' ? score <= n : op === '>' ? score > n : score >= n);
  return { metric, threshold: `${op} ${n}`, score, passed };
}

/** Every threshold of the Eval against the recorded scores: a metric without a score fails. */
export function judgeScores(ev: Resource, scores: Readonly<Record<string, number>>): MetricVerdict[] {
  const thresholds = isRecord(ev.spec.thresholds) ? ev.spec.thresholds : {};
  return Object.keys(thresholds)
    .sort()
    .map((metric) => judgeMetric(metric, thresholds[metric], scores[metric]));
}

const describe = (v: MetricVerdict): string => `${v.metric} ${v.score === undefined ? '(no score)' : v.score} ${v.passed ? 'meets' : 'fails'} ${v.threshold}`;

/** One Eval gate judged: `results` is the text of its results file, when there is one. */
export function judgeEvalGate(src: EvalGateSource, version: string, results: string | undefined, where: string): { gate: GateResult; finding?: Finding } {
  const ev = src.eval;
  const name = `${ev.namespace}/${ev.name}`;
  const record = parseEvalResults(results ?? '')
    .filter((r) => r.version === version)
    .pop();
  if (!record) {
    const message = `release gate: Eval ${name} has no recorded result for version ${version} (${src.via})`;
    return {
      gate: { kind: 'eval', name, passed: false, evidence: `no result for ${version} in ${where}:${evalResultsPath(ev)}` },
      finding: finding('JOCH720', message, src.at, {
        hint: `run the Eval on this version and record its scores under results: in ${evalResultsPath(ev)} on ${where}`,
        related: [{ at: { file: ev.file, doc: ev.doc, path: ['metadata', 'name'] }, message: 'the Eval' }],
      }),
    };
  }
  const verdicts = judgeScores(ev, record.scores);
  const failing = verdicts.filter((v) => !v.passed);
  const evidence = verdicts.length ? verdicts.map(describe).join(', ') : 'no thresholds';
  if (failing.length === 0) return { gate: { kind: 'eval', name, passed: true, evidence: `passed: ${evidence}` } };
  return {
    gate: { kind: 'eval', name, passed: false, evidence: `failed: ${failing.map(describe).join(', ')}` },
    finding: finding('JOCH721', `release gate: Eval ${name} fails for version ${version}: ${failing.map(describe).join(', ')} (${src.via})`, src.at, {
      related: failing.map((v) => ({ at: { file: ev.file, doc: ev.doc, path: ['spec', 'thresholds', v.metric] }, message: `threshold ${v.metric}` })),
    }),
  };
}

const normalizeApprover = (a: string): string => (a.startsWith('team:') ? a.slice(5) : a);

/** An Approval record approves this promotion when it names the agent, the Environment, the version and the approver. */
export function approvalFor(resources: readonly Resource[], agent: Resource, to: string, version: string, approver: string): Resource | undefined {
  return resources.find((r) => {
    if (r.kind !== 'Approval' || r.namespace !== agent.namespace) return false;
    const action = isRecord(r.spec.action) ? r.spec.action : {};
    const routing = isRecord(r.spec.routing) ? r.spec.routing : {};
    const approvers = Array.isArray(routing.approvers) ? routing.approvers.filter((a): a is string => typeof a === 'string') : [];
    return (
      action.type === 'promotion' &&
      r.labels[APPROVAL_LABEL.agent] === agent.name &&
      r.labels[APPROVAL_LABEL.environment] === to &&
      r.annotations[APPROVAL_VERSION] === version &&
      approvers.some((a) => normalizeApprover(a) === normalizeApprover(approver))
    );
  });
}

export function judgeApprovalGate(
  resources: readonly Resource[],
  agent: Resource,
  target: Resource,
  to: string,
  version: string,
  approver: string,
): { gate: GateResult; finding?: Finding } {
  const hit = approvalFor(resources, agent, to, version, approver);
  if (hit) return { gate: { kind: 'approval', name: approver, passed: true, evidence: `Approval ${hit.namespace}/${hit.name} (${hit.file})` } };
  const at: SourcePointer = { file: target.file, doc: target.doc, path: ['spec', 'promotion', 'requiresApproval'] };
  return {
    gate: { kind: 'approval', name: approver, passed: false, evidence: 'no Approval record' },
    finding: finding(
      'JOCH722',
      `release gate: no Approval by "${approver}" for promoting ${agent.namespace}/${agent.name} to ${to} at version ${version} (Deployment ${target.namespace}/${target.name} spec.promotion.requiresApproval)`,
      at,
      {
        hint: `add an Approval in namespace ${agent.namespace} with spec.action.type: promotion, labels ${APPROVAL_LABEL.agent}: ${agent.name} and ${APPROVAL_LABEL.environment}: ${to}, annotation ${APPROVAL_VERSION}: ${version}, and ${approver} among spec.routing.approvers`,
      },
    ),
  };
}
