/**
 * A local folder as a source: walks the given paths under a root, honours the
 * ignore file, never follows a symbolic link out of the root, and refuses
 * files over the size limit without reading them.
 *
 * The walk and the reads are synchronous on purpose: for thousands of small
 * files, the promise API's hand-off to the thread pool costs several times
 * the read itself (measured: 9,100 files read in 66 ms synchronously, 408 ms
 * with 64 reads in flight).
 */
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { finding, type Finding } from '../diagnostics/index.js';
import { displayPath, IGNORE_FILE, YAML_FILE, type Snapshot, type SourceFile } from './types.js';

export interface LocalSourceOptions {
  /** Absolute root folder: paths in the snapshot are relative to it. */
  readonly root: string;
  /** Absolute files or folders to read; without it, the root. */
  readonly include?: readonly string[] | undefined;
  /** gitignore-style patterns from joch.yaml, added to those of the ignore file. */
  readonly exclude?: readonly string[] | undefined;
  /** Name of the ignore file at the root. */
  readonly ignoreFile?: string | undefined;
  readonly maxFileBytes: number;
  /** Absolute files never read as manifests (the project configuration). */
  readonly skip?: readonly string[] | undefined;
  /** Folder that displayed paths are relative to (default: the current directory). */
  readonly cwd?: string | undefined;
  /**
   * The include entries were named on the command line: a file among them is
   * read whatever its extension. Entries from a configuration file are not
   * trusted that far: only YAML files are read through them.
   */
  readonly namedByUser?: boolean | undefined;
}

export interface LocalSourceResult {
  readonly snapshot: Snapshot;
  readonly findings: Finding[];
  /** What the walk read besides the files (for the stat index of an incremental run). */
  readonly walk?: LocalWalk | undefined;
}

/** Folders that never hold manifests and can be huge. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

export async function readLocalSource(options: LocalSourceOptions): Promise<LocalSourceResult> {
  return readLocalSourceSync(options);
}

/** The files a local source would read, without reading them: the walk of `readLocalSourceSync`. */
export interface LocalFileList {
  readonly root: string;
  readonly displayPrefix: string;
  /** Root-relative paths, sorted. */
  readonly paths: readonly string[];
  /** What the walk found wrong (links out of the root, unreadable folders). */
  readonly findings: Finding[];
  /** Root-relative folders whose entries were read: when none of them changed, neither did the list. */
  readonly folders: readonly string[];
  /** The walk met a symbolic link: the folders alone do not tell whether the list changed. */
  readonly links: boolean;
  /** The ignore file's text ('' without one): it decides the list too. */
  readonly ignoreText: string;
}

/** What the walk and the reads saw besides the files: `stats[i]` is of `snapshot.files[i]`, taken as it was read. */
export type LocalWalk = Pick<LocalFileList, 'folders' | 'links' | 'ignoreText'> & { readonly stats?: readonly Stats[] | undefined };

export function listLocalFiles(options: LocalSourceOptions): LocalFileList {
  const root = path.resolve(options.root);
  const realRoot = realpathSync(root);
  const displayPrefix = toPosix(path.relative(options.cwd ?? process.cwd(), root));
  const display = (rel: string) => displayPath({ displayPrefix }, rel);
  const findings: Finding[] = [];
  const ignoreText = readIgnoreFile(root, options.ignoreFile ?? IGNORE_FILE);
  const exclude = options.exclude ?? [];
  // No pattern at all (the common case): each path's check would still cost a few microseconds.
  const rules = hasPatterns(ignoreText) || exclude.length > 0 ? ignore().add(ignoreText).add([...exclude]) : undefined;

  const candidates = new Set<string>(); // root-relative paths
  const walker = new Walker(root, realRoot, rules, display, findings, candidates);
  for (const start of options.include ?? [root]) {
    walker.start(path.resolve(start), options.namedByUser ?? false);
  }
  for (const skipped of options.skip ?? []) candidates.delete(toPosix(path.relative(root, skipped)));
  return { root, displayPrefix, paths: [...candidates].sort(), findings, folders: walker.folders, links: walker.sawLink, ignoreText };
}

