/**
 * Compiled objects point at their Joch manifest as `{file, doc, path}`; the
 * cluster stage wants file:line:column. Locating means a positioned YAML
 * parse of the file, which for a 1,000-agent fleet costs seconds, so
 * positions are kept between cycles and a file is parsed again only when its
 * content hash changed.
 */
import type { Origin } from '../cluster/index.js';
import type { CompiledObject } from '../compile/index.js';
import type { Location, SourcePointer } from '../diagnostics/index.js';
import { Locator, type ManifestSet } from '../manifests/index.js';
import type { Resource } from '../model/resource.js';

interface FilePositions {
  readonly hash: string;
  readonly locator: Locator;
  readonly memo: Map<string, Location>;
}

export class OriginResolver {
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
}
