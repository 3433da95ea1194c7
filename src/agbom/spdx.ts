/**
 * The SPDX 3.0.1 JSON-LD projection, with the AI and Dataset profiles: the
 * agent and its models are `ai_AIPackage`s, memories, RAG indices and
 * knowledge sources `dataset_DatasetPackage`s, the rest `software_Package`s.
 * Tools are linked with `usesTool`, everything else with `dependsOn`; a
 * relationship's `completeness` carries what CycloneDX says in `compositions`.
 * Facts SPDX has no property for travel in the SPDX 3 extension made for
 * CycloneDX properties (`extension_CdxPropertiesExtension`), under the same
 * names, so the two projections hold the same facts.
 */
import { documentFacts, factValue } from './facts.js';
import { byString } from './identity.js';
import type { AgBom, InventoryComponent } from './model.js';

export const SPDX_CONTEXT = 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld';
/** SPDX 3 has no NOASSERTION string for URIs: this individual is the model's own "no assertion". */
export const SPDX_NO_ASSERTION = 'https://spdx.org/rdf/3.0.1/terms/Core/NoAssertionElement';
/**
 * The profiles the document conforms to. `extension` is written as its full
 * IRI: the 3.0.1 context also defines `extension` as a property term, so a
 * JSON-LD processor expands the short name to Core/extension, which is no
 * profile.
 */
const PROFILE_CONFORMANCE = ['ai', 'core', 'dataset', 'expandedLicensing', 'https://spdx.org/rdf/3.0.1/terms/Core/ProfileIdentifierType/extension', 'software'];

const NO_ASSERTION_LICENSE = 'expandedlicensing_NoAssertionLicense';
const CREATION_INFO = '_:creationinfo';

export type SpdxElement = Readonly<Record<string, unknown>> & { readonly type: string };

export interface SpdxDocumentJson {
  readonly '@context': typeof SPDX_CONTEXT;
  readonly '@graph': readonly SpdxElement[];
}

const CONFIDENTIALITY: Readonly<Record<string, string>> = {
  public: 'clear',
  internal: 'green',
  'customer-tier': 'amber',
  pii: 'red',
  regulated: 'red',
};

interface Ids {
  readonly base: string;
  element(ref: string): string;
  org(name: string): string;
}

function idsFor(bom: AgBom): Ids {
  const regid = bom.organization.regid;
  const host = /^[a-z][a-z0-9+.-]*:/i.test(regid) ? regid.replace(/\/+$/, '') : `https://${regid}`;
  const base = `${host}/agbom/${bom.serialNumber.replace(/^urn:uuid:/, '')}`;
  const enc = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/%40/g, '@').replace(/%3A/g, ':');
  return { base, element: (ref) => `${base}/element/${enc(ref)}`, org: (name) => `${base}/organization/${enc(name)}` };
}

export function renderSpdx(bom: AgBom): SpdxDocumentJson {
  const ids = idsFor(bom);
  const inv = bom.inventory;
  const included = inv.components.filter((c) => c.class !== 'secret');
  const orgs = new Set<string>([bom.organization.name, inv.owner]);
  for (const c of included) if (c.supplier) orgs.add(c.supplier);
  const toolId = `${ids.base}/tool/joch`;
  const byRef = new Map(bom.inventory.components.map((c) => [c.ref, c]));
  const packages = included.map((c) => pkg(bom, ids, c, byRef));
  const relationships = relationshipsOf(bom, ids, included, byRef);
  const agents = [...orgs].sort(byString).map((name) => ({ type: 'Organization', spdxId: ids.org(name), creationInfo: CREATION_INFO, name }));
  const elementIds = [...agents.map((a) => a.spdxId), toolId, ...packages.map((p) => p.spdxId as string), ...relationships.map((r) => r.spdxId as string)];
  const sbomId = `${ids.base}/sbom`;
  return {
    '@context': SPDX_CONTEXT,
    '@graph': [
      {
        type: 'CreationInfo',
        '@id': CREATION_INFO,
        specVersion: '3.0.1',
        created: bom.generation.createdAt,
        createdBy: [ids.org(bom.organization.name)],
        createdUsing: [toolId],
      },
      ...agents,
      { type: 'Tool', spdxId: toolId, creationInfo: CREATION_INFO, name: `joch ${bom.toolVersion}` },
      {
        type: 'SpdxDocument',
        spdxId: `${ids.base}/document`,
        creationInfo: CREATION_INFO,
        name: `AgBOM of ${inv.agent}, generation ${bom.generation.generation}`,
        comment: documentComment(bom),
        profileConformance: PROFILE_CONFORMANCE,
        rootElement: [sbomId],
        element: [sbomId, ...elementIds],
        extension: [extension(bomFacts(bom))],
      },
      {
        type: 'software_Sbom',
        spdxId: sbomId,
        creationInfo: CREATION_INFO,
        name: `AgBOM ${bom.serialNumber} version ${bom.generation.generation}`,
        // Read from the desired state in Git, before anything is built or run.
        software_sbomType: ['source'],
        rootElement: [ids.element(inv.root)],
        element: elementIds,
      },
      ...packages,
      ...relationships,
    ],
  };
}

