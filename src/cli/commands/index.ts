/**
 * Every command, in the order `joch --help` lists them. A command is added by
 * writing its definition module here and its implementation beside main.ts.
 */
import { defineAgbom } from './agbom.js';
import { defineCache } from './cache.js';
import { defineApply, defineDiff } from './cluster.js';
import { defineCompile } from './compile.js';
import { defineExplain } from './explain.js';
import { defineInit } from './init.js';
import { defineAction, defineCompletion, defineVersion } from './misc.js';
import { definePolicy } from './policy.js';
import { definePromote, defineRollback } from './promote.js';
import { defineSchemas } from './schemas.js';
import { defineDescribe, defineGet } from './resources.js';
import { defineSync } from './sync.js';
import type { DefineCommand } from './types.js';
import { defineValidate } from './validate.js';

export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly define: DefineCommand;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', summary: 'Scaffold a repository: joch.yaml, the folder layout, one working agent, editor settings, a workflow', define: defineInit },
  { name: 'validate', summary: 'Validate manifests: schemas, identity, references, secrets and policy', define: defineValidate },
  { name: 'get', summary: 'List resources of a kind, from the repository or the cluster', define: defineGet },
  { name: 'describe', summary: 'Show one resource resolved: its references both ways and, for an agent, its capabilities', define: defineDescribe },
  { name: 'explain', summary: "Explain an agent's effective capabilities and the rule that allowed, required approval for or denied each", define: defineExplain },
  { name: 'compile', summary: 'Validate, govern and compile to Kubernetes objects, CompiledAgentManifests and AgBOMs', define: defineCompile },
  { name: 'diff', summary: 'Show what applying the repository would change in the cluster', define: defineDiff },
  { name: 'apply', summary: 'Apply the compiled repository to the cluster: server-side apply, pruning, health, status', define: defineApply },
  { name: 'sync', summary: 'Continuously reconcile a Git repository: validate, govern, compile, apply, AgBOM, status commits', define: defineSync },
  { name: 'promote', summary: "Write the Git change that promotes an agent's version to another Environment, if its release gates pass", define: definePromote },
  { name: 'rollback', summary: 'Write the Git change that restores a prior revision of a Deployment (its pinned version, else its agent too)', define: defineRollback },
  { name: 'agbom', summary: 'Agent Bills of Materials: generate (CycloneDX, SPDX, SWID), list risks, diff, verify signatures', define: defineAgbom },
  { name: 'policy', summary: 'Policy tools: run table-driven policy tests', define: definePolicy },
  { name: 'schemas', summary: "Copy joch's JSON Schemas into a repository and map its YAML files to them for editors (VS Code yaml.schemas)", define: defineSchemas },
  { name: 'cache', summary: 'The cache of checked files and compiled units: print its folder, its size, or clear it', define: defineCache },
  { name: 'version', summary: 'Print the client version and commit, and the server version given a cluster', define: defineVersion },
  { name: 'completion', summary: 'Print a shell completion script for bash, zsh or fish', define: defineCompletion },
  { name: 'action', summary: 'Run the GitHub Action: review a pull request (reads INPUT_* and GITHUB_* variables)', define: defineAction },
];
