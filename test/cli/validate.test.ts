/**
 * `joch validate` as a command: exit codes (0 no error, 1 errors, 2 usage or
 * internal failure), check selection, determinism, and the package's bin.
 */
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cli, tmpRepo, type JsonReport } from '../support/repo.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FLEET = 'examples/fleet';
const run = promisify(execFile);

describe('exit codes', () => {
  it('0 on a clean repository', async () => {
    const r = await cli(['validate', FLEET], ROOT);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nOK 0 errors, 0 warnings, \d+ notes? \(\d+ resources in \d+ files\)\n$/);
  });

  it('1 when there are errors, 0 when there are only warnings and notes', async () => {
    const repo = tmpRepo({ 'bad.yaml': 'kind: x: y\n' });
    expect((await cli(['validate'], repo.root)).code).toBe(1);
    const warned = tmpRepo({ 'job.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n' });
    const w = await cli(['validate'], warned.root);
    expect(w.stdout).toContain('job.yaml:1:13 warning JOCH204');
    expect(w.code).toBe(0);
  });

  it.each([
    ['an unknown flag', ['validate', FLEET, '--frobnicate'], /^joch validate: unknown option '--frobnicate'; see `joch validate --help`\n$/],
    ['a mistyped flag', ['validate', FLEET, '--chekcs', 'schema'], /unknown option '--chekcs' \(did you mean --checks\?\)/],
    ['an unknown format', ['validate', FLEET, '-o', 'xml'], /"xml" is not an output format; choose one of text, table, json, yaml, github, sarif/],
    ['an unknown format, spelled --format', ['validate', FLEET, '--format', 'xml'], /option '--format <format>' argument 'xml' is invalid/],
    ['-f given a format, as older releases took it', ['validate', '-f', 'json'], /no such file or folder: json \(-f names files now, as in kubectl; choose the output format with -o json\)/],
    ['an unknown check', ['validate', FLEET, '--checks', 'schema,spelling'], /--checks: unknown check spelling; the checks are schema, identity, references, secrets/],
    ['a path that does not exist', ['validate', 'examples/no-such-folder'], /no such file or folder: examples\/no-such-folder/],
    ['a configuration file that does not exist', ['validate', FLEET, '--config', 'nope.yaml'], /no such file or folder: nope\.yaml/],
    ['an unknown command', ['validat'], /^joch: unknown command 'validat' \(did you mean validate\?\)/],
  ])('2 on a usage error: %s, as one line pointing at the help', async (_name, argv, message) => {
    const r = await cli(argv, ROOT);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/see `joch( validate)? --help`\n$/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('2 without a command, 0 for --help and --version', async () => {
    expect((await cli([], ROOT)).code).toBe(2);
    const help = await cli(['validate', '--help'], ROOT);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: joch validate \[options\] \[paths\.\.\.\]/);
    const version = await cli(['--version'], ROOT);
    expect(version).toEqual({ code: 0, stdout: `${readPackageVersion()}\n`, stderr: '' });
  });
});

function readPackageVersion(): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

describe('checks', () => {
  const agentFile = `${FLEET}/support-platform/agents/support-triage.yaml`;

  it('--checks schema on one file lifted from the fleet reports no unresolved reference', async () => {
    const r = await cli(['validate', agentFile, '--checks', 'schema', '--format', 'json'], ROOT);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.diagnostics).toEqual([]);
    expect(report.summary).toEqual({ errors: 0, warnings: 0, infos: 0, files: 1, resources: 1 });
    expect(r.code).toBe(0);
  });

  it('the default runs every check: the same file alone has unresolved references', async () => {
    const r = await cli(['validate', agentFile, '--format', 'json'], ROOT);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    const unresolved = report.diagnostics.filter((d) => d.code === 'JOCH501');
    // The adapter reference, wherever the file has it.
    const lines = readFileSync(path.join(ROOT, agentFile), 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes('name: openai-agents-sdk')) + 1;
    const column = (lines[line - 1] ?? '').indexOf('openai-agents-sdk') + 1;
    expect(line).toBeGreaterThan(0);
    expect(unresolved.map((d) => `${d.file}:${d.line}:${d.column} ${d.message}`)).toContain(
      `${agentFile}:${line}:${column} FrameworkAdapter "openai-agents-sdk" not found`,
    );
    expect(unresolved.map((d) => d.message)).toContain('Tool "zendesk.search" not found in namespace support-platform');
    // The references check alone gives exactly those findings.
    const only = JSON.parse((await cli(['validate', agentFile, '--format', 'json', '--checks', 'references'], ROOT)).stdout) as JsonReport;
    expect(only.diagnostics.map((d) => d.code)).toEqual(unresolved.map(() => 'JOCH501'));
  });
});

