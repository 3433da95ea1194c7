/**
 * A comparable view of one AgBOM, read from its CycloneDX document. The diff
 * and the risk report work on this view, so a document stored on the status
 * branch and one rendered a moment ago are read the same way.
 */
import type { CdxComponent, CdxService, CycloneDxBom } from './cyclonedx.js';
import type { DataFlow } from './model.js';

export interface ViewService {
  readonly endpoints: readonly string[];
  readonly crossesTrustBoundary: boolean;
  readonly trustZone: string;
  readonly authenticated: boolean;
  readonly flows: readonly DataFlow[];
}

export interface ViewComponent {
  readonly key: string;
  readonly ref: string;
  readonly class: string;
  readonly name: string;
  readonly version: string;
  readonly group?: string | undefined;
  /** Property values by name, each list sorted. */
  readonly facts: ReadonlyMap<string, readonly string[]>;
  readonly service?: ViewService | undefined;
}

export interface InventoryView {
  readonly agent: string;
  readonly serialNumber: string;
  readonly version: number;
  /** By version-independent key. */
  readonly components: ReadonlyMap<string, ViewComponent>;
}

export class NotAnAgBomError extends Error {}

function factsOf(props: readonly { name: string; value?: string }[] | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of props ?? []) {
    if (typeof p?.name !== 'string') continue;
    const list = out.get(p.name) ?? [];
    list.push(typeof p.value === 'string' ? p.value : '');
    out.set(p.name, list);
  }
  for (const l of out.values()) l.sort();
  return out;
}

function viewOf(c: CdxComponent | CdxService, service?: CdxService): ViewComponent {
  const facts = factsOf(c.properties);
  const ref = c['bom-ref'];
  return {
    key: facts.get('joch:key')?.[0] ?? ref,
    ref,
    class: facts.get('joch:class')?.[0] ?? ('type' in c ? c.type : 'service'),
    name: c.name,
    version: c.version ?? '',
    group: c.group,
    facts,
    service: service
      ? {
          endpoints: [...(service.endpoints ?? [])].sort(),
          crossesTrustBoundary: service['x-trust-boundary'] === true,
          trustZone: service.trustZone ?? '',
          authenticated: service.authenticated === true,
          flows: (service.data ?? []).map((d) => ({ name: d.name, flow: d.flow as DataFlow['flow'], classification: d.classification })),
        }
      : undefined,
  };
}

/** Reads a Joch CycloneDX AgBOM; throws NotAnAgBomError for anything else. */
export function viewOfCycloneDx(doc: unknown): InventoryView {
  const d = doc as Partial<CycloneDxBom> | null;
  if (!d || typeof d !== 'object' || d.bomFormat !== 'CycloneDX' || !d.metadata?.component) {
    throw new NotAnAgBomError('not a CycloneDX document with a metadata.component');
  }
  const agent = factsOf(d.metadata.properties).get('joch:agbom:agent')?.[0];
  if (!agent) throw new NotAnAgBomError('not a Joch AgBOM: metadata has no joch:agbom:agent property');
  const components = new Map<string, ViewComponent>();
  const add = (v: ViewComponent) => components.set(v.key, v);
  add(viewOf(d.metadata.component));
  for (const c of d.components ?? []) add(viewOf(c));
  for (const s of d.services ?? []) add(viewOf(s, s));
  return { agent, serialNumber: d.serialNumber ?? '', version: typeof d.version === 'number' ? d.version : 0, components };
}

export function fact(c: ViewComponent | undefined, name: string): string | undefined {
  return c?.facts.get(name)?.[0];
}
