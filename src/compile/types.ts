/**
 * The compile stage's plain data: what goes in (the validated repository, the
 * agent graphs and the policy bundles) and what comes out (Kubernetes objects
 * with the place they came from, and one CompiledAgentManifest per agent).
 */
import type { WorkloadSettings } from '../config/index.js';
import type { Finding, SourcePointer } from '../diagnostics/index.js';
import type { AgentGraph, ReferenceEdge } from '../model/graph.js';
import type { PolicyBundle } from '../model/policy-bundle.js';
import type { Resource } from '../model/resource.js';

import type { KubeObject, KubeObjectMeta } from '../model/kube.js';

export type { KubeObject, KubeObjectMeta };

/**
 * One emitted object and the Joch manifest it came from, so the apply stage
 * can report an API-server error at the user's file and line. Generated
 * objects that no manifest stands behind (the CRDs, the team ClusterRoles)
 * have no origin.
 */
export interface CompiledObject {
  readonly object: KubeObject;
  readonly origin: SourcePointer | undefined;
}

export interface CompiledAgentManifest {
  readonly apiVersion: 'internal.joch.dev/v1';
  readonly kind: 'CompiledAgentManifest';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface CompiledManifestEntry {
  /** Key of the agent resource. */
  readonly agent: string;
  /** The manifest as written to a file: it carries the source commit in its metadata. */
  readonly manifest: CompiledAgentManifest;
  /** sha256 of the manifest's spec: what the ConfigMap holds and the pods roll on. */
  readonly hash: string;
  readonly origin: SourcePointer;
}

/** Where the Joch data plane runs: the agents' only egress and the secret resolvers. */
export interface DataPlaneOptions {
  /** Namespace of the Joch services (installed by the Joch Helm chart). */
  readonly namespace: string;
  /**
   * Component name of each service: the `app.kubernetes.io/name` label of its
   * pods (NetworkPolicy peers) and the name of its ServiceAccount (secret access).
   */
  readonly components: {
    readonly server: string;
    readonly gateway: string;
    readonly router: string;
    readonly memory: string;
    readonly trace: string;
  };
  /** URLs handed to workers; a FrameworkAdapter's `bindings` override the first three. */
  readonly urls: {
    readonly server: string;
    readonly toolGateway: string;
    readonly mcpGateway: string;
    readonly router: string;
    readonly memory: string;
    readonly trace: string;
    readonly agbom: string;
  };
}

export interface CompileOptions {
  /** Value of the `applyset.kubernetes.io/part-of` label on every object. */
  readonly applySetId: string;
  /**
   * Every agent must have a policy bundle (the CLI). Only unit tests turn this
   * off; an agent without a bundle then gets a manifest without a policy section.
   */
  readonly requirePolicyBundles: boolean;
  /** Emit the CustomResourceDefinitions of every Joch kind. */
  readonly crds: boolean;
  readonly dataPlane: DataPlaneOptions;
  /** Port of the worker's health endpoints. */
  readonly healthPort: number;
  /** Audience of the projected ServiceAccount token workers present to the data plane. */
  readonly identityAudience: string;
}

export interface CompileInput {
  /** Every loaded resource, sorted by key (ManifestSet.resources). */
  readonly resources: readonly Resource[];
  readonly graphs: readonly AgentGraph[];
  /** The resolved reference graph of the validate stage. */
  readonly references: readonly ReferenceEdge[];
  /** The policy stage's bundle per agent key. */
  readonly bundles: ReadonlyMap<string, PolicyBundle>;
  /** Commit of the source, written on the CompiledAgentManifests only. */
  readonly revision?: string | undefined;
  /** Commit time (seconds since the epoch); the only time the compiler writes. */
  readonly commitTime?: number | undefined;
  /**
   * Prefix of displayed file paths (the repository root relative to the
   * current folder), stripped so `joch.dev/source` does not depend on where
   * joch ran.
   */
  readonly displayPrefix?: string | undefined;
  /** joch.yaml `workloads`; the defaults when left out. */
  readonly workloads?: WorkloadSettings | undefined;
  /**
   * Deployments pinned (joch.dev/version) to a promoted version that the agent
   * at HEAD no longer compiles to, by Deployment key: the manifest of that
   * version, compiled from its source revision. Their workloads run it.
   */
  readonly pinned?: ReadonlyMap<string, CompiledManifestEntry> | undefined;
}

export interface CompileStats {
  /** Compile units (one per resource, one per agent, a few shared ones). */
  readonly units: number;
  /** Units built in this run; the rest came from the cache. */
  readonly built: number;
}

export interface CompileOutput {
  /** Sorted in apply order: CRDs, namespaces, cluster objects, then by namespace and kind. */
  readonly objects: readonly CompiledObject[];
  /** Sorted by agent key. */
  readonly manifests: readonly CompiledManifestEntry[];
  readonly findings: readonly Finding[];
  readonly stats: CompileStats;
  /**
   * The emission guard's findings, when the compiler was given a guard (it
   * checks each unit once, when the unit is built); otherwise the caller runs it.
   */
  readonly leaks?: readonly Finding[] | undefined;
}
