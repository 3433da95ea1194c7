/**
 * The command line as platform engineers use kubectl and flux: the shared
 * flags on each command, the output formats, suggestions, help, completion
 * scripts, `init`, `get`, `describe`, EPIPE, and the messages without a
 * cluster. Everything runs the real commands (in process, or the real bin).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onTestFinished, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { parse } from 'yaml';
import { CHECK_NAMES } from '../../src/cli/commands/validate.js';
import type { CommandContext } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/main.js';
import { renderReference } from '../../src/cli/reference.js';
import { PIPELINE_CHECKS } from '../../src/pipeline/index.js';
import { humanLine } from '../../src/reconcile/logger.js';
import { cli, type JsonReport } from '../support/repo.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FLEET = 'examples/fleet';
const BIN = path.join(ROOT, 'bin/joch.js');
const run = promisify(execFile);

function tmp(prefix = 'joch-cli-'): string {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), prefix)));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An environment with no kubeconfig anywhere: HOME is an empty folder. */
function noClusterEnv(): Record<string, string> {
  return { HOME: tmp('joch-home-') };
}

describe('the shared flags on each command', () => {
  const where: Record<string, string[]> = {
    '-f, --filename <path>': ['validate', 'compile', 'diff', 'apply', 'get', 'describe', 'explain', 'agbom'],
    '-o, --output <format>': ['validate', 'compile', 'diff', 'apply', 'get', 'describe', 'explain', 'agbom', 'version'],
    '-n, --namespace <namespace>': ['get', 'describe', 'explain'],
    '-A, --all-namespaces': ['get'],
    '--context <name>': ['diff', 'apply', 'get', 'describe', 'version'],
    '--kubeconfig <file>': ['diff', 'apply', 'get', 'describe', 'version'],
  };
  const commands = ['init', 'validate', 'get', 'describe', 'explain', 'compile', 'diff', 'apply', 'sync', 'agbom', 'version', 'completion', 'action'];

  it.each(commands)('joch %s --help lists its flags with descriptions, and the global ones', async (command) => {
    const r = await cli([command, '--help'], ROOT);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: joch ${command} `));
    for (const [flag, on] of Object.entries(where)) {
      if (on.includes(command)) expect(r.stdout).toContain(flag);
      else expect(r.stdout).not.toContain(flag);
    }
    expect(r.stdout).toContain('Global Options:');
    for (const flag of ['-q, --quiet', '--no-color', '--debug']) expect(r.stdout).toContain(flag);
  });

  it('-f names files and folders (repeatable), and reads the same as positional paths', async () => {
    const positional = await cli(['validate', `${FLEET}/platform`, `${FLEET}/support-platform`, '-o', 'json'], ROOT);
    const flagged = await cli(['validate', '-f', `${FLEET}/platform`, '--filename', `${FLEET}/support-platform`, '-o', 'json'], ROOT);
    expect(flagged.stdout).toBe(positional.stdout);
    expect((JSON.parse(flagged.stdout) as JsonReport).summary.files).toBeGreaterThan(5);
  });

  it('-f - reads standard input', async () => {
    const text = readFileSync(path.join(ROOT, FLEET, 'support-platform/tools/zendesk.yaml'), 'utf8');
    let stdout = '';
    const ctx: CommandContext = { cwd: ROOT, env: { JOCH_CACHE_DIR: process.env.JOCH_CACHE_DIR }, stdout: (s) => void (stdout += s), stderr: () => undefined, isTTY: false, readStdin: () => Promise.resolve(text) };
    const code = await runCli(['validate', '-f', '-', '--checks', 'schema', '-o', 'json'], ctx);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.summary.resources).toBe(text.split(/^---$/m).length);
    stdout = '';
    await runCli(['validate', '-f', '-'], { ...ctx, readStdin: () => Promise.resolve('kind: x: y\n') });
    expect(stdout).toMatch(/^stdin\.yaml:1:7 error JOCH101 /m);
  });

  it('-q hides notes on any command that prints findings; the global flag works before or after the command', async () => {
    const loud = await cli(['validate', FLEET], ROOT);
    expect(loud.stdout).toMatch(/ info JOCH/);
    for (const argv of [['-q', 'validate', FLEET], ['validate', FLEET, '--quiet']]) {
      const quiet = await cli(argv, ROOT);
      expect(quiet.code).toBe(0);
      expect(quiet.stdout).not.toMatch(/ info JOCH/);
      expect(quiet.stdout).toMatch(/^OK 0 errors/m);
    }
  });

  it('colour: on at a terminal, off with --no-color or NO_COLOR, forced with FORCE_COLOR or --color', async () => {
    const bad = tmp();
    mkdirSync(path.join(bad, '.git'));
    writeFileSync(path.join(bad, 'a.yaml'), 'kind: x: y\n');
    const ESC = '\x1b[';
    expect((await cli(['validate'], bad, { isTTY: true })).stdout).toContain(ESC);
    expect((await cli(['validate', '--no-color'], bad, { isTTY: true })).stdout).not.toContain(ESC);
    expect((await cli(['validate'], bad, { isTTY: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(ESC);
    expect((await cli(['validate'], bad, { isTTY: false, env: { FORCE_COLOR: '1' } })).stdout).toContain(ESC);
    expect((await cli(['validate', '--no-color'], bad, { isTTY: false, env: { FORCE_COLOR: '1' } })).stdout).not.toContain(ESC);
  });

  it('at a terminal, validate without joch.yaml says that it read everything and how to narrow it', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, '.git'));
    mkdirSync(path.join(dir, 'test'));
    writeFileSync(path.join(dir, 'test/fixture.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
    let stderr = '';
    const ctx: CommandContext = { cwd: dir, env: { JOCH_CACHE_DIR: process.env.JOCH_CACHE_DIR }, stdout: () => undefined, stderr: (s) => void (stderr += s), isTTY: true, stderrIsTTY: true };
    await runCli(['validate'], ctx);
    expect(stderr).toContain('joch validate: no joch.yaml, so every YAML file under . was read (1); list the folders to read in joch.yaml (`joch init` writes one)');
    writeFileSync(path.join(dir, 'joch.yaml'), 'paths: [agents]\n');
    mkdirSync(path.join(dir, 'agents'));
    stderr = '';
    await runCli(['validate'], ctx);
    expect(stderr).not.toContain('no joch.yaml');
  });

  it('the help lists every check the pipeline has', () => {
    expect([...CHECK_NAMES]).toEqual([...PIPELINE_CHECKS]);
  });
});

describe('output formats', () => {
  it('validate: -o json, yaml (the same report), sarif, github; --format stays an alias', async () => {
    const json = await cli(['validate', FLEET, '-o', 'json'], ROOT);
    const yaml = await cli(['validate', FLEET, '-o', 'yaml'], ROOT);
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    expect((await cli(['validate', FLEET, '--format', 'json'], ROOT)).stdout).toBe(json.stdout);
    expect(JSON.parse((await cli(['validate', FLEET, '-o', 'sarif'], ROOT)).stdout)).toMatchObject({ version: '2.1.0' });
    expect((await cli(['validate', FLEET, '-o', 'table'], ROOT)).stdout).toBe((await cli(['validate', FLEET], ROOT)).stdout);
  });

  it('compile: -o DIR, as older releases took it, says to write --output-dir DIR', async () => {
    const r = await cli(['compile', FLEET, '-o', 'rendered'], ROOT);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"rendered" is not an output format');
    expect(r.stderr).toContain('write the compiled files with --output-dir rendered');
  });

  it('agbom ls: -o json, yaml and name are honoured (-o was ignored before)', async () => {
    const json = await cli(['agbom', 'ls', FLEET, '-o', 'json'], ROOT);
    const rows = JSON.parse(json.stdout) as { agent: string }[];
    expect(rows.map((r) => r.agent)).toContain('Agent/support-platform/support-triage');
    expect(parse((await cli(['agbom', 'ls', FLEET, '-o', 'yaml'], ROOT)).stdout)).toEqual(rows);
    const names = await cli(['agbom', 'ls', FLEET, '-o', 'name'], ROOT);
    expect(names.stdout.trim().split('\n')).toEqual(rows.map((r) => r.agent.slice('Agent/'.length)));
    const bad = await cli(['agbom', 'ls', FLEET, '-o', 'xml'], ROOT);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output must be one of table, wide, json, yaml, name/);
  });

  it('agbom AGENT -o FILE says to write --output-file FILE', async () => {
    const r = await cli(['agbom', 'support-triage', FLEET, '-o', 'bom.json'], ROOT);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('write the document to a file with --output-file bom.json');
  });

  it('explain: -o yaml is the JSON explanation as YAML', async () => {
    const json = await cli(['explain', 'support-triage', FLEET, '-o', 'json'], ROOT);
    const yaml = await cli(['explain', 'support-triage', FLEET, '-o', 'yaml'], ROOT);
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });
});

describe('suggestions and errors', () => {
  it.each([
    [['descibe', 'agent/x'], /^joch: unknown command 'descibe' \(did you mean describe\?\)/],
    [['get', 'agents', '--namespce', 'x'], /^joch get: unknown option '--namespce' \(did you mean --namespace\?\)/],
    [['get', 'agnets', '-f', FLEET], /^joch get: unknown kind "agnets"; did you mean "agents"\?/],
    [['describe', 'agent/support-triag', '-f', FLEET], /^joch describe: Agent "support-triag" not found; did you mean "support-triage"\?/],
  ])('joch %j: one line with a suggestion, exit 2', async (argv, message) => {
    const r = await cli(argv, ROOT);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('joch with no command prints the help on stderr and exits 2; joch help CMD prints its help', async () => {
    const r = await cli([], ROOT);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: joch <command> \[options\]/);
    const help = await cli(['help', 'get'], ROOT);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: joch get /);
  });
});

describe('without a cluster', () => {
  it('diff with no kubeconfig anywhere says how to point joch at a cluster, in one line', async () => {
    const r = await cli(['diff', FLEET], ROOT, { env: noClusterEnv() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^joch diff: no cluster configured: no --kubeconfig, no KUBECONFIG and no ~\/\.kube\/config; pass --kubeconfig FILE \(and --context NAME\), set KUBECONFIG, or create a local cluster/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an unreachable API server is one error line (the stack only with --debug)', async () => {
    const port = await closedPort();
    const dir = tmp();
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: c\n`,
    );
    const r = await cli(['get', 'agents', '--kubeconfig', kubeconfig], ROOT, { env: noClusterEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^joch get: cannot reach the Kubernetes API server \(ECONNREFUSED\): .*; is the cluster running\? pass --kubeconfig FILE/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    const debug = await cli(['get', 'agents', '--kubeconfig', kubeconfig, '--debug'], ROOT, { env: noClusterEnv() });
    expect(debug.stderr.split('\n').length).toBeGreaterThan(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('--context that the kubeconfig does not have lists the ones it has', async () => {
    const dir = tmp();
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\ncontexts: [{name: kind-a, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: kind-a\n`);
    const r = await cli(['diff', FLEET, '--kubeconfig', kubeconfig, '--context', 'kind-b'], ROOT);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^joch diff: no context "kind-b" in the kubeconfig; it has kind-a;/);
  });
});

/** A TCP port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('EPIPE', () => {
  it.each([
    ['compile --stdout', ['compile', '--stdout', FLEET]],
    ['agbom AGENT', ['agbom', 'support-triage', FLEET]],
  ])('joch %s | head -1 ends quietly with the command\'s code', async (_name, argv) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read one line, then close the pipe the way `head -1` does.
    const first = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          child.stdout.destroy();
          resolve(out.split('\n')[0] ?? '');
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(first.length).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/EPIPE|Error: |\n\s+at /);
    expect(code).toBe(0);
  });
});

describe('completion', () => {
  it.each(['bash', 'zsh', 'fish'])('the %s script is valid for its shell', async (shell) => {
    const dir = tmp();
    const r = await cli(['completion', shell], ROOT);
    expect(r.code).toBe(0);
    const file = path.join(dir, `joch.${shell}`);
    writeFileSync(file, r.stdout);
    await run(shell, ['-n', file]);
    // Every command and every visible flag of validate is in it.
    for (const word of ['validate', 'describe', 'completion', 'filename', 'all-namespaces', 'sarif']) expect(r.stdout).toContain(word);
  });

  it('bash completes commands, subcommands and the values of -o', async () => {
    const dir = tmp();
    const file = path.join(dir, 'joch.bash');
    writeFileSync(file, (await cli(['completion', 'bash'], ROOT)).stdout);
    const complete = async (...words: string[]) => {
      const script = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _joch; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run('bash', ['-c', script], { cwd: dir })).stdout.trim().split('\n');
    };
    expect(await complete('joch', 'desc')).toEqual(['describe']);
    expect(await complete('joch', 'get', '-o', '')).toEqual(['table', 'wide', 'json', 'yaml', 'name']);
    expect(await complete('joch', 'policy', 't')).toEqual(['test']);
    expect(await complete('joch', 'completion', '')).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
  });

  it('fish completes commands and the values of -o', async () => {
    const dir = tmp();
    const file = path.join(dir, 'joch.fish');
    writeFileSync(file, (await cli(['completion', 'fish'], ROOT)).stdout);
    const out = (await run('fish', ['-c', `source ${file}; complete -C 'joch val'; complete -C 'joch get -o '`])).stdout;
    expect(out).toMatch(/^validate\t/m);
    expect(out).toMatch(/^wide\t/m);
  });
});

describe('docs/CLI.md', () => {
  it('is what the command definitions generate (run `npm run docs:cli` after changing a command)', () => {
    expect(readFileSync(path.join(ROOT, 'docs/CLI.md'), 'utf8')).toBe(renderReference());
  });
});

describe('joch init', () => {
  it('writes a repository that validates and compiles clean', async () => {
    const dir = tmp();
    const init = await cli(['init', 'fleet'], dir);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('created fleet/joch.yaml');
    const fleet = path.join(dir, 'fleet');
    mkdirSync(path.join(fleet, '.git'));
    const files = readdirSync(fleet, { recursive: true }).map(String).sort();
    expect(files).toEqual(
      expect.arrayContaining(['joch.yaml', '.jochignore', '.vscode/settings.json', '.github/workflows/joch.yaml', 'support/agents/assistant.yaml', 'support/deployments.yaml', 'platform/models.yaml']),
    );
    // The editor maps every record to this version's own schemas, copied into the repository.
    const settings = JSON.parse(readFileSync(path.join(fleet, '.vscode/settings.json'), 'utf8')) as { 'yaml.schemas': Record<string, unknown>; 'yaml.validate': boolean };
    expect(settings['yaml.validate']).toBe(true);
    expect(Object.keys(settings['yaml.schemas']).sort()).toEqual(['./.joch/schemas/joch-config.schema.json', './.joch/schemas/joch.schema.json', './.joch/schemas/policy-test.schema.json']);
    expect(files).toContain('.joch/schemas/joch.schema.json');
    const validate = await cli(['validate', '-o', 'json'], fleet);
    expect(validate.code).toBe(0);
    expect((JSON.parse(validate.stdout) as JsonReport).diagnostics).toEqual([]);
    // Named as a folder, joch.yaml's paths do not apply: .jochignore keeps the workflow and editor files out.
    const named = await cli(['validate', 'fleet', '-o', 'json'], dir);
    expect(named.code).toBe(0);
    expect((JSON.parse(named.stdout) as JsonReport).summary).toMatchObject({ errors: 0, warnings: 0, files: 9 });
    const compile = await cli(['compile', '--output-dir', 'out'], fleet);
    expect(compile.stderr).toBe('');
    expect(compile.code).toBe(0);
    expect(compile.stdout).toMatch(/joch compile: \d+ objects and 1 agent manifests in out/);
    // Both Deployments became workloads.
    const rendered = readdirSync(path.join(fleet, 'out'), { recursive: true }).map(String).join('\n');
    expect(rendered).toMatch(/assistant-staging/);
    expect(rendered).toMatch(/assistant-prod/);
  });

  it('--team names the namespace, and a folder with files is refused unless --force (which keeps them)', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'joch.yaml'), 'defaultNamespace: mine\n');
    const refused = await cli(['init', '--team', 'billing'], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is not empty; pass --force/);
    const forced = await cli(['init', '--team', 'billing', '--force'], dir);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('kept    joch.yaml (already there)');
    expect(readFileSync(path.join(dir, 'joch.yaml'), 'utf8')).toBe('defaultNamespace: mine\n');
    expect(readFileSync(path.join(dir, 'billing/agents/assistant.yaml'), 'utf8')).toContain('namespace: billing');
    expect((await cli(['init', '--team', 'Bad_Name', 'x'], dir)).stderr).toMatch(/must be a Kubernetes namespace name/);
  });

  it('--help says what each file is for', async () => {
    const r = await cli(['init', '--help'], ROOT);
    expect(r.stdout).toMatch(/joch\.yaml\s+the project settings/);
    expect(r.stdout).toMatch(/\.github\/workflows\/joch\.yaml\s+GitHub workflow/);
    expect(r.stdout).toMatch(/<team>\/deployments\.yaml\s+Deployment: the agent in staging and in prod/);
  });
});

describe('joch get and joch describe over a repository', () => {
  it('get: a kubectl table with a NAMESPACE column across namespaces, none with -n', async () => {
    const all = await cli(['get', 'agents', '-f', FLEET], ROOT);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+SOURCE$/);
    expect(lines).toContainEqual(expect.stringMatching(/^support-platform\s+support-triage\s+examples\/fleet\/support-platform\/agents\/support-triage\.yaml:\d+$/));
    const one = await cli(['get', 'agent', '-n', 'research', '-f', FLEET], ROOT);
    expect(one.stdout.split('\n')[0]).toMatch(/^NAME\s+SOURCE$/);
    expect(one.stdout).toMatch(/^market-researcher\s/m);
    expect(one.stdout).not.toContain('support-triage');
  });

  it('get: -o wide, name, json (a List), yaml (one document when named)', async () => {
    const wide = await cli(['get', 'tools', '-f', FLEET, '-o', 'wide', '-n', 'support-platform'], ROOT);
    expect(wide.stdout.split('\n')[0]).toMatch(/^NAME\s+API VERSION\s+REFERENCES\s+REFERENCED BY\s+SOURCE$/);
    expect(wide.stdout).toMatch(/^zendesk\.search\s+tools\.joch\.dev\/v1alpha1\s+\d+\s+[1-9]\d*\s/m);
    const names = await cli(['get', 'jagent', '-f', FLEET, '-o', 'name'], ROOT);
    expect(names.stdout).toContain('agent/support-triage\n');
    const list = JSON.parse((await cli(['get', 'Agent', '-f', FLEET, '-o', 'json'], ROOT)).stdout) as { kind: string; items: { metadata: { name: string } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.metadata.name)).toContain('billing-agent');
    const one = parse((await cli(['get', 'agent', 'support-triage', '-f', FLEET, '-o', 'yaml'], ROOT)).stdout) as { kind: string; metadata: { name: string } };
    expect(one).toMatchObject({ kind: 'Agent', metadata: { name: 'support-triage' } });
    expect((await cli(['get', 'evals', '-n', 'nowhere', '-f', FLEET], ROOT)).stdout).toBe('No evals found.\n');
  });

  it('describe: the resource with its references both ways and, for an agent, its effective capabilities', async () => {
    for (const argv of [['describe', 'agent/support-triage'], ['describe', 'agent', 'support-triage']]) {
      const r = await cli([...argv, '-f', FLEET], ROOT);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Name:\s+support-triage\nNamespace:\s+support-platform\nKind:\s+Agent\n/);
      expect(r.stdout).toMatch(/^Source:\s+examples\/fleet\/support-platform\/agents\/support-triage\.yaml:\d+$/m);
      expect(r.stdout).toMatch(/^ {2}spec\.tools\[0\]\.name\s+-> Tool\/support-platform\/zendesk\.search \(examples\/fleet\/support-platform\/tools\/zendesk\.yaml:\d+\)$/m);
      expect(r.stdout).toMatch(/^Referenced by:\n( {2}.*\n)* {2}Deployment\/support-platform\/support-triage-prod at spec\.agentRef\.name \(examples\/fleet\/support-platform\/deployments\.yaml:\d+\)$/m);
      expect(r.stdout).toMatch(/^Effective capabilities:\n/m);
      expect(r.stdout).toMatch(/ALLOW|REQUIRE|DENY/);
    }
    const json = JSON.parse((await cli(['describe', 'tool/zendesk.search', '-n', 'support-platform', '-f', FLEET, '-o', 'json'], ROOT)).stdout) as {
      referencedBy: { kind: string; name: string }[];
    };
    expect(json.referencedBy.map((e) => e.name)).toContain('Agent/support-platform/support-triage');
  });
});

describe('joch version', () => {
  it('prints the client version and the commit of the checkout', async () => {
    const r = await cli(['version', '-o', 'json'], ROOT);
    const v = JSON.parse(r.stdout) as { client: { version: string; commit: string }; server?: unknown };
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(v.client.version).toBe(pkg.version);
    expect(v.client.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(v.server).toBeUndefined();
  });
});

describe('sync logs at a terminal', () => {
  it('joch sync --once at a terminal logs plain lines on stderr, JSON when piped', async () => {
    const dir = tmp();
    expect((await cli(['init', '-q'], dir)).code).toBe(0);
    await git.init({ fs, dir, defaultBranch: 'main' });
    await git.add({ fs, dir, filepath: '.' });
    await git.commit({ fs, dir, message: 'first fleet', author: { name: 'Test', email: 'test@example.com', timestamp: 1_700_000_000, timezoneOffset: 0 } });
    let stderr = '';
    const ctx: CommandContext = { cwd: dir, env: { JOCH_CACHE_DIR: process.env.JOCH_CACHE_DIR }, stdout: () => undefined, stderr: (s) => void (stderr += s), isTTY: true, stderrIsTTY: true };
    expect(await runCli(['sync', '--once', '--log-level', 'info', '--no-color'], ctx)).toBe(0);
    expect(stderr).toMatch(/^\d\d:\d\d:\d\d INFO {2}status committed commit=[0-9a-f]{12} branch=joch\/status attempts=1$/m);
    expect(stderr).not.toContain('{"level"');
  });

  it('are one plain line per entry, with long commit ids shortened', () => {
    const line = humanLine(JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 2, 3, 4, 5), component: 'joch-sync', commit: 'a'.repeat(40), branch: 'joch/status', msg: 'status committed' }), false);
    expect(line).toBe('03:04:05 INFO  status committed commit=aaaaaaaaaaaa branch=joch/status');
  });
});
