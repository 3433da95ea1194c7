/**
 * Every agent's AgBOM rendered to files, with the persistent cache in front:
 * an agent whose surface, policy bundle, evidence files and document context
 * did not change gets its three documents from the store instead of being
 * built, guarded and rendered again.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { AGBOM_FORMATS, buildFleet, digestFiles, renderAgBom, sourceTimeOf, type FileDigest } from '../agbom/index.js';
import type { CacheStore } from '../cache/index.js';
import { canonicalJson, sha256 } from '../compile/hash.js';
import type { Finding } from '../diagnostics/index.js';
import { resolveFindings } from '../manifests/index.js';
import type { AgentGraph } from '../model/graph.js';
import type { PolicyBundle } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';
import { emissionFindings } from '../schema/emission.js';
import { blockingFindings, type AgBomSource, type RunAgBomOptions, type RunAgBoms } from './agbom.js';
import { agbomEmissions } from './emission.js';

/** Bumped when the stored shape changes (the store's build id covers the code that renders). */
const ENTRY_KIND = 'agbom-v2';

export interface AgBomFile {
  readonly path: string;
  readonly content: string;
}

/** A document with the key of the agent it is about (a cluster's folder takes only its agents'). */
export interface AgentAgBomFile extends AgBomFile {
  readonly agent: string;
}

/** The documents deflated: they are as big as the output (about 115 kB an agent) and shrink ninefold. */
interface StoredAgBom {
  readonly files: readonly { readonly path: string; readonly deflated: Uint8Array }[];
}

/** `agbom/<namespace>/<agent>.<ext>` for every agent and format, or the errors that keep them from being built. */
export function renderRunAgBomFiles(
  run: AgBomSource,
  options: RunAgBomOptions,
  store: CacheStore | undefined,
): { ok: true; files: AgentAgBomFile[] } | Extract<RunAgBoms, { ok: false }> {
  const blocking = blockingFindings(run);
  if (blocking.length) return { ok: false, blocking };
  const time = sourceTimeOf(run.snapshot.commitTime, options.env);
  const digests = digestFiles(run.snapshot);
  const bundles = new Map((run.policy?.bundles ?? []).map((b) => [b.agent, b]));
  const context = { toolVersion: options.toolVersion, sourceTime: time.seconds, revision: run.snapshot.revision, organization: options.organization };
  const files: AgentAgBomFile[] = [];
  const leaks: Finding[] = [];
  for (const graph of run.graphs) {
    const bundle = bundles.get(graph.agent.key);
    const previous = options.state?.agents[graph.agent.key];
    const key = store ? agentKey(graph, bundle, digests, { ...context, previous: previous ?? null }) : '';
    const hit = store?.get<StoredAgBom>(ENTRY_KIND, key);
    const restored = hit && inflate(hit);
    if (restored) {
      files.push(...restored.map((f) => ({ ...f, agent: graph.agent.key })));
      continue;
    }
    const { boms } = buildFleet({ graphs: [graph], bundles, state: options.state }, { ...context, files: digests });
    const found = emissionFindings(agbomEmissions(boms, run.set.resources));
    leaks.push(...found);
    const own: AgBomFile[] = [];
    for (const bom of boms) {
      const [, ns = '', name = ''] = bom.inventory.agent.split('/');
      for (const format of AGBOM_FORMATS) {
        const r = renderAgBom(bom, format);
        own.push({ path: `agbom/${ns}/${name}${r.extension}`, content: r.text });
      }
    }
    files.push(...own.map((f) => ({ ...f, agent: graph.agent.key })));
    // A document the guard refused is never stored: it would hold the credential.
    if (store && found.length === 0) store.put(ENTRY_KIND, key, deflate(own));
  }
  // Refused as a whole: an AgBOM without the component that leaked would be a wrong inventory.
  if (leaks.length) return { ok: false, blocking: resolveFindings(run.set, leaks) };
  return { ok: true, files };
}

function deflate(files: readonly AgBomFile[]): StoredAgBom {
  return { files: files.map((f) => ({ path: f.path, deflated: deflateRawSync(f.content, { level: 1 }) })) };
}

/** The stored documents, or undefined when the entry does not inflate (a miss). */
function inflate(stored: StoredAgBom): AgBomFile[] | undefined {
  if (!Array.isArray(stored.files)) return undefined;
  try {
    return stored.files.map((f) => ({ path: f.path, content: inflateRawSync(f.deflated).toString('utf8') }));
  } catch {
    return undefined;
  }
}

/**
 * Everything an agent's AgBOM is made of: its surface with every resource
 * in it reduced to `key@contentHash@file#doc`, its policy bundle, the digest
 * of every file either names (the SWID evidence), and the document context.
 */
function agentKey(graph: AgentGraph, bundle: PolicyBundle | undefined, digests: ReadonlyMap<string, FileDigest>, context: Record<string, unknown>): string {
  const named = new Set<string>();
  const skeleton = reduce(graph, (r) => {
    named.add(r.file);
    return `${r.key}@${r.contentHash}@${r.file}#${r.doc}`;
  });
  collectFiles(skeleton, named);
  collectFiles(bundle, named);
  const files = [...named].sort().map((f) => [f, digests.get(f) ?? null]);
  return sha256(canonicalJson({ skeleton, bundle: bundle ?? null, files, context }));
}

/** Every `file` a value names, at any depth. */
function collectFiles(value: unknown, into: Set<string>): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) collectFiles(v, into);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === 'file' && typeof v === 'string') into.add(v);
    else collectFiles(v, into);
  }
}

function isResource(v: object): v is Resource {
  const r = v as Partial<Resource>;
  return typeof r.key === 'string' && typeof r.contentHash === 'string' && typeof r.file === 'string';
}

/** A copy of a value with every Resource in it replaced by what `resource` makes of it. */
function reduce(value: unknown, resource: (r: Resource) => string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => reduce(v, resource));
  if (isResource(value)) return resource(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = reduce(v, resource);
  return out;
}
