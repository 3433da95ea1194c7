/**
 * The `joch` command line. Each command lives in its own module and is
 * loaded only when used, so `joch validate` never loads the cluster client.
 * Exit codes: 0 success, 1 findings (errors, or changes for `diff`), 2 usage
 * or internal failure.
 */
import { readFileSync } from 'node:fs';
import { redactText } from '../diagnostics/redact.js';
import { UsageError, type CommandContext } from './context.js';

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly load: () => Promise<{ run: (argv: string[], ctx: CommandContext) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  validate: {
    summary: 'Validate manifests: schemas, identity, references, secrets and policy',
    usage: 'joch validate [PATH...] [--format text|json|github|sarif] [--checks LIST] [--config FILE] [--quiet] [--timings]',
    load: () => import('./validate.js'),
  },
  compile: {
    summary: 'Validate, govern and compile to Kubernetes objects and CompiledAgentManifests',
    usage:
      'joch compile [PATH...] (-o DIR [--single-file] [--no-agbom] | --stdout) [--crds include|only|skip] [--without-policy] [--format text|json|github|sarif] [--config FILE] [--quiet]',
    load: () => import('./compile.js'),
  },
  diff: {
    summary: 'Show what applying the repository would change in the cluster (exit 0 none, 1 changes, 2 error)',
    usage:
      'joch diff [PATH] [--kubeconfig FILE] [--context NAME] [--inventory NS/NAME] [--no-prune] [--format text|json] [--show-unchanged] [--config FILE]',
    load: async () => ({ run: (await import('./cluster.js')).diff }),
  },
  apply: {
    summary: 'Apply the compiled repository to the cluster: server-side apply, pruning, health, status',
    usage:
      'joch apply [PATH] [--kubeconfig FILE] [--context NAME] [--inventory NS/NAME] [--no-prune] [--force] [--recreate] [--max-prune-share N] [--allow-mass-prune] [--wait 90s] [--format text|json] [--config FILE]',
    load: async () => ({ run: (await import('./cluster.js')).apply }),
  },
  agbom: {
    summary: 'Agent Bills of Materials: generate (CycloneDX, SPDX, SWID), list risks, diff, verify signatures',
    usage: [
      'joch agbom AGENT [PATH...] [--format cyclonedx|spdx|swid] [--spec-version 1.6|1.7] [-o FILE] [--state FILE [--write-state]] [--sign-key KEY.pem [--key-id ID]] [--organization NAME --regid REGID] [--config FILE]',
      '       joch agbom export [PATH...] --out-dir DIR [--format LIST] [--state FILE [--write-state]]',
      '       joch agbom ls [PATH...] [--high-risk] [--format text|json]   (exit 1 when --high-risk finds agents)',
      '       joch agbom diff BEFORE AFTER [--agent NAME] [--format text|json|markdown]   (two AgBOM files or two folders; exit 1 on changes)',
      '       joch agbom diff --from REV [--to REV] [PATH] [--agent NAME] [--format text|json|markdown]   (two Git revisions, or one and the working tree)',
      '       joch agbom verify FILE [--key PUBLIC.pem] [--format text|json]',
    ].join('\n'),
    load: () => import('./agbom.js'),
  },
  explain: {
    summary: "Explain an agent's effective capabilities and the rule that allowed, required approval for or denied each",
    usage: 'joch explain AGENT [PATH...] [-n NAMESPACE] [--format text|json] [--config FILE]   (exit 1 when a capability is denied)',
    load: () => import('./explain.js'),
  },
  policy: {
    summary: 'Run table-driven policy tests (joch-test.yaml folders)',
    usage: 'joch policy test [PATH...] [--format text|json]   (exit 1 when a case fails, 2 when a test cannot run)',
    load: () => import('./policy.js'),
  },
  sync: {
    summary: 'Continuously reconcile a Git repository of manifests: validate, govern, compile, apply, AgBOM, status commits',
    usage: [
      'joch sync [--once] [--repo URL|PATH] [--branch B | --tag T | --semver RANGE | --commit SHA] [--root DIR] [--kubeconfig FILE | --target git|folder]',
      '          [--interval 60s] [--drift-interval 5m] [--webhook-port N --webhook-secret-file F] [--metrics-port N] [--leader-elect] [--suspend] ...',
      '       With no options: the repository of the current folder, root examples/fleet, rendered manifests on joch/rendered, status on joch/status.',
      '       Every option also reads JOCH_SYNC_<NAME>; see src/reconcile/README.md. --once exits 0 when applied or nothing to do, 1 when refused or failed.',
    ].join('\n'),
    load: () => import('./sync.js'),
  },
  schemas: {
    summary: "Copy joch's JSON Schemas into a repository and map its YAML files to them for editors (VS Code yaml.schemas)",
    usage: 'joch schemas [ROOT] [--dir .joch/schemas] [--settings vscode|none]   (exit 1 when the editor settings could not be merged)',
    load: () => import('./schemas.js'),
  },
  action: {
    summary: 'Run the GitHub Action: review a pull request (reads INPUT_* and GITHUB_* variables)',
    usage: 'joch action   (inside a workflow step; see action.yml)',
    load: () => import('./action.js'),
  },
};

let packageVersion: string | undefined;

/** The package's version, read once: several outputs of one command carry it. */
export function version(): string {
  packageVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return packageVersion;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'joch: GitOps reconciler and manifest compiler for Joch agent fleets',
    '',
    'Usage: joch <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `joch <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

export async function runCli(argv: string[], ctx: CommandContext = defaultContext()): Promise<number> {
  const debug = argv.includes('--debug') || ctx.env['JOCH_DEBUG'] === '1';
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    ctx.stdout(help());
    return name ? 0 : 2;
  }
  if (name === 'version' || name === '--version') {
    ctx.stdout(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.stderr(`joch: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.stdout(`Usage: ${command.usage}\n`);
    return 0;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      ctx.stderr(`joch ${name}: ${e.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    ctx.stderr(internalError(name, e, debug));
    return 2;
  }
}

/**
 * An exception that escaped a command is a bug in joch, not in the input: one
 * line saying so, and the stack only when asked for. Only the first line of
 * the error's message is shown, with anything shaped like a credential masked.
 */
function internalError(name: string, e: unknown, debug: boolean): string {
  if (debug) return `joch ${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
  const message = redactText((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '');
  return `joch ${name}: internal error: ${message} (run again with --debug or JOCH_DEBUG=1 for the stack trace)\n`;
}

function defaultContext(): CommandContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    isTTY: Boolean(process.stdout.isTTY),
  };
}
