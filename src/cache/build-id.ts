/**
 * What makes a cached entry trustworthy: the package version, the schemas and
 * the code that produced it. Any change to one of them is a new id, so an
 * entry is never read by another version of the tool, nor by a checkout whose
 * sources changed since the entry was written.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folders whose code produces cached entries (load, checks, policy, compile, and what they share). */
const PRODUCER_FOLDERS = ['cache', 'compile', 'config', 'diagnostics', 'manifests', 'model', 'pipeline', 'policy', 'schema'];
const CODE_FILE = /\.(?:[cm]?js|ts|json)$/;

let memo: string | undefined;

/** sha256 over the version, `schemas/` and the producing code; computed once per process. */
export function buildId(): string {
  memo ??= computeBuildId(fileURLToPath(new URL('../../', import.meta.url)), fileURLToPath(import.meta.url));
  return memo;
}

/**
 * `packageRoot` holds package.json and schemas/. `self` is this module's
 * file: beside the stage folders in src/ and dist/, or inside a bundle (the
 * GitHub Action's, the command's dist/bundle), whose files are then the code.
 */
export function computeBuildId(packageRoot: string, self: string): string {
  const h = createHash('sha256');
  h.update(`version\0${readVersion(packageRoot)}\0`);
  hashTree(h, path.join(packageRoot, 'schemas'), 'schemas');
  const codeRoot = path.dirname(path.dirname(self));
  // Bundled, this module is part of a file of another name (dist/bundle sits beside the stage folders of dist/).
  const bundled = !/^build-id\.[cm]?[jt]s$/.test(path.basename(self));
  if (!bundled && existsSync(path.join(codeRoot, 'manifests'))) {
    for (const folder of PRODUCER_FOLDERS) hashTree(h, path.join(codeRoot, folder), folder);
  } else {
    h.update(`bundle\0${storedDigest(path.dirname(self)) ?? bundleCodeDigest(path.dirname(self))}\0`);
  }
  return h.digest('hex');
}

function readVersion(packageRoot: string): string {
  try {
    return String((JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
}

/** Written by the build of a bundle: bundleCodeDigest of its folder, so a start need not read and hash megabytes of code. */
export const CODE_DIGEST_FILE = 'code-digest.txt';

/**
 * sha256 over the code files of a bundle's folder, name and bytes in sorted
 * order: a bundle split in chunks has its code in every file, not only the
 * one holding this module.
 */
export function bundleCodeDigest(dir: string): string {
  const h = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    if (CODE_FILE.test(name) && !name.endsWith('.d.ts')) h.update(`${name}\0`).update(readFileSync(path.join(dir, name))).update('\0');
  }
  return h.digest('hex');
}

function storedDigest(dir: string): string | undefined {
  try {
    const text = readFileSync(path.join(dir, CODE_DIGEST_FILE), 'utf8').trim();
    return /^[0-9a-f]{64}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Every code file under `dir`, in sorted order, name and bytes. */
function hashTree(h: ReturnType<typeof createHash>, dir: string, label: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    h.update(`missing\0${label}\0`);
    return;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    const rel = `${label}/${name}`;
    if (statSync(full).isDirectory()) hashTree(h, full, rel);
    else if (CODE_FILE.test(name) && !name.endsWith('.d.ts')) h.update(`${rel}\0`).update(readFileSync(full)).update('\0');
  }
}
