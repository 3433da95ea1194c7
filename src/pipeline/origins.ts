/**
 * Compiled objects point at their Joch manifest as `{file, doc, path}`; the
 * cluster stage wants file:line:column. Locating means a positioned YAML
 * parse of the file, which for a 1,000-agent fleet costs seconds, so
 * positions are kept between cycles and a file is parsed again only when its
 * content hash changed.
 */
import { createHash } from 'node:crypto';
import type { DesiredObject, ObjectRef, Origin } from '../cluster/index.js';
import type { CompiledObject, KubeObject } from '../compile/index.js';
import type { Location, SourcePointer } from '../diagnostics/index.js';
import { Locator, type ManifestSet } from '../manifests/index.js';
import type { Resource } from '../model/resource.js';

interface FilePositions {
  readonly hash: string;
  readonly locator: Locator;
  readonly memo: Map<string, Location>;
}

/**
 * The compiled objects as the cluster side sees them, with what ties each
 * back to the Joch resource it came from.
 */
export interface CompiledView {
  /** The cluster stage's input: each object with its origin at file:line:column. */
  readonly desired: readonly DesiredObject[];
  /** Object `apiVersion/kind/namespace/name` -> key of the Joch resource that produced it. */
  readonly owners: ReadonlyMap<string, string>;
  /** Joch resource key -> sha256 of its compiled objects: its status's compiledHash. */
  readonly hashes: ReadonlyMap<string, string>;
  /** Joch resource key -> its custom resource, whose status subresource reports it. */
  readonly customResources: ReadonlyMap<string, ObjectRef>;
}

export function objectRefKey(r: Pick<ObjectRef, 'apiVersion' | 'kind' | 'namespace' | 'name'>): string {
  return `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

export class OriginResolver {
  /** Hash of each compiled object; the compiler reuses unchanged objects, so this is kept by identity. */
  private readonly objectHashes = new WeakMap<object, string>();
  private files = new Map<string, FilePositions>();
  private resources = new Map<string, Resource>();
  private set: ManifestSet | undefined;
  private hashes = new Map<string, string>();

  /** Prepares for the objects of `set`: forgets files that changed or left. */
  use(set: ManifestSet): void {
    if (this.set === set) return;
    this.set = set;
    this.hashes = new Map(set.files.map((f) => [f.path, f.hash]));
    for (const [file, entry] of this.files) if (this.hashes.get(file) !== entry.hash) this.files.delete(file);
    this.resources = new Map(set.resources.map((r) => [`${r.file}#${r.doc}`, r]));
  }

  /** The Joch resource a pointer's document holds. */
  resourceAt(pointer: Pick<SourcePointer, 'file' | 'doc'>): Resource | undefined {
    return this.resources.get(`${pointer.file}#${pointer.doc}`);
  }

  locate(pointer: SourcePointer): Origin {
    const set = this.set;
    if (!set) throw new Error('OriginResolver.use(set) first');
    let entry = this.files.get(pointer.file);
    if (!entry) {
      const text = set.texts.get(pointer.file);
      const hash = this.hashes.get(pointer.file) ?? '';
      entry = { hash, locator: new Locator((f) => (f === pointer.file ? text : undefined)), memo: new Map() };
      this.files.set(pointer.file, entry);
    }
    const key = `${pointer.doc}\u0000${pointer.part ?? 'value'}\u0000${pointer.path.join('\u0000')}`;
    let at = entry.memo.get(key);
    if (!at) entry.memo.set(key, (at = entry.locator.locate(pointer)));
    const r = this.resourceAt(pointer);
    return {
      file: at.file,
      line: at.line,
      column: at.column,
      ...(r ? { resource: r.namespace === undefined ? { kind: r.kind, name: r.name } : { kind: r.kind, namespace: r.namespace, name: r.name } } : {}),
    };
  }

  /** The cluster stage's input: each object with its origin resolved. */
  desired(objects: readonly CompiledObject[]): { object: CompiledObject['object']; origin?: Origin }[] {
    return objects.map((o) => (o.origin ? { object: o.object, origin: this.locate(o.origin) } : { object: o.object }));
  }

  /** Origins, owners, per-resource hashes and custom resources of the objects of `set`, in one pass. */
  view(set: ManifestSet, objects: readonly CompiledObject[]): CompiledView {
    this.use(set);
    const hashes = new Map<string, string[]>();
    const customResources = new Map<string, ObjectRef>();
    const owners = new Map<string, string>();
    for (const o of objects) {
      const r = o.origin ? this.resourceAt(o.origin) : undefined;
      if (!r) continue;
      const ref: ObjectRef = {
        apiVersion: o.object.apiVersion,
        kind: o.object.kind,
        ...(o.object.metadata.namespace ? { namespace: o.object.metadata.namespace } : {}),
        name: o.object.metadata.name,
      };
      owners.set(objectRefKey(ref), r.key);
      (hashes.get(r.key) ?? hashes.set(r.key, []).get(r.key))?.push(this.hashObject(o.object));
      // The custom resource of a record is compiled from the whole document (an empty path).
      if (o.origin?.path.length === 0 && /(^|\.)joch\.dev\//.test(o.object.apiVersion)) customResources.set(r.key, ref);
    }
    const digests = new Map([...hashes].map(([k, list]) => [k, `sha256:${createHash('sha256').update(list.join('\n')).digest('hex')}`]));
    return { desired: this.desired(objects), owners, hashes: digests, customResources };
  }

  private hashObject(object: KubeObject): string {
    let h = this.objectHashes.get(object);
    if (h === undefined) this.objectHashes.set(object, (h = createHash('sha256').update(JSON.stringify(object)).digest('hex')));
    return h;
  }
}
