/**
 * The compile result as files: one YAML file per object under
 * `objects/<namespace or _cluster>/<kind>.<group>/<name>.yaml` (CRDs under
 * `crds/`), or all objects in `objects.yaml`; each agent's manifest under
 * `manifests/<namespace>/<agent>.yaml`. Writing is incremental: an index of
 * content hashes skips unchanged files and removes files this tool wrote
 * before that are no longer produced (never anything else).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from './hash.js';
import type { CompileOutput, CompiledObject, KubeObject } from './types.js';
import { toYaml, type JsonValue } from './yaml.js';

export interface OutputFile {
  /** Relative to the output folder, with forward slashes. */
  readonly path: string;
  readonly content: string;
}

export type CrdSelection = 'include' | 'only' | 'skip';

export interface RenderOptions {
  readonly singleFile?: boolean | undefined;
  readonly crds?: CrdSelection | undefined;
}

export const INDEX_FILE = '.joch-compile.json';

const isCrd = (o: KubeObject) => o.kind === 'CustomResourceDefinition';

export function selectObjects(objects: readonly CompiledObject[], crds: CrdSelection = 'include'): CompiledObject[] {
  if (crds === 'include') return [...objects];
  return objects.filter((o) => isCrd(o.object) === (crds === 'only'));
}

function kindFolder(o: KubeObject): string {
  const slash = o.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : o.apiVersion.slice(0, slash);
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}`;
}

export function objectPath(o: KubeObject): string {
  if (isCrd(o)) return `crds/${o.metadata.name}.yaml`;
  return `objects/${o.metadata.namespace ?? '_cluster'}/${kindFolder(o)}/${o.metadata.name}.yaml`;
}

/**
 * The YAML of an object, remembered per object: a compiler that reuses a unit
 * reuses its objects, so an incremental run renders only what it rebuilt.
 */
const rendered = new WeakMap<object, string>();

function yamlOf(value: object): string {
  let text = rendered.get(value);
  if (text === undefined) {
    text = toYaml(value as JsonValue);
    rendered.set(value, text);
  }
  return text;
}

/** A multi-document YAML stream of the objects, as `kubectl apply -f -` reads it. */
export function renderStream(objects: readonly CompiledObject[]): string {
  return objects.map((o) => `---\n${yamlOf(o.object)}`).join('');
}

export function renderFiles(out: CompileOutput, options: RenderOptions = {}): OutputFile[] {
  const objects = selectObjects(out.objects, options.crds);
  const files: OutputFile[] = options.singleFile
    ? objects.length
      ? [{ path: 'objects.yaml', content: renderStream(objects) }]
      : []
    : objects.map((o) => ({ path: objectPath(o.object), content: yamlOf(o.object) }));
  if (options.crds !== 'only') {
    for (const m of out.manifests) {
      files.push({ path: `manifests/${m.manifest.metadata.namespace}/${m.manifest.metadata.name}.yaml`, content: yamlOf(m.manifest) });
    }
  }
  return files;
}

export interface WriteStats {
  readonly written: number;
  readonly unchanged: number;
  readonly removed: number;
}

function readIndex(dir: string): Record<string, string> {
  try {
    const parsed = JSON.parse(readFileSync(path.join(dir, INDEX_FILE), 'utf8')) as { files?: Record<string, string> };
    return parsed.files ?? {};
  } catch {
    return {};
  }
}

/**
 * Writes the files under `dir`. Unchanged files (by the index of the last
 * write) are left alone; files the last write made that are no longer
 * produced are removed; nothing else in `dir` is touched. Synchronous on
 * purpose: on this project's machines plain sequential writes beat a pool of
 * async writes (0.8 s against 1.1-1.9 s for 20,000 files on disk, 3x on tmpfs).
 */
export function writeFiles(dir: string, files: readonly OutputFile[]): WriteStats {
  const before = readIndex(dir);
  const after: Record<string, string> = {};
  const todo: OutputFile[] = [];
  for (const f of files) {
    const hash = sha256(f.content);
    after[f.path] = hash;
    if (before[f.path] !== hash || !existsSync(path.join(dir, f.path))) todo.push(f);
  }
  for (const folder of new Set(todo.map((f) => path.dirname(path.join(dir, f.path))))) mkdirSync(folder, { recursive: true });
  for (const f of todo) writeFileSync(path.join(dir, f.path), f.content);
  const stale = Object.keys(before).filter((old) => after[old] === undefined && !old.split('/').includes('..') && !path.isAbsolute(old));
  for (const old of stale) rmSync(path.join(dir, old), { force: true });
  mkdirSync(dir, { recursive: true });
  const sorted = Object.fromEntries(Object.keys(after).sort().map((k) => [k, after[k]]));
  writeFileSync(path.join(dir, INDEX_FILE), `${JSON.stringify({ version: 1, files: sorted }, null, 1)}\n`);
  return { written: todo.length, unchanged: files.length - todo.length, removed: stale.length };
}
