/**
 * Checks a JSON Schema does not make. In CycloneDX (beyond the official
 * schemas): that bom-refs are unique, that every reference resolves, that the
 * dependency graph has an entry for every node, and that property names
 * follow the CycloneDX property taxonomy. In SPDX 3.0.1 (beyond the tests' own
 * schema of the subset spdx.ts emits; no registry package ships the official
 * SPDX 3 schema): the AI and Dataset profile conformance rules and that every
 * referenced element exists. Each returns a list of problems (empty when the
 * document passes).
 */

type Json = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Json => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** ABNF of the CycloneDX property taxonomy: colon-separated segments of letters, digits, `-`, `_`, space. */
const PROPERTY_NAME = /^[A-Za-z0-9_ -]+(:[A-Za-z0-9_ -]+)*$/;

/** Official `cdx:` names this projection uses (cdx/ai-ml.md of the taxonomy). */
export const OFFICIAL_CDX_PROPERTIES: ReadonlySet<string> = new Set(['cdx:ai-ml:model:hyperparameter:context_length']);

function collectRefs(doc: Json): { refs: string[]; nodes: string[] } {
  const refs: string[] = [];
  const nodes: string[] = [];
  const visit = (c: unknown, node: boolean) => {
    if (!isObj(c)) return;
    if (typeof c['bom-ref'] === 'string') {
      refs.push(c['bom-ref']);
      if (node) nodes.push(c['bom-ref']);
    }
    for (const sub of arr(c.components)) visit(sub, node);
    for (const sub of arr(c.services)) visit(sub, node);
  };
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  visit(meta.component, true);
  for (const t of arr(isObj(meta.tools) ? meta.tools.components : undefined)) visit(t, false);
  for (const c of arr(doc.components)) visit(c, true);
  for (const s of arr(doc.services)) visit(s, true);
  return { refs, nodes };
}

export function checkCycloneDxIntegrity(doc: unknown): string[] {
  if (!isObj(doc)) return ['not a JSON object'];
  const problems: string[] = [];
  const { refs, nodes } = collectRefs(doc);
  const known = new Set<string>();
  for (const r of refs) {
    if (known.has(r)) problems.push(`duplicate bom-ref ${r}`);
    known.add(r);
  }
  const entries = new Set<string>();
  for (const d of arr(doc.dependencies)) {
    if (!isObj(d) || typeof d.ref !== 'string') {
      problems.push('a dependency entry has no ref');
      continue;
    }
    if (entries.has(d.ref)) problems.push(`two dependency entries for ${d.ref}`);
    entries.add(d.ref);
    if (!known.has(d.ref)) problems.push(`dependency entry for unknown ref ${d.ref}`);
    for (const to of arr(d.dependsOn)) if (typeof to !== 'string' || !known.has(to)) problems.push(`${d.ref} depends on unknown ref ${String(to)}`);
  }
  for (const n of nodes) if (!entries.has(n)) problems.push(`${n} has no dependency entry`);
  for (const c of arr(doc.compositions)) {
    if (!isObj(c)) continue;
    for (const r of [...arr(c.assemblies), ...arr(c.dependencies)]) if (typeof r !== 'string' || !known.has(r)) problems.push(`composition names unknown ref ${String(r)}`);
  }
  problems.push(...checkPropertyNames(doc));
  return problems;
}

function checkPropertyNames(doc: Json): string[] {
  const problems: string[] = [];
  const visit = (v: unknown, key?: string) => {
    if (Array.isArray(v)) {
      if (key === 'properties') {
        for (const p of v) {
          const name = isObj(p) ? p.name : undefined;
          if (typeof name !== 'string' || !PROPERTY_NAME.test(name)) problems.push(`property name ${String(name)} breaks the taxonomy's ABNF`);
          else if (!name.startsWith('joch:') && !OFFICIAL_CDX_PROPERTIES.has(name)) problems.push(`property ${name} is outside joch: and the official cdx: names`);
        }
      } else for (const x of v) visit(x);
    } else if (isObj(v)) for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(doc);
  return problems;
}

// ---------------------------------------------------------------------------
// SPDX 3.0.1

/** Individuals of the SPDX model that may be referenced without being defined in the document. */
const SPDX_INDIVIDUALS = new Set(['NoneElement', 'NoAssertionElement', 'expandedlicensing_NoAssertionLicense', 'expandedlicensing_NoneLicense']);

/** Properties an AI or Dataset package must have once per the profiles' cardinality updates. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  ai_AIPackage: ['releaseTime', 'suppliedBy', 'software_downloadLocation', 'software_packageVersion', 'software_primaryPurpose'],
  dataset_DatasetPackage: ['builtTime', 'originatedBy', 'releaseTime', 'software_downloadLocation', 'software_primaryPurpose', 'dataset_datasetType'],
};

export function checkSpdxProfiles(doc: unknown): string[] {
  if (!isObj(doc)) return ['not a JSON object'];
  const graph = arr(doc['@graph']).filter(isObj);
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const e of graph) {
    const id = typeof e.spdxId === 'string' ? e.spdxId : typeof e['@id'] === 'string' ? e['@id'] : undefined;
    if (!id) continue;
    if (ids.has(id)) problems.push(`duplicate id ${id}`);
    ids.add(id);
  }
  const resolves = (ref: unknown) => typeof ref === 'string' && (ids.has(ref) || SPDX_INDIVIDUALS.has(ref));
  const rels = graph.filter((e) => e.type === 'Relationship');
  for (const e of graph) {
    const required = REQUIRED[String(e.type)];
    if (!required) continue;
    for (const p of required) if (e[p] === undefined || (Array.isArray(e[p]) && !arr(e[p]).length)) problems.push(`${String(e.spdxId)}: ${String(e.type)} needs ${p}`);
    if (e.type === 'dataset_DatasetPackage' && arr(e.originatedBy).length !== 1) problems.push(`${String(e.spdxId)}: originatedBy must name exactly one agent`);
    for (const type of ['hasConcludedLicense', 'hasDeclaredLicense']) {
      const n = rels.filter((r) => r.from === e.spdxId && r.relationshipType === type).length;
      if (n !== 1) problems.push(`${String(e.spdxId)}: needs exactly one ${type} relationship, has ${n}`);
    }
  }
  for (const e of graph) {
    const refs = [
      ...(e.type === 'Relationship' ? [e.from, ...arr(e.to)] : []),
      ...arr(e.rootElement),
      ...arr(e.element),
      ...(typeof e.suppliedBy === 'string' ? [e.suppliedBy] : []),
      ...arr(e.originatedBy),
      ...(e.type === 'CreationInfo' ? [...arr(e.createdBy), ...arr(e.createdUsing)] : []),
    ];
    for (const r of refs) if (!resolves(r)) problems.push(`${String(e.spdxId ?? e['@id'])} references undefined element ${String(r)}`);
    if (typeof e.creationInfo === 'string' && !ids.has(e.creationInfo)) problems.push(`${String(e.spdxId)} has an undefined creationInfo`);
  }
  return problems;
}
