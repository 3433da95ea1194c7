/** Shared by the compile tests: load a fleet in-process and make policy bundles by hand. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CompileInput, CompiledObject, KubeObject } from '../../src/compile/index.js';
import type { PolicyBundle } from '../../src/model/policy-bundle.js';
import { runValidate } from '../../src/pipeline/index.js';
import { ALL_CHECKS } from '../../src/schema/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const FLEET = path.join(ROOT, 'examples/fleet');

/** Validates a folder (schema, identity, references, secrets; no policy) and returns the compile input. */
export async function loadFleet(dir: string, cwd = ROOT): Promise<CompileInput & { errors: number }> {
  const run = await runValidate({ paths: [dir], cwd, checks: new Set(ALL_CHECKS) });
  return {
    errors: run.summary.errors,
    resources: run.set.resources,
    graphs: run.graphs,
    references: run.validation.references,
    bundles: new Map(),
    revision: run.snapshot.revision,
    commitTime: run.snapshot.commitTime,
    displayPrefix: run.snapshot.displayPrefix,
    workloads: run.project.config.config.workloads,
  };
}

/** A bundle for an agent that requires approval for one tool and carries one runtime rule. */
export function handBundle(agentKey: string, approvalTool?: { name: string; namespace: string }): PolicyBundle {
  const policy = { name: 'handmade', namespace: 'platform', version: 'abc123def456', source: 'attached' as const };
  return {
    agent: agentKey,
    policies: [{ name: 'joch-baseline', version: '000000000000', source: 'baseline' }, policy],
    decisions: approvalTool
      ? [
          {
            capability: { kind: 'Tool', ...approvalTool },
            outcome: 'require-approval',
            decidedBy: { policy, rule: 'writes' },
            approval: { approvers: ['team:leads'], timeoutMinutes: 30, onTimeout: 'deny' },
          },
        ]
      : [],
    runtimeRules: [{ policy, rule: 'cap', when: { 'cost.runUsd': '>10' }, outcome: 'deny', reason: 'cap' }],
    hash: `sha256:${agentKey.length.toString(16).padStart(64, '0')}`,
  };
}

/** Bundles for every agent of the input. */
export function withBundles<T extends CompileInput>(input: T): T {
  return { ...input, bundles: new Map(input.graphs.map((g) => [g.agent.key, handBundle(g.agent.key)])) };
}

export function find(objects: readonly CompiledObject[], apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
  const hit = objects.find(
    (o) => o.object.apiVersion === apiVersion && o.object.kind === kind && o.object.metadata.name === name && (namespace === undefined || o.object.metadata.namespace === namespace),
  );
  if (!hit) throw new Error(`no ${apiVersion} ${kind} ${namespace ?? ''}/${name} in the output`);
  return hit.object;
}

export function countByKind(objects: readonly CompiledObject[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of objects) {
    const k = `${o.object.apiVersion} ${o.object.kind}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A copy of a fleet in a temp folder, with optional edits: relative path to new text (or a function of the old). */
export function copyFleet(from: string, edits: Record<string, string | ((old: string) => string)> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'joch-compile-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(from, dir, { recursive: true });
  for (const [rel, edit] of Object.entries(edits)) {
    const file = path.join(dir, rel);
    const old = (() => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    })();
    writeFileSync(file, typeof edit === 'string' ? edit : edit(old));
  }
  return dir;
}

/** Reads a nested field; undefined when any step is missing. */
export function get(obj: unknown, ...path: (string | number)[]): unknown {
  let node = obj;
  for (const seg of path) node = (node as Record<string | number, unknown> | undefined)?.[seg];
  return node;
}
