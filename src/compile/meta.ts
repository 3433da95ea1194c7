/**
 * Metadata every emitted object carries. The source commit is deliberately
 * not here: stamping it on every object would rewrite every object on every
 * commit, so "a change to one agent updates only its objects" would be
 * impossible at apply time. Objects carry the short content hash of the Joch
 * resource they came from and the repository path of its manifest instead.
 */
import { APPLYSET_PART_OF } from '../model/applyset.js';
import { labelValue } from '../model/names.js';
import type { Resource } from '../model/resource.js';
import type { KubeObjectMeta } from './types.js';

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  agent: 'joch.dev/agent',
  sourceHash: 'joch.dev/source-hash',
  environment: 'joch.dev/environment',
  deployment: 'joch.dev/deployment',
  execution: 'joch.dev/execution',
  team: 'joch.dev/team',
  inventory: APPLYSET_PART_OF,
} as const;

export const ANNOTATION = {
  /** The Joch name, which references keep using when the Kubernetes name differs. */
  name: 'joch.dev/name',
  /** Repository path of the manifest the object came from. */
  source: 'joch.dev/source',
  /** Hash of the CompiledAgentManifest a pod template runs: pods roll when it changes. */
  manifestHash: 'joch.dev/manifest-hash',
  /** Only on CompiledAgentManifests. */
  sourceCommit: 'joch.dev/source-commit',
  sourceCommitTime: 'joch.dev/source-commit-time',
} as const;

export type Component =
  | 'crd'
  | 'custom-resource'
  | 'namespace'
  | 'team-access'
  | 'secret-access'
  | 'agent-manifest'
  | 'agent-identity'
  | 'agent-network'
  | 'agent-runtime'
  | 'execution';

/** Where a resource's objects say they came from. */
export interface Provenance {
  readonly resource: Resource;
  /** Short hash of the resource's canonical content (status left out). */
  readonly sourceHash: string;
  /** Repository-relative path of its manifest. */
  readonly sourcePath: string;
}

/**
 * The short content hash of a resource: the first 12 hex characters of the
 * document hash the loader computed (Resource.contentHash, the pipeline's one
 * change-detection hash). Free to compute; a comment-only edit changes it,
 * which updates the labels of that resource's objects but never rolls pods
 * (pod templates do not carry it).
 */
export function sourceHash(resource: Resource): string {
  return resource.contentHash.replace(/^sha256:/, '').slice(0, 12);
}

export function provenance(resource: Resource, displayPrefix: string | undefined): Provenance {
  const prefix = displayPrefix ? `${displayPrefix}/` : '';
  const sourcePath = prefix && resource.file.startsWith(prefix) ? resource.file.slice(prefix.length) : resource.file;
  return { resource, sourceHash: sourceHash(resource), sourcePath };
}

export interface MetaInput {
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly from?: Provenance | undefined;
  readonly component: Component;
  /** app.kubernetes.io/name: what the object is part of (an agent, a resource). */
  readonly appName: string;
  /** app.kubernetes.io/instance; defaults to the object's name. */
  readonly instance?: string | undefined;
  /** The Joch agent the object belongs to, when it belongs to one. */
  readonly agent?: string | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  /** Copy the Joch resource's own labels and annotations (custom resources). */
  readonly userMetadata?: boolean | undefined;
}

export interface ObjectMeta extends KubeObjectMeta {
  labels: Record<string, string>;
}

/**
 * Joch's labels win over the user's: the inventory label must be exactly the
 * ApplySet id or the apply stage cannot prune.
 */
export function objectMeta(input: MetaInput, applySetId: string): ObjectMeta {
  const from = input.from;
  const labels: Record<string, string> = {
    ...(input.userMetadata && from ? from.resource.labels : {}),
    ...input.labels,
    [LABEL.name]: labelValue(input.appName),
    [LABEL.instance]: labelValue(input.instance ?? input.name),
    [LABEL.component]: input.component,
    [LABEL.partOf]: 'joch',
    [LABEL.managedBy]: 'joch',
    ...(input.agent !== undefined ? { [LABEL.agent]: labelValue(input.agent) } : {}),
    ...(from ? { [LABEL.sourceHash]: from.sourceHash } : {}),
    [LABEL.inventory]: applySetId,
  };
  const annotations: Record<string, string> = {
    ...(input.userMetadata && from ? from.resource.annotations : {}),
    ...input.annotations,
    ...(from ? { [ANNOTATION.name]: from.resource.name, [ANNOTATION.source]: from.sourcePath } : {}),
  };
  return {
    name: input.name,
    ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
    labels,
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}
