/**
 * The compile stage: a validated, policy-clean repository to the Kubernetes
 * objects that run it and one CompiledAgentManifest per agent. Plain data in
 * (resources, agent graphs, references, policy bundles), plain data out
 * (objects with their origin, manifests, findings); rendering and writing
 * files are separate functions the CLI calls.
 */
export { compile, createCompiler, type Compiler, type CompilerExtras, type UnitGuard, type UnitStore } from './compiler.js';
export { compileOptions, defaultCompileOptions, DEFAULT_DATA_PLANE } from './options.js';
export { jochCrds, crdName, CATEGORY } from './crd.js';
export { renderFiles, renderStream, writeFiles, objectPath, selectObjects, INDEX_FILE, type OutputFile, type RenderOptions, type CrdSelection, type WriteStats } from './output.js';
export { toYaml, toYamlStream, type JsonValue } from './yaml.js';
export { LABEL, ANNOTATION } from './meta.js';
export {
  placeObjects,
  shareOf,
  shareOutput,
  labelledForCluster,
  environmentCluster,
  unmappedClusters,
  IMPLICIT_CLUSTER,
  type Placement,
  type PlacementInput,
  type ClusterShare,
  type UnmappedCluster,
} from './placement.js';
export type {
  CompileInput,
  CompileOptions,
  CompileOutput,
  CompileStats,
  CompiledObject,
  CompiledAgentManifest,
  CompiledManifestEntry,
  DataPlaneOptions,
  KubeObject,
  KubeObjectMeta,
} from './types.js';