export function serializeSpdx(doc: SpdxDocumentJson): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function documentComment(bom: AgBom): string {
  const secrets = bom.inventory.components.filter((c) => c.class === 'secret').length;
  return [
    `Projection of the Joch AgBOM ${bom.serialNumber} version ${bom.generation.generation}, the same inventory as its CycloneDX document.`,
    'Services: endpoints, authentication, trust boundary and data flows are joch:service:* extension properties.',
    `Secrets: SPDX 3.0.1 has no class for credentials, so the ${secrets} secret reference(s) appear as joch:secretRef extension properties of the elements that use them; no value is ever included.`,
  ].join(' ');
}

function bomFacts(bom: AgBom): { name: string; value: string }[] {
  return [{ name: 'joch:agbom:serialNumber', value: bom.serialNumber }, ...documentFacts(bom)];
}

function extension(props: readonly { name: string; value: string }[]): SpdxElement {
  return {
    type: 'extension_CdxPropertiesExtension',
    extension_cdxProperty: props.map((p) => ({ type: 'extension_CdxPropertyEntry', extension_cdxPropName: p.name, extension_cdxPropValue: p.value })),
  };
}

/** Every fact of the component, including those CycloneDX holds in dedicated fields. */
function allFacts(bom: AgBom, c: InventoryComponent, byRef: ReadonlyMap<string, InventoryComponent>): { name: string; value: string }[] {
  const out = [
    { name: 'joch:class', value: c.class },
    { name: 'joch:key', value: c.key },
    { name: 'joch:bomRef', value: c.ref },
    ...c.facts,
  ];
  const s = c.service;
  if (s) {
    for (const e of s.endpoints) out.push({ name: 'joch:service:endpoint', value: e });
    out.push({ name: 'joch:service:authenticated', value: String(s.authenticated) });
    out.push({ name: 'joch:service:trustBoundary', value: String(s.crossesTrustBoundary) });
    out.push({ name: 'joch:service:trustZone', value: s.trustZone });
    for (const f of s.dataFlows) out.push({ name: 'joch:service:dataFlow', value: `${f.flow} ${f.classification}: ${f.name}` });
  }
  if (c.localTool) out.push({ name: 'joch:tool:agentTool', value: 'true' });
  if (c.dataset?.classification) out.push({ name: 'joch:data:classification', value: c.dataset.classification });
  for (const d of c.dependsOn) {
    const dep = byRef.get(d);
    if (dep?.class === 'secret') out.push({ name: 'joch:secretRef', value: `${dep.key} (${dep.secret ?? 'credential'})` });
  }
  return out;
}

function downloadLocation(c: InventoryComponent): string {
  const image = factValue(c.facts, 'joch:agent:image');
  if (image) return `oci://${image}`;
  return c.dataset?.url ?? c.service?.endpoints[0] ?? SPDX_NO_ASSERTION;
}

