/**
 * What the pipeline is about to emit, as the emission guard
 * (src/schema/emission.ts) sees it: every compiled object and
 * CompiledAgentManifest, every AgBOM component, each with the Joch record
 * it came from.
 */
import type { AgBom } from '../agbom/index.js';
import type { CompiledManifestEntry, CompiledObject, CompileOutput } from '../compile/index.js';
import { emissionFindings, type Emission } from '../schema/emission.js';
import type { Finding } from '../diagnostics/index.js';
import type { SourcePointer } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';

export function compiledEmissions(output: Pick<CompileOutput, 'objects' | 'manifests'>): Emission[] {
  return [
    ...output.objects.map((o) => ({ what: `the compiled ${o.object.kind} ${objectName(o.object.metadata)}`, value: o.object, origin: o.origin })),
    ...output.manifests.map((m) => ({ what: `the CompiledAgentManifest of ${m.agent}`, value: m.manifest, origin: m.origin })),
  ];
}

/** The emission guard over one compile unit, for the compiler to run as it builds the unit. */
export function unitEmissionFindings(objects: readonly CompiledObject[], manifest: CompiledManifestEntry | undefined): Finding[] {
  return emissionFindings(compiledEmissions({ objects, manifests: manifest ? [manifest] : [] }));
}

/** The guard's findings on a compile output: kept by the compiler per unit, else computed over everything. */
export function outputLeaks(output: CompileOutput): readonly Finding[] {
  return output.leaks ?? emissionFindings(compiledEmissions(output));
}

/** An AgBOM as its components (each pointing at its record) and the document facts around them (pointing at the agent). */
export function agbomEmissions(boms: readonly AgBom[], resources: readonly Resource[]): Emission[] {
  const byKey = new Map(resources.map((r) => [r.key, r]));
  const at = (key: string): SourcePointer | undefined => {
    const r = byKey.get(key);
    return r && { file: r.file, doc: r.doc, path: [] };
  };
  const out: Emission[] = [];
  for (const bom of boms) {
    const agent = bom.inventory.agent;
    for (const c of bom.inventory.components) {
      // `secret` is the AgBOM's own word for what a Secret holds (`password`, `token`), not a value from the record.
      const { secret: _material, ...value } = c;
      out.push({ what: `the AgBOM of ${agent} (component ${c.kind} ${c.name})`, value, origin: at(recordKey(c.key)) ?? at(agent) });
    }
    const { components: _components, ...rest } = bom.inventory;
    out.push({ what: `the AgBOM of ${agent}`, value: { ...bom, inventory: rest }, origin: at(agent) });
  }
  return out;
}

/** The record a component key names: `Model//claude-sonnet#endpoint` is part of `Model//claude-sonnet`. */
function recordKey(componentKey: string): string {
  const hash = componentKey.indexOf('#');
  return hash === -1 ? componentKey : componentKey.slice(0, hash);
}

function objectName(meta: { readonly name: string; readonly namespace?: string | undefined }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}