export function readLocalSourceSync(options: LocalSourceOptions): LocalSourceResult {
  const { root, displayPrefix, paths, findings, folders, links, ignoreText } = listLocalFiles(options);
  const display = (rel: string) => displayPath({ displayPrefix }, rel);

  const files: SourceFile[] = [];
  const stats: Stats[] = [];
  for (const rel of paths) {
    const read = readBounded(path.join(root, rel), options.maxFileBytes);
    if (read.ok) {
      files.push({ path: rel, bytes: read.bytes });
      stats.push(read.stat);
    } else if (read.size !== undefined) {
      findings.push(tooLargeFinding(read.size, options.maxFileBytes, at(display(rel))));
    } else {
      findings.push(finding('JOCH110', `cannot read the file: ${read.error}`, at(display(rel))));
    }
  }
  return { snapshot: { root, displayPrefix, files }, findings, walk: { folders, links, ignoreText, stats } };
}

/** JOCH106 for a file over joch.yaml's `limits.maxFileBytes`, wherever it was found (a folder, a Git revision). */
export function tooLargeFinding(size: number, limit: number, where: { file: string; line: number; column: number }): Finding {
  return finding('JOCH106', `the file is ${size} bytes; the limit is ${limit} (limits.maxFileBytes in joch.yaml)`, where);
}

/** `stat`: of the open file, taken before its bytes were read. */
export type BoundedRead = { ok: true; bytes: Uint8Array; stat: Stats } | { ok: false; size?: number; error?: string };