function pkg(bom: AgBom, ids: Ids, c: InventoryComponent, byRef: ReadonlyMap<string, InventoryComponent>): SpdxElement {
  const common = {
    spdxId: ids.element(c.ref),
    creationInfo: CREATION_INFO,
    name: c.name,
    ...(c.description ? { description: c.description } : {}),
    software_packageVersion: c.version,
    extension: [extension(allFacts(bom, c, byRef))],
  };
  const supplier = ids.org(c.supplier ?? bom.inventory.owner);
  const released = bom.generation.createdAt;
  if (c.class === 'agent' || c.class === 'peer-agent' || c.class === 'model') return aiPackage(bom, c, common, supplier, released);
  if (c.dataset) {
    return {
      type: 'dataset_DatasetPackage',
      ...common,
      suppliedBy: supplier,
      originatedBy: [ids.org(bom.inventory.owner)],
      builtTime: released,
      releaseTime: released,
      software_downloadLocation: downloadLocation(c),
      software_primaryPurpose: 'data',
      dataset_datasetType: [c.dataset.datasetType],
      ...(c.dataset.classification && CONFIDENTIALITY[c.dataset.classification]
        ? { dataset_confidentialityLevel: CONFIDENTIALITY[c.dataset.classification] }
        : {}),
      dataset_hasSensitivePersonalInformation: c.dataset.personalData,
    };
  }
  return {
    type: 'software_Package',
    ...common,
    ...(c.supplier ? { suppliedBy: supplier } : {}),
    ...(c.service?.endpoints[0] ? { software_downloadLocation: c.service.endpoints[0] } : {}),
    software_primaryPurpose: c.class === 'framework' ? 'framework' : c.class === 'model-route' || c.class === 'policy' ? 'configuration' : 'application',
  };
}

function aiPackage(bom: AgBom, c: InventoryComponent, common: Record<string, unknown>, supplier: string, released: string): SpdxElement {
  const model = c.model;
  const agentFacts = (name: string) => factValue(c.facts, name);
  const classification = agentFacts('joch:agent:dataClassification');
  return {
    type: 'ai_AIPackage',
    ...common,
    suppliedBy: supplier,
    // The time the record was released into the fleet's desired state (the source commit).
    releaseTime: released,
    software_downloadLocation: downloadLocation(c),
    software_primaryPurpose: model ? 'model' : 'application',
    ...(model
      ? {
          ai_typeOfModel: [model.typeOfModel],
          ...(model.contextWindowTokens !== undefined
            ? { ai_hyperparameter: [{ type: 'DictionaryEntry', key: 'context_length', value: String(model.contextWindowTokens) }] }
            : {}),
        }
      : {
          ...(c.class === 'agent' ? { ai_autonomyType: agentFacts('joch:agent:autonomy') === 'yes' ? 'yes' : 'no' } : {}),
          ...(c.description ? { ai_informationAboutApplication: c.description } : {}),
          ...(classification ? { ai_useSensitivePersonalInformation: classification === 'pii' || classification === 'regulated' ? 'yes' : 'noAssertion' } : {}),
        }),
  };
}

function relationshipsOf(bom: AgBom, ids: Ids, included: readonly InventoryComponent[], byRef: ReadonlyMap<string, InventoryComponent>): SpdxElement[] {
  const out: SpdxElement[] = [];
  const rel = (c: InventoryComponent, type: string, to: string[], completeness: string) =>
    out.push({
      type: 'Relationship',
      spdxId: `${ids.element(c.ref)}/${type}`,
      creationInfo: CREATION_INFO,
      from: ids.element(c.ref),
      relationshipType: type,
      to,
      completeness,
    });
  for (const c of included) {
    const deps = c.dependsOn.map((d) => byRef.get(d)!).filter((d) => d.class !== 'secret');
    const tools = deps.filter((d) => d.class === 'tool').map((d) => ids.element(d.ref));
    const others = deps.filter((d) => d.class !== 'tool').map((d) => ids.element(d.ref));
    if (tools.length) rel(c, 'usesTool', tools, 'complete');
    // Every element gets a dependsOn: an empty but complete set is NoneElement, an unknown rest is marked incomplete.
    const completeness = c.complete ? 'complete' : 'incomplete';
    rel(c, 'dependsOn', others.length ? others : [c.complete ? 'NoneElement' : 'NoAssertionElement'], completeness);
    if (c.class === 'agent' || c.class === 'peer-agent' || c.class === 'model' || c.dataset) {
      // The AI and Dataset profiles require both license relationships; the records state no license.
      rel(c, 'hasConcludedLicense', [NO_ASSERTION_LICENSE], 'noAssertion');
      rel(c, 'hasDeclaredLicense', [NO_ASSERTION_LICENSE], 'noAssertion');
    }
  }
  return out;
}
