/**
 * A CustomResourceDefinition for every Joch kind, generated from schemas/:
 * structural openAPIV3Schema, status subresource, printer columns (the useful
 * fields of the kind, then phase and age), short names and the `joch`
 * category, so `kubectl get joch` lists every Joch resource.
 */
import { KINDS, type KindInfo } from '../model/kinds.js';
import { loadSchemas } from '../schema/index.js';
import { shortDigest } from './hash.js';
import { LABEL, objectMeta } from './meta.js';
import { structuralKindSchema, type StructuralSchema } from './structural.js';
import type { KubeObject } from './types.js';

export const CATEGORY = 'joch';

interface Column {
  readonly name: string;
  readonly path: string;
  readonly priority?: number;
}

const col = (name: string, path: string, priority?: number): Column => ({ name, path, ...(priority ? { priority } : {}) });

/** The field that says most about each kind, in `kubectl get` order. */
const COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Agent: [col('Framework', '.spec.framework.adapterRef.name'), col('Route', '.spec.modelRoute.routeRef.name')],
  FrameworkAdapter: [col('Framework', '.spec.framework'), col('Language', '.spec.language')],
  Policy: [col('Description', '.spec.description', 1)],
  Execution: [col('Agent', '.spec.agentRef.name'), col('Trigger', '.spec.trigger.type')],
  ToolCall: [col('Tool', '.spec.toolRef.name'), col('Agent', '.spec.agentRef.name'), col('Approval', '.spec.approval.status')],
  Handoff: [col('From', '.spec.fromAgent.name'), col('To', '.spec.toAgent.name')],
  Approval: [col('Action', '.spec.action.type'), col('Risk', '.spec.risk.level')],
  Conversation: [col('Agent', '.spec.agentRef.name')],
  StateCheckpoint: [col('Conversation', '.spec.conversationRef.name'), col('To', '.spec.toBackend')],
  Model: [col('Provider', '.spec.provider'), col('Model', '.spec.model')],
  ModelRoute: [col('Primary', '.spec.strategy.primary')],
  Tool: [col('Type', '.spec.type'), col('Side-Effect', '.spec.sideEffects.level')],
  MCPServer: [col('Transport', '.spec.transport'), col('Version', '.spec.security.pinnedVersion')],
  Memory: [col('Type', '.spec.type'), col('Backend', '.spec.backend.type')],
  RAG: [col('Store', '.spec.vectorStore.type')],
  KnowledgeSource: [col('Type', '.spec.type')],
  Deployment: [col('Agent', '.spec.agentRef.name'), col('Environment', '.spec.environmentRef.name'), col('Replicas', '.spec.replicas')],
  Environment: [col('Region', '.spec.region'), col('Cluster', '.spec.runtime.cluster')],
  Team: [col('Namespaces', '.spec.namespaces')],
  Budget: [col('Monthly-USD', '.spec.limits.monthlyUsd')],
  Trace: [col('Execution', '.spec.executionRef.name')],
  Eval: [col('Target', '.spec.target.name')],
  Artifact: [col('Type', '.spec.type')],
  AgBOM: [col('Agent', '.spec.agentRef.name')],
  Secret: [col('Source', '.spec.source.type')],
};

/** The schema node at a printer-column path; throws when the kind has no such field. */
function fieldAt(schema: StructuralSchema, path: string, kind: string): StructuralSchema {
  let node: StructuralSchema | undefined = schema;
  for (const seg of path.split('.').filter(Boolean)) node = node?.properties?.[seg];
  if (!node) throw new Error(`printer column ${path} of ${kind} names no field of its schema`);
  return node;
}

function columnType(node: StructuralSchema): string {
  if (node.type === 'integer' || node.type === 'number' || node.type === 'boolean') return node.type;
  return 'string';
}

function printerColumns(info: KindInfo, schema: StructuralSchema): Record<string, unknown>[] {
  const own = (COLUMNS[info.kind] ?? []).map((c) => {
    const node = fieldAt(schema, c.path, info.kind);
    return {
      name: c.name,
      type: columnType(node),
      jsonPath: c.path,
      ...(node.description ? { description: node.description } : {}),
      ...(c.priority ? { priority: c.priority } : {}),
    };
  });
  return [
    ...own,
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase written by the Joch reconciler.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];
}

export function crdName(info: KindInfo): string {
  return `${info.plural}.${info.group}`;
}

function crdFor(info: KindInfo, applySetId: string): KubeObject {
  const schemas = loadSchemas();
  const schema = structuralKindSchema(info.schemaFile, (file) => schemas.get(file));
  const meta = objectMeta({ name: crdName(info), component: 'crd', appName: 'joch', instance: info.plural }, applySetId);
  meta.labels[LABEL.sourceHash] = shortDigest(schema);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: meta,
    spec: {
      group: info.group,
      scope: info.scope,
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.kind.toLowerCase(),
        shortNames: [...info.shortNames],
        categories: [CATEGORY],
      },
      versions: [
        {
          name: info.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns(info, schema),
        },
      ],
    },
  };
}

const cache = new Map<string, readonly KubeObject[]>();

/** Every Joch kind's CRD, sorted by name; computed once per process and ApplySet id. */
export function jochCrds(applySetId: string): readonly KubeObject[] {
  let crds = cache.get(applySetId);
  if (!crds) {
    crds = KINDS.map((k) => crdFor(k, applySetId)).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    cache.set(applySetId, crds);
  }
  return crds;
}