/** Reads a file unless it is over the limit, checking the size on the open descriptor. */
export function readBounded(file: string, limit: number): BoundedRead {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    const size = stat.size;
    if (size > limit) return { ok: false, size };
    const bytes = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { ok: true, bytes: off === size ? bytes : bytes.subarray(0, off), stat };
  } catch (e) {
    return { ok: false, error: (e as NodeJS.ErrnoException).code ?? String(e) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function at(file: string) {
  return { file, line: 1, column: 1 };
}

function outside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

function realPathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** The ignore file's text, '' when there is none. */
export function readIgnoreFile(root: string, ignoreFile: string = IGNORE_FILE): string {
  try {
    return readFileSync(path.join(root, ignoreFile), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return '';
  }
}

/** Whether an ignore file's text holds a pattern: a line that is neither blank nor a comment. */
function hasPatterns(text: string): boolean {
  return text.split(/\r?\n/).some((line) => line.trim() !== '' && !line.startsWith('#'));
}

class Walker {
  private readonly seenDirs = new Set<string>();
  /** Root-relative folders whose entries were read, in the order they were read. */
  readonly folders: string[] = [];
  /** Whether the walk met a symbolic link (a folder's listing then does not say all that was read). */
  sawLink = false;

  constructor(
    private readonly root: string,
    private readonly realRoot: string,
    private readonly rules: Ignore | undefined,
    private readonly display: (rel: string) => string,
    private readonly findings: Finding[],
    private readonly out: Set<string>,
  ) {}

  /**
   * An include entry. Its real path must stay inside the root, so a folder
   * reached through a linked parent folder is refused like a link is.
   */
  start(abs: string, namedByUser: boolean): void {
    const rel = toPosix(path.relative(this.root, abs));
    const real = realPathOrUndefined(abs);
    if (real !== undefined && !rel.startsWith('..') && outside(this.realRoot, real)) {
      const shown = this.display(rel) || '.';
      this.findings.push(finding('JOCH002', `${shown} leads outside the project root through a symbolic link; it was not read`, at(shown)));
      return;
    }
    if (!namedByUser && real !== undefined && !(YAML_FILE.test(rel) && YAML_FILE.test(real)) && statSync(real).isFile()) {
      const shown = this.display(rel);
      this.findings.push(finding('JOCH002', `${shown} is not a YAML file; only .yaml and .yml files are read from the configured paths`, at(shown)));
      return;
    }
    this.visit(abs, namedByUser);
  }

  /** `explicit`: named on the command line, so read even without a YAML extension. */
  visit(abs: string, explicit: boolean): void {
    const rel = toPosix(path.relative(this.root, abs));
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      this.findings.push(finding('JOCH002', `${abs} is outside the project root ${this.root}`, at(abs)));
      return;
    }
    let info: Stats | undefined;
    try {
      info = lstatSync(abs);
    } catch {
      this.findings.push(finding('JOCH002', `no such file or folder: ${this.display(rel) || '.'}`, at(this.display(rel) || '.')));
      return;
    }
    const link = info.isSymbolicLink();
    if (link) this.sawLink = true;
    if (link) {
      info = this.resolveLink(abs, rel, explicit);
      if (!info) return;
    }
    if (info.isDirectory()) return this.visitDir(abs, rel);
    if (!info.isFile()) return;
    if (!explicit && (!YAML_FILE.test(rel) || this.ignored(rel, false))) return;
    // A link named like YAML is read only if what it points at is YAML too: `a.yaml -> .env` is not.
    if (!explicit && link && !YAML_FILE.test(realPathOrUndefined(abs) ?? '')) return;
    this.out.add(rel);
  }

  private ignored(rel: string, dir: boolean): boolean {
    return rel !== '' && this.rules !== undefined && this.rules.ignores(dir ? `${rel}/` : rel);
  }

  /**
   * A link is followed only when its target stays inside the root. A link
   * that could not hold manifests (a broken link or a link to a file, under a
   * name that is not YAML) is left alone, as any other non-YAML file is.
   */
  private resolveLink(abs: string, rel: string, explicit: boolean): Stats | undefined {
    const mayHoldManifests = (target: Stats | undefined) => explicit || YAML_FILE.test(rel) || target?.isDirectory() === true;
    let target: string;
    try {
      target = realpathSync(abs);
    } catch {
      if (mayHoldManifests(undefined)) {
        this.findings.push(finding('JOCH107', 'the symbolic link is broken; it was not followed', at(this.display(rel))));
      }
      return undefined;
    }
    if (outside(this.realRoot, target)) {
      if (mayHoldManifests(statSync(target))) {
        this.findings.push(
          finding('JOCH107', 'the symbolic link points outside the repository root; it was not followed', at(this.display(rel)), {
            hint: 'copy the target into the repository, or list the link in .jochignore',
          }),
        );
      }
      return undefined;
    }
    return statSync(abs);
  }

  /**
   * A folder's entries in name order (so that when two paths reach one
   * folder, the same one always wins); undefined for a folder already seen (a
   * link cycle, or a folder reached twice) or one that cannot be read, which
   * is a finding like an unreadable file.
   */
  private readFolder(abs: string, rel: string): Dirent[] | undefined {
    try {
      const real = realpathSync(abs);
      if (this.seenDirs.has(real)) return undefined;
      this.seenDirs.add(real);
      this.folders.push(rel);
      return readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (e) {
      const shown = this.display(rel) || '.';
      this.findings.push(finding('JOCH110', `cannot read the folder: ${(e as NodeJS.ErrnoException).code ?? String(e)}; the files in it were not read`, at(shown)));
      return undefined;
    }
  }

  private visitDir(abs: string, rel: string): void {
    const entries = this.readFolder(abs, rel);
    if (!entries) return;
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (SKIPPED_DIRS.has(e.name) || this.ignored(childRel, true)) continue;
        this.visitDir(path.join(abs, e.name), childRel);
      } else if (e.isFile()) {
        if (YAML_FILE.test(e.name) && !this.ignored(childRel, false)) this.out.add(childRel);
      } else if (e.isSymbolicLink()) {
        this.sawLink = true;
        if (!this.ignored(childRel, false)) this.visit(path.join(abs, e.name), false);
      }
    }
  }
}