describe('output', () => {
  it('--quiet hides notes in the text output but still counts them', async () => {
    const loud = await cli(['validate', FLEET], ROOT);
    const quiet = await cli(['validate', FLEET, '--quiet'], ROOT);
    const notes = Number(/(\d+) notes? \(/.exec(loud.stdout)?.[1]);
    expect(notes).toBeGreaterThan(0);
    expect(loud.stdout.match(/ info JOCH\d+ /g)).toHaveLength(notes);
    expect(loud.stdout).toContain('info JOCH401 "zendesk.create_ticket"');
    expect(quiet.stdout).not.toMatch(/ info JOCH/);
    expect(quiet.stdout).toBe(loud.stdout.slice(loud.stdout.lastIndexOf('\nOK ') + 1));
    // The JSON output is for machines: it keeps them.
    const json = JSON.parse((await cli(['validate', FLEET, '--quiet', '--format', 'json'], ROOT)).stdout) as JsonReport;
    expect(json.diagnostics.filter((d) => d.severity === 'info')).toHaveLength(notes);
  });

  it('--timings writes to stderr and leaves stdout machine-readable', async () => {
    const r = await cli(['validate', FLEET, '--format', 'json', '--timings'], ROOT);
    expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
    expect(r.stderr).toMatch(/^timings: source \d+ ms, load \d+ ms, validate \d+ ms/);
  });

  it('is deterministic: the JSON output is byte-identical across runs, processes and file creation orders', async () => {
    // Two copies of the fleet, written in opposite orders (so the folders list their entries differently).
    const files = listFiles(path.join(ROOT, FLEET));
    const forward = tmpRepo();
    const backward = tmpRepo();
    for (const f of files) cpSync(path.join(ROOT, FLEET, f), forward.path(f));
    for (const f of [...files].reverse()) cpSync(path.join(ROOT, FLEET, f), backward.path(f));
    const a = await cli(['validate', '--format', 'json'], forward.root);
    const b = await cli(['validate', '--format', 'json'], backward.root);
    const c = await cli(['validate', '--format', 'json'], forward.root);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toBe(c.stdout);
    // The installed command, in its own process, prints the same bytes.
    const spawned = await run(process.execPath, [path.join(ROOT, 'bin/joch.js'), 'validate', '--format', 'json'], { cwd: forward.root });
    expect(spawned.stdout).toBe(a.stdout);
    expect((JSON.parse(a.stdout) as JsonReport).summary.resources).toBeGreaterThan(50);
  });
});

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const rel = prefix ? `${prefix}/${name}` : name;
      return statSync(path.join(dir, name)).isDirectory() ? listFiles(path.join(dir, name), rel) : [rel];
    });
}

describe('the package', () => {
  it('`npx joch --version` runs the bin entry of package.json', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ joch: 'bin/joch.js' });
    const r = await run('npx', ['--no-install', 'joch', '--version'], { cwd: ROOT, env: { ...process.env, npm_config_update_notifier: 'false' } });
    expect(r.stdout).toBe(`${readPackageVersion()}\n`);
  }, 60_000);

  it('bin/joch.js exits with the command\'s code', async () => {
    const repo = tmpRepo({ 'bad.yaml': 'kind: x: y\n' });
    const failed = await run(process.execPath, [path.join(ROOT, 'bin/joch.js'), 'validate'], { cwd: repo.root }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(failed).toBe(1);
  });
});
