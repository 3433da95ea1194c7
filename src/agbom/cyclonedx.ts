/**
 * The CycloneDX projection (1.6 by default, 1.7 on request). Unlike the Joch
 * docs' example, it follows the official schema: the agent is
 * `metadata.component`, remote capabilities live in the top-level
 * `services[]`, the BOM version is the top-level `version`, and a signature
 * is one JSF object under `signature`.
 */
import { documentFacts } from './facts.js';
import { byString } from './identity.js';
import type { AgBom, ComponentClass, InventoryComponent } from './model.js';

export type CycloneDxVersion = '1.6' | '1.7';
export const CYCLONEDX_VERSIONS: readonly CycloneDxVersion[] = ['1.6', '1.7'];

export interface CdxProperty {
  readonly name: string;
  readonly value: string;
}

export interface CdxEntity {
  readonly name: string;
}

export interface CdxComponent {
  readonly type: string;
  readonly 'bom-ref': string;
  readonly supplier?: CdxEntity;
  readonly group?: string;
  readonly name: string;
  readonly version?: string;
  readonly description?: string;
  readonly modelCard?: Readonly<Record<string, unknown>>;
  readonly data?: readonly Readonly<Record<string, unknown>>[];
  readonly cryptoProperties?: Readonly<Record<string, unknown>>;
  readonly properties?: readonly CdxProperty[];
  readonly tags?: readonly string[];
}

export interface CdxService {
  readonly 'bom-ref': string;
  readonly provider?: CdxEntity;
  readonly group?: string;
  readonly name: string;
  readonly version?: string;
  readonly description?: string;
  readonly endpoints?: readonly string[];
  readonly authenticated: boolean;
  readonly 'x-trust-boundary': boolean;
  readonly trustZone: string;
  readonly data: readonly { readonly flow: string; readonly classification: string; readonly name: string }[];
  readonly properties?: readonly CdxProperty[];
  readonly tags?: readonly string[];
}

export interface CdxDependency {
  readonly ref: string;
  readonly dependsOn: readonly string[];
}

export interface CdxComposition {
  readonly aggregate: string;
  readonly assemblies?: readonly string[];
  readonly dependencies?: readonly string[];
}

/** A JSF signature object (signaturecore), as CycloneDX embeds it. */
export interface JsfSignature {
  readonly algorithm: string;
  readonly keyId?: string;
  readonly publicKey?: Readonly<Record<string, string>>;
  readonly value?: string;
}

export interface CycloneDxBom {
  readonly $schema: string;
  readonly bomFormat: 'CycloneDX';
  readonly specVersion: CycloneDxVersion;
  readonly serialNumber: string;
  readonly version: number;
  readonly metadata: {
    readonly timestamp: string;
    readonly lifecycles: readonly { readonly phase: string }[];
    readonly tools: { readonly components: readonly CdxComponent[] };
    readonly manufacturer: CdxEntity;
    readonly supplier: CdxEntity;
    readonly component: CdxComponent;
    readonly properties: readonly CdxProperty[];
  };
  readonly components: readonly CdxComponent[];
  readonly services: readonly CdxService[];
  readonly dependencies: readonly CdxDependency[];
  readonly compositions: readonly CdxComposition[];
  readonly signature?: JsfSignature;
}

const COMPONENT_TYPE: Readonly<Record<ComponentClass, string>> = {
  agent: 'application',
  'peer-agent': 'application',
  framework: 'framework',
  model: 'machine-learning-model',
  'model-endpoint': 'application',
  'model-route': 'data',
  tool: 'application',
  'mcp-server': 'application',
  memory: 'data',
  rag: 'data',
  knowledge: 'data',
  policy: 'data',
  secret: 'cryptographic-asset',
};

/** Marks agent tools wherever they are rendered, local components and services alike. */
export const AGENT_TOOL_TAG = 'agent-tool';

