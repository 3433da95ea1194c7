/**
 * Throwaway repositories for the validator's tests: a temporary folder per
 * test, removed when the test ends, and in-process runs of `joch validate`
 * against it.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { Diagnostic } from '../../src/diagnostics/index.js';
import { runValidate, type ValidateInput, type ValidationRun } from '../../src/pipeline/index.js';

export interface TmpRepo {
  /** Absolute, symlink-free path of the repository folder. */
  readonly root: string;
  /** Absolute path of a file in the repository. */
  path(rel: string): string;
  write(rel: string, content: string | Uint8Array): string;
  link(rel: string, target: string): void;
}

/**
 * A temporary repository holding `files`. It has a `.git` folder so that the
 * search for joch.yaml stops at its root and never picks up a stray file in
 * the system's temporary folder.
 */
/** An empty folder for this test, removed when the test finishes (pass or fail). */
export function tmpDir(prefix = 'joch-test-'): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), prefix)));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tmpRepo(files: Readonly<Record<string, string | Uint8Array>> = {}): TmpRepo {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'joch-test-')));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, '.git'));
  const repo: TmpRepo = {
    root,
    path: (rel) => path.join(root, rel),
    write(rel, content) {
      const abs = path.join(root, rel);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
      return abs;
    },
    link(rel, target) {
      const abs = path.join(root, rel);
      mkdirSync(path.dirname(abs), { recursive: true });
      symlinkSync(target, abs);
    },
  };
  for (const [rel, content] of Object.entries(files)) repo.write(rel, content);
  return repo;
}

/** Removes the common indentation of a template literal and its first newline, so YAML reads naturally in tests. */
export function yml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').replace(/\n[ ]*$/, '\n').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Runs the validate pipeline in process (all checks unless given). */
export async function validate(repo: TmpRepo | string, input: Partial<ValidateInput> = {}): Promise<ValidationRun> {
  const cwd = typeof repo === 'string' ? repo : repo.root;
  return runValidate({ paths: [], cwd, ...input });
}

/** `CODE file:line:column`, the way the tests compare diagnostics. */
export function at(d: Pick<Diagnostic, 'code' | 'file' | 'line' | 'column'>): string {
  return `${d.code} ${d.file}:${d.line}:${d.column}`;
}

/** Every diagnostic as `CODE file:line:column`, in output order. */
export function places(diags: readonly Diagnostic[], filter: (d: Diagnostic) => boolean = () => true): string[] {
  return diags.filter(filter).map(at);
}

/** The one diagnostic with this code; fails when there is not exactly one. */
export function only(diags: readonly Diagnostic[], code: string): Diagnostic {
  const hits = diags.filter((d) => d.code === code);
  if (hits.length !== 1) {
    throw new Error(`expected one ${code}, got ${hits.length}:\n${diags.map((d) => `  ${at(d)} ${d.message}`).join('\n')}`);
  }
  return hits[0] as Diagnostic;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly isTTY?: boolean;
  readonly env?: Record<string, string | undefined>;
}

/** `joch ...argv` in process, with its own streams and working folder. */
export async function cli(argv: string[], cwd: string, options: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    cwd,
    // The run's cache stays in the test cache folder (vitest.config.ts), whatever environment the test gives.
    env: { JOCH_CACHE_DIR: process.env.JOCH_CACHE_DIR, ...options.env },
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    isTTY: options.isTTY ?? false,
  });
  return { code, stdout, stderr };
}

export interface JsonDiagnostic {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  readonly path?: string;
  readonly hint?: string;
  readonly resource?: { kind: string; namespace?: string; name: string };
  readonly related?: { file: string; line: number; column: number; message: string }[];
}

export interface JsonReport {
  readonly diagnostics: JsonDiagnostic[];
  readonly summary: { errors: number; warnings: number; infos: number; files: number; resources: number };
}
