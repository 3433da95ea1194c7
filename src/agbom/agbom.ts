/**
 * One agent's AgBOM: the inventory, its hash, its generation and the
 * identity of its documents. Everything time-like comes from the context
 * (the source commit or SOURCE_DATE_EPOCH), never from the clock.
 */
import type { AgentGraph } from '../model/graph.js';
import type { PolicyBundle } from '../model/policy-bundle.js';
import { buildInventory } from './build.js';
import { contentDigest } from '../compile/hash.js';
import { agbomSerial, byString, isoSeconds } from './identity.js';
import type { AgBom, AgBomInventory, EvidenceFile, GenerationRecord, Organization } from './model.js';

export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
}

export interface AgBomContext {
  /** Version of the tool writing the documents (the joch CLI's). */
  readonly toolVersion: string;
  /** Seconds since the epoch: the source commit's time, or SOURCE_DATE_EPOCH. */
  readonly sourceTime: number;
  /** The source revision (commit) the records come from. */
  readonly revision?: string | undefined;
  /** This agent's last stored generation, if any. */
  readonly previous?: GenerationRecord | undefined;
  readonly organization?: Organization | undefined;
  /** Digests of the repository files, by repository-relative path: the SWID evidence. */
  readonly files?: ReadonlyMap<string, FileDigest> | undefined;
  /** Trust scores observed at run time, by MCPServer name. */
  readonly mcpTrustScores?: ReadonlyMap<string, number> | undefined;
}

/** Used when the caller names no organization: Joch itself, whose domain is the API group's. */
export const DEFAULT_ORGANIZATION: Organization = { name: 'Joch', regid: 'joch.dev' };

export function buildAgBom(graph: AgentGraph, bundle: PolicyBundle | undefined, ctx: AgBomContext): AgBom {
  const organization = ctx.organization ?? DEFAULT_ORGANIZATION;
  const inventory = buildInventory(graph, bundle, { regid: organization.regid, mcpTrustScores: ctx.mcpTrustScores });
  const inventoryHash = hashInventory(inventory);
  const timestamp = isoSeconds(ctx.sourceTime);
  return {
    inventory,
    inventoryHash,
    generation: nextGeneration(ctx.previous, inventoryHash, { createdAt: timestamp, revision: ctx.revision }),
    serialNumber: agbomSerial(organization.regid, inventory.agent),
    organization,
    toolVersion: ctx.toolVersion,
    source: { revision: ctx.revision, timestamp },
    evidence: evidenceOf(inventory, ctx.files),
  };
}

/**
 * The hash that decides whether the generation moves: the inventory without
 * where its records are written (moving a record to another file changes
 * nothing the agent depends on).
 */
export function hashInventory(inventory: AgBomInventory): string {
  const content = { ...inventory, components: inventory.components.map(({ file: _file, ...c }) => c) };
  return contentDigest(content);
}

/** The generation moves only when the inventory changes; an unchanged inventory keeps its generation, time and revision. */
export function nextGeneration(
  previous: GenerationRecord | undefined,
  inventoryHash: string,
  now: { readonly createdAt: string; readonly revision?: string | undefined },
): GenerationRecord {
  if (previous && previous.inventoryHash === inventoryHash) return previous;
  return {
    generation: previous ? previous.generation + 1 : 1,
    inventoryHash,
    createdAt: now.createdAt,
    ...(now.revision ? { revision: now.revision } : {}),
  };
}

function evidenceOf(inventory: AgBomInventory, files: AgBomContext['files']): EvidenceFile[] {
  const paths = new Set<string>();
  for (const c of inventory.components) if (c.file) paths.add(c.file);
  return [...paths].sort(byString).map((path) => {
    const d = files?.get(path);
    return d ? { path, sha256: d.sha256, size: d.size } : { path };
  });
}