export function renderCycloneDx(bom: AgBom, specVersion: CycloneDxVersion = '1.6'): CycloneDxBom {
  const inv = bom.inventory;
  const root = inv.components.find((c) => c.ref === inv.root)!;
  const rest = inv.components.filter((c) => c.ref !== inv.root);
  return {
    $schema: `http://cyclonedx.org/schema/bom-${specVersion}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion,
    serialNumber: bom.serialNumber,
    version: bom.generation.generation,
    metadata: {
      timestamp: bom.generation.createdAt,
      // Read from the records in Git before anything is built: CISA's "source" SBOM type.
      lifecycles: [{ phase: 'pre-build' }],
      tools: { components: [{ type: 'application', 'bom-ref': `tool:joch@${bom.toolVersion}`, name: 'joch', version: bom.toolVersion }] },
      manufacturer: { name: bom.organization.name },
      supplier: { name: inv.owner },
      component: component(root),
      properties: bomProperties(bom),
    },
    components: rest.filter((c) => !c.service).map(component),
    services: rest.filter((c) => c.service).map(service),
    dependencies: inv.components.map((c) => ({ ref: c.ref, dependsOn: c.dependsOn })).sort((a, b) => byString(a.ref, b.ref)),
    compositions: compositions(bom),
  };
}

export function serializeCycloneDx(doc: CycloneDxBom): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function bomProperties(bom: AgBom): CdxProperty[] {
  return [{ name: 'joch:agbom:agent', value: bom.inventory.agent }, ...documentFacts(bom)];
}

function identityProperties(c: InventoryComponent): CdxProperty[] {
  return [
    { name: 'joch:class', value: c.class },
    { name: 'joch:key', value: c.key },
  ];
}

function component(c: InventoryComponent): CdxComponent {
  const props = [...identityProperties(c), ...c.facts.filter((f) => !f.name.startsWith('cdx:ai-ml:'))];
  const data = dataOf(c);
  return {
    type: COMPONENT_TYPE[c.class],
    'bom-ref': c.ref,
    ...(c.supplier ? { supplier: { name: c.supplier } } : {}),
    ...(c.group ? { group: c.group } : {}),
    name: c.name,
    version: c.version,
    ...(c.description ? { description: c.description } : {}),
    ...(c.model ? { modelCard: modelCard(c) } : {}),
    ...(data ? { data } : {}),
    ...(c.secret
      ? {
          cryptoProperties: {
            assetType: 'related-crypto-material',
            // The reference, never the material: `value` is deliberately absent.
            relatedCryptoMaterialProperties: { type: c.secret, id: c.key },
          },
        }
      : {}),
    properties: props,
    ...(c.localTool ? { tags: [AGENT_TOOL_TAG] } : {}),
  };
}

function modelCard(c: InventoryComponent): Record<string, unknown> {
  const m = c.model!;
  const hyper = c.facts.filter((f) => f.name.startsWith('cdx:ai-ml:'));
  return {
    modelParameters: {
      task: m.task,
      ...(m.inputs.length ? { inputs: m.inputs.map((format) => ({ format })) } : {}),
      ...(m.outputs.length ? { outputs: m.outputs.map((format) => ({ format })) } : {}),
    },
    ...(hyper.length ? { properties: hyper } : {}),
  };
}

function dataOf(c: InventoryComponent): Record<string, unknown>[] | undefined {
  if (c.dataset) {
    return [
      {
        type: 'dataset',
        name: c.name,
        ...(c.dataset.url ? { contents: { url: c.dataset.url } } : {}),
        ...(c.dataset.classification ? { classification: c.dataset.classification } : {}),
        ...(c.dataset.personalData === 'yes' ? { sensitiveData: ['personal data'] } : {}),
        ...(c.description ? { description: c.description } : {}),
      },
    ];
  }
  if (c.class === 'model-route' || c.class === 'policy') return [{ type: 'configuration', name: c.name }];
  return undefined;
}

function service(c: InventoryComponent): CdxService {
  const s = c.service!;
  return {
    'bom-ref': c.ref,
    ...(c.supplier ? { provider: { name: c.supplier } } : {}),
    ...(c.group ? { group: c.group } : {}),
    name: c.name,
    version: c.version,
    ...(c.description ? { description: c.description } : {}),
    ...(s.endpoints.length ? { endpoints: s.endpoints } : {}),
    authenticated: s.authenticated,
    'x-trust-boundary': s.crossesTrustBoundary,
    trustZone: s.trustZone,
    data: s.dataFlows.map((f) => ({ flow: f.flow, classification: f.classification, name: f.name })),
    properties: [...identityProperties(c), ...c.facts],
    ...(c.class === 'tool' ? { tags: [AGENT_TOOL_TAG] } : {}),
  };
}

function compositions(bom: AgBom): CdxComposition[] {
  const complete: string[] = [];
  const incomplete: string[] = [];
  for (const c of bom.inventory.components) (c.complete ? complete : incomplete).push(c.ref);
  const out: CdxComposition[] = [];
  if (complete.length) out.push({ aggregate: 'complete', dependencies: complete.sort(byString) });
  if (incomplete.length) out.push({ aggregate: 'incomplete', dependencies: incomplete.sort(byString) });
  // The packages inside the agent's image are not inventoried from Git records.
  out.push({ aggregate: 'unknown', assemblies: [bom.inventory.root] });
  return out;
}
