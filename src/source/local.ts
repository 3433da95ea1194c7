/**
 * A local folder as a source: walks the given paths under a root, honours the
 * ignore file, never follows a symbolic link out of the root, and refuses
 * files over the size limit without reading them.
 */
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { finding, type Finding } from '../diagnostics/index.js';
import type { Snapshot, SourceFile } from './types.js';

export interface LocalSourceOptions {
  /** Absolute root folder: paths in the snapshot are relative to it. */
  readonly root: string;
  /** Absolute files or folders to read; defaults to the root. */
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
}

export interface LocalSourceResult {
  readonly snapshot: Snapshot;
  readonly findings: Finding[];
}

export const IGNORE_FILE = '.jochignore';
const YAML_FILE = /\.ya?ml$/i;
/** Folders that never hold manifests and can be huge. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
const READ_CONCURRENCY = 64;

export async function readLocalSource(options: LocalSourceOptions): Promise<LocalSourceResult> {
  const root = path.resolve(options.root);
  const realRoot = await realpath(root);
  const displayPrefix = toPosix(path.relative(options.cwd ?? process.cwd(), root));
  const display = (rel: string) => (displayPrefix ? `${displayPrefix}/${rel}` : rel);
  const findings: Finding[] = [];
  const rules = await loadIgnoreRules(root, options.ignoreFile ?? IGNORE_FILE, options.exclude ?? []);

  const candidates = new Map<string, number>(); // root-relative path -> size
  const walker = new Walker(root, realRoot, rules, options.maxFileBytes, display, findings, candidates);
  for (const start of options.include?.length ? options.include : [root]) {
    await walker.visit(path.resolve(start), true);
  }
  for (const skipped of options.skip ?? []) candidates.delete(toPosix(path.relative(root, skipped)));

  const paths = [...candidates.keys()].sort();
  const files: SourceFile[] = new Array<SourceFile>(paths.length);
  let next = 0;
  const readNext = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      const rel = paths[i] as string;
      try {
        files[i] = { path: rel, bytes: await readFile(path.join(root, rel)) };
      } catch (e) {
        findings.push(finding('JOCH110', `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, at(display(rel))));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, paths.length) }, readNext));
  return { snapshot: { root, displayPrefix, files: files.filter(Boolean) }, findings };
}

function at(file: string) {
  return { file, line: 1, column: 1 };
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

async function loadIgnoreRules(root: string, ignoreFile: string, exclude: readonly string[]): Promise<Ignore> {
  const rules = ignore();
  try {
    rules.add(await readFile(path.join(root, ignoreFile), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  rules.add([...exclude]);
  return rules;
}

class Walker {
  private readonly seenDirs = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly realRoot: string,
    private readonly rules: Ignore,
    private readonly maxFileBytes: number,
    private readonly display: (rel: string) => string,
    private readonly findings: Finding[],
    private readonly out: Map<string, number>,
  ) {}

  /** `explicit`: named on the command line, so read even without a YAML extension and even if ignored. */
  async visit(abs: string, explicit: boolean): Promise<void> {
    const rel = toPosix(path.relative(this.root, abs));
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      this.findings.push(finding('JOCH002', `${abs} is outside the project root ${this.root}`, at(abs)));
      return;
    }
    let info;
    try {
      info = await lstat(abs);
    } catch {
      this.findings.push(finding('JOCH002', `no such file or folder: ${this.display(rel) || '.'}`, at(this.display(rel) || '.')));
      return;
    }
    if (info.isSymbolicLink()) {
      info = await this.resolveLink(abs, rel);
      if (!info) return;
    }
    if (info.isDirectory()) return this.visitDir(abs, rel);
    if (!info.isFile()) return;
    if (!explicit && (!YAML_FILE.test(rel) || this.ignored(rel, false))) return;
    if (info.size > this.maxFileBytes) {
      this.findings.push(
        finding('JOCH106', `the file is ${info.size} bytes; the limit is ${this.maxFileBytes} (limits.maxFileBytes in joch.yaml)`, at(this.display(rel))),
      );
      return;
    }
    this.out.set(rel, info.size);
  }

  private ignored(rel: string, dir: boolean): boolean {
    return rel !== '' && this.rules.ignores(dir ? `${rel}/` : rel);
  }

  /** A link is followed only when its target stays inside the root. */
  private async resolveLink(abs: string, rel: string) {
    let target: string;
    try {
      target = await realpath(abs);
    } catch {
      this.findings.push(finding('JOCH107', 'the symbolic link is broken; it was not followed', at(this.display(rel))));
      return undefined;
    }
    const inside = path.relative(this.realRoot, target);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      this.findings.push(
        finding('JOCH107', 'the symbolic link points outside the repository root; it was not followed', at(this.display(rel)), {
          hint: 'copy the target into the repository, or list the link in .jochignore',
        }),
      );
      return undefined;
    }
    return stat(abs);
  }

  private async visitDir(abs: string, rel: string): Promise<void> {
    const real = await realpath(abs);
    if (this.seenDirs.has(real)) return; // a link cycle, or a folder reached twice
    this.seenDirs.add(real);
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (SKIPPED_DIRS.has(e.name) || this.ignored(childRel, true)) continue;
        await this.visitDir(path.join(abs, e.name), childRel);
      } else if (e.isFile()) {
        if (!YAML_FILE.test(e.name) || this.ignored(childRel, false)) continue;
        await this.visit(path.join(abs, e.name), false);
      } else if (e.isSymbolicLink()) {
        if (this.ignored(childRel, false)) continue;
        await this.visit(path.join(abs, e.name), false);
      }
    }
  }
}
