/**
 * The one internal model of an agent's bill of materials. The CycloneDX,
 * SPDX and SWID documents are projections of it; the diff and the risk
 * report read it (through the CycloneDX projection, so a stored document and
 * a fresh one are compared the same way). Plain data only.
 */

/** What a component is, independent of any BOM format. */
export type ComponentClass =
  | 'agent'
  | 'peer-agent'
  | 'framework'
  | 'model'
  | 'model-endpoint'
  | 'model-route'
  | 'tool'
  | 'mcp-server'
  | 'memory'
  | 'rag'
  | 'knowledge'
  | 'policy'
  | 'secret';

/** A name/value pair, named per the CycloneDX property taxonomy (`joch:area:name`, or an official `cdx:` name). */
export interface Fact {
  readonly name: string;
  readonly value: string;
}

/** Direction is relative to the service, as in CycloneDX: inbound means data enters the service. */
export type FlowDirection = 'inbound' | 'outbound' | 'bi-directional' | 'unknown';

export interface DataFlow {
  readonly name: string;
  readonly flow: FlowDirection;
  readonly classification: string;
}

/** A component the agent reaches over a network or process boundary. */
export interface ServiceFacts {
  readonly endpoints: readonly string[];
  readonly authenticated: boolean;
  readonly crossesTrustBoundary: boolean;
  readonly trustZone: string;
  readonly dataFlows: readonly DataFlow[];
}

export type DatasetType = 'text' | 'structured' | 'other';

export interface DatasetFacts {
  readonly datasetType: DatasetType;
  readonly classification?: string | undefined;
  readonly url?: string | undefined;
  /** Whether personal data is present: from the record's classification or privacy settings. */
  readonly personalData: 'yes' | 'no' | 'noAssertion';
}

export interface ModelFacts {
  readonly provider: string;
  /** The provider's model identifier, as the Model record names it. */
  readonly modelId: string;
  readonly task: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly typeOfModel: string;
  readonly contextWindowTokens?: number | undefined;
}

export type SecretMaterial = 'token' | 'password' | 'credential';

/** A file the inventory was read from; the digest is of the file's bytes, when the caller knows them. */
export interface EvidenceFile {
  readonly path: string;
  readonly sha256?: string | undefined;
  readonly size?: number | undefined;
}

export interface InventoryComponent {
  /** Deterministic bom-ref: kind, namespace, name and version. */
  readonly ref: string;
  /** Version-independent identity: what a diff matches on. */
  readonly key: string;
  readonly class: ComponentClass;
  /** The Joch kind the component comes from. */
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
  /** CycloneDX group: the provider of a model, the namespace of a namespaced record. */
  readonly group?: string | undefined;
  readonly version: string;
  readonly description?: string | undefined;
  /** Who supplies it (a model provider, a trusted MCP publisher, the owning team). */
  readonly supplier?: string | undefined;
  readonly service?: ServiceFacts | undefined;
  readonly dataset?: DatasetFacts | undefined;
  readonly model?: ModelFacts | undefined;
  readonly secret?: SecretMaterial | undefined;
  /** A function or OS tool run inside the agent's own runtime. */
  readonly localTool?: boolean | undefined;
  /** Sorted by name, then value. */
  readonly facts: readonly Fact[];
  /** Refs this component depends on, sorted. */
  readonly dependsOn: readonly string[];
  /**
   * Whether the component's dependencies are all known. False for MCP servers
   * whose tools are discovered at run time, for instance.
   */
  readonly complete: boolean;
  /** Repository file of the record, when it comes from one. */
  readonly file?: string | undefined;
}

export interface Organization {
  readonly name: string;
  /** A registration id per ISO/IEC 19770-2: a domain (or URI) the organization controls. */
  readonly regid: string;
}

/** What a generation is: stored per agent by the caller (the sync loop keeps it on the status branch). */
export interface GenerationRecord {
  readonly generation: number;
  readonly inventoryHash: string;
  /** RFC 3339 UTC time the generation was first produced (from the source commit, never the clock). */
  readonly createdAt: string;
  /** Source revision the generation was first produced from. */
  readonly revision?: string | undefined;
}

export interface AgBomInventory {
  /** Key of the agent resource, `Agent/namespace/name`. */
  readonly agent: string;
  /** bom-ref of the agent component. */
  readonly root: string;
  /** The owning team (the agent's namespace, or its `team` label). */
  readonly owner: string;
  /** Every component, the agent first, then sorted by ref. */
  readonly components: readonly InventoryComponent[];
  /** Component classes the AgBOM settings of the agent exclude. */
  readonly excluded: readonly ComponentClass[];
  /** Whether the policies in effect came from a policy bundle (otherwise only those the agent names). */
  readonly policiesFromBundle: boolean;
}

export interface AgBom {
  readonly inventory: AgBomInventory;
  /** sha256 of the inventory's canonical JSON: what decides whether the generation moves. */
  readonly inventoryHash: string;
  readonly generation: GenerationRecord;
  /** `urn:uuid:` + UUIDv5 of the organization and the agent's identity: stable across generations. */
  readonly serialNumber: string;
  readonly organization: Organization;
  readonly toolVersion: string;
  /** The source the document was rendered from (this render, not the generation's first). */
  readonly source: { readonly revision?: string | undefined; readonly timestamp: string };
  readonly evidence: readonly EvidenceFile[];
}
