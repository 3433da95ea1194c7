/**
 * The AgBOM stage: per agent, an Agent Bill of Materials (OWASP AOS
 * "inspect") built as one internal model and projected to CycloneDX
 * (1.6 default, 1.7), SPDX 3.0.1 JSON-LD and SWID. Plain data in and out:
 * AgentGraph + PolicyBundle + context -> AgBom -> documents; diff, risk,
 * JSF sign/verify. Nothing here prints, reads files or reads the clock.
 */
import type { AgentGraph } from '../model/graph.js';
import type { PolicyBundle } from '../model/policy-bundle.js';
import { displayPath, type Snapshot } from '../source/types.js';
import { buildAgBom, type AgBomContext, type FileDigest } from './agbom.js';
import { renderCycloneDx, serializeCycloneDx, type CycloneDxVersion } from './cyclonedx.js';
import { diffViews, type AgBomDiff } from './diff.js';
import { sha256Hex } from './identity.js';
import type { AgBom, GenerationRecord } from './model.js';
import { renderSpdx, serializeSpdx } from './spdx.js';
import { emptyState, STATE_API_VERSION, type GenerationState } from './state.js';
import { renderSwid } from './swid.js';
import { viewOfCycloneDx, type InventoryView } from './view.js';

export { buildAgBom, hashInventory, nextGeneration, DEFAULT_ORGANIZATION, type AgBomContext, type FileDigest } from './agbom.js';
export { renderCycloneDx, serializeCycloneDx, CYCLONEDX_VERSIONS, type CycloneDxBom, type CycloneDxVersion } from './cyclonedx.js';
export { renderSpdx, serializeSpdx, SPDX_CONTEXT, type SpdxDocumentJson } from './spdx.js';
export { renderSwid } from './swid.js';
export { signJsf, verifyJsf, signingInput, type JsfSignatureObject, type SignOptions, type VerifyResult } from './sign.js';
export { diffViews, type AgBomDiff, type ComponentChange } from './diff.js';
export { viewOfCycloneDx, NotAnAgBomError, type InventoryView, type ViewComponent } from './view.js';
export { assessRisk, approvalSource, isPolicyFindingCode, type AgentRisk, type PolicyFinding, type RiskFinding, type RiskSeverity } from './risk.js';
export { formatDiffText, formatDiffMarkdown, formatRiskText } from './format.js';
export { parseState, serializeState, emptyState, withGeneration, STATE_API_VERSION, type GenerationState } from './state.js';
export { agbomSerial, uuidV5 } from './identity.js';
export { checkCycloneDxIntegrity, checkSpdxProfiles, OFFICIAL_CDX_PROPERTIES } from './check.js';
export type * from './model.js';

export const AGBOM_FORMATS = ['cyclonedx', 'spdx', 'swid'] as const;
export type AgBomFormat = (typeof AGBOM_FORMATS)[number];

export interface Rendered {
  readonly format: AgBomFormat;
  readonly text: string;
  readonly mediaType: string;
  /** File name suffix, as the AgBOM resource's export templates use. */
  readonly extension: string;
}

export function renderAgBom(bom: AgBom, format: AgBomFormat, options: { readonly cyclonedxVersion?: CycloneDxVersion } = {}): Rendered {
  switch (format) {
    case 'cyclonedx':
      return {
        format,
        text: serializeCycloneDx(renderCycloneDx(bom, options.cyclonedxVersion)),
        mediaType: `application/vnd.cyclonedx+json; version=${options.cyclonedxVersion ?? '1.6'}`,
        extension: '.cdx.json',
      };
    case 'spdx':
      return { format, text: serializeSpdx(renderSpdx(bom)), mediaType: 'application/spdx+json', extension: '.spdx.json' };
    case 'swid':
      return { format, text: renderSwid(bom), mediaType: 'application/swid+xml', extension: '.swid.xml' };
  }
}

export interface FleetInput {
  readonly graphs: readonly AgentGraph[];
  /** Policy bundles by agent key; an agent without one lists only the policies it names. */
  readonly bundles?: ReadonlyMap<string, PolicyBundle> | undefined;
  /** The stored state; agents missing from it start at generation 1. */
  readonly state?: GenerationState | undefined;
}

/** Every agent's AgBOM and the state to store next. */
export function buildFleet(input: FleetInput, ctx: Omit<AgBomContext, 'previous'>): { boms: AgBom[]; state: GenerationState } {
  // One record updated in place: a copy per agent (withGeneration) made this quadratic in the fleet's size.
  const agents: Record<string, GenerationRecord> = { ...(input.state ?? emptyState()).agents };
  const boms: AgBom[] = [];
  for (const g of input.graphs) {
    const bom = buildAgBom(g, input.bundles?.get(g.agent.key), { ...ctx, previous: agents[g.agent.key] });
    agents[g.agent.key] = bom.generation;
    boms.push(bom);
  }
  return { boms, state: { apiVersion: STATE_API_VERSION, agents } };
}

/** The comparable view of a freshly built AgBOM (the same reader a stored document goes through). */
export function viewOfAgBom(bom: AgBom): InventoryView {
  return viewOfCycloneDx(renderCycloneDx(bom));
}

/**
 * Diffs two sets of AgBOMs by agent: the before and after of a pull request,
 * two checkouts, or (once the Git source lands) two revisions. Agents present
 * on one side only are all-added or all-removed.
 */
export function diffFleets(before: readonly InventoryView[], after: readonly InventoryView[]): AgBomDiff[] {
  const b = new Map(before.map((v) => [v.agent, v]));
  const a = new Map(after.map((v) => [v.agent, v]));
  const agents = [...new Set([...b.keys(), ...a.keys()])].sort();
  return agents.map((k) => diffViews(b.get(k), a.get(k)));
}

/**
 * Digests of a snapshot's files (the SWID payload's hashes), keyed by the
 * path records carry: the snapshot path with its display prefix.
 */
export function digestFiles(snapshot: Pick<Snapshot, 'files' | 'displayPrefix'>): Map<string, FileDigest> {
  return new Map(snapshot.files.map((f) => [displayPath(snapshot, f.path), { sha256: sha256Hex(f.bytes), size: f.bytes.byteLength }]));
}

/**
 * The time documents carry: the source commit's, else SOURCE_DATE_EPOCH,
 * else the epoch itself (flagged by `fallback`), never the clock.
 */
export function sourceTimeOf(commitTime: number | undefined, env: Readonly<Record<string, string | undefined>>): { seconds: number; fallback: boolean } {
  if (commitTime !== undefined && Number.isFinite(commitTime)) return { seconds: Math.floor(commitTime), fallback: false };
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch.trim())) return { seconds: Number(epoch.trim()), fallback: false };
  return { seconds: 0, fallback: true };
}
