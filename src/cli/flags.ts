/**
 * The flags several commands share, defined once so that they read the same
 * everywhere (the kubectl and flux spellings), and the helpers that turn
 * their values into what a command works on.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { UsageError, type CommandContext } from './context.js';

/** The formats of commands that list resources, as kubectl names them. */
export const LIST_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
/** The formats of commands that print findings: a table of them (text), machine formats, and CI annotations. */
export const FINDINGS_FORMATS = ['text', 'table', 'json', 'yaml', 'github', 'sarif'] as const;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `-f/--filename`: files or folders, repeatable, `-` for standard input; positional paths work too. */
export function filenameOption(): Option {
  return new Option('-f, --filename <path>', 'a file or folder of manifests (repeatable; - reads standard input); positional paths work too').argParser(collect);
}

/**
 * `-o/--output FORMAT`. `misuse` explains a value that is not a format (for
 * example a folder given the way older releases took `-o`).
 */
export function outputOption(formats: readonly string[], fallback: string, misuse?: (value: string) => string | undefined): Option {
  const option = new Option('-o, --output <format>', 'output format').choices(formats).default(fallback);
  return option.argParser((value: string) => {
    if (formats.includes(value)) return value;
    throw new InvalidArgumentError(misuse?.(value) ?? `"${value}" is not an output format; choose one of ${formats.join(', ')}`);
  });
}

/** `--format`, kept from older releases as a hidden alias of `-o/--output`. */
export function formatAlias(formats: readonly string[]): Option {
  return new Option('--format <format>', 'alias of --output').choices(formats).hideHelp();
}

export function configOption(): Option {
  return new Option('-c, --config <file>', 'joch.yaml to use (default: the nearest one above the paths)');
}

/** `--no-cache`: neither read nor write the persistent cache (JOCH_NO_CACHE=1 does the same). */
export function noCacheOption(): Option {
  return new Option('--no-cache', 'neither read nor write the cache of checked files and compiled units (JOCH_NO_CACHE=1 does the same)');
}

export function namespaceOptions(): Option[] {
  return [new Option('-n, --namespace <namespace>', 'only this namespace'), new Option('-A, --all-namespaces', 'every namespace (the default over a repository)')];
}

export function clusterOptions(): Option[] {
  return [
    new Option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)'),
    new Option('--context <name>', 'kubeconfig context to use instead of the current one'),
  ];
}

/** `--cluster NAME`: one cluster of joch.yaml `clusters` and the share its Environments place there. */
export function placementOption(): Option {
  return new Option('--cluster <name>', "only this cluster of joch.yaml's clusters and what its Environments place there (default: every mapped cluster)");
}

/** Whether the command line names a cluster (`--kubeconfig` or `--context`): get, describe and version then read it. */
export function namesCluster(opts: Readonly<Record<string, unknown>>): boolean {
  return opts.kubeconfig !== undefined || opts.context !== undefined;
}

/** The output format asked for: `--format` (the older spelling) wins over the default of `-o`. */
export function outputOf(opts: Readonly<Record<string, unknown>>): string {
  const format = opts.format;
  return typeof format === 'string' ? format : String(opts.output);
}

const FORMAT_NAMES = new Set<string>([...FINDINGS_FORMATS, ...LIST_FORMATS, 'markdown', 'cyclonedx', 'spdx', 'swid']);

/**
 * The files and folders a command reads: `-f` values then operands. `-` is
 * standard input, saved to a temporary file the pipeline reads like any
 * other. A path that does not exist is a usage error, with a hint when it is
 * a format name (`-f` meant `--format` in older releases).
 */
export async function inputPaths(opts: Readonly<Record<string, unknown>>, operands: readonly string[], ctx: CommandContext): Promise<string[]> {
  const given = [...((opts.filename as string[] | undefined) ?? []), ...operands];
  const out: string[] = [];
  for (const p of given) {
    if (p === '-') {
      out.push(await stdinFile(ctx));
      continue;
    }
    if (!existsSync(path.resolve(ctx.cwd, p))) {
      if (FORMAT_NAMES.has(p)) throw new UsageError(`no such file or folder: ${p} (-f names files now, as in kubectl; choose the output format with -o ${p})`);
      throw new UsageError(`no such file or folder: ${p}`);
    }
    out.push(p);
  }
  return out;
}

const stdinFiles = new Set<string>();

/**
 * The folder a pipeline run is relative to: the current one, except when
 * standard input is the only input, where diagnostics then name
 * `stdin.yaml:LINE:COLUMN` rather than a temporary path.
 */
export function pipelineCwd(paths: readonly string[], opts: Readonly<Record<string, unknown>>, ctx: CommandContext): string {
  const only = paths.length === 1 ? paths[0] : undefined;
  return only !== undefined && stdinFiles.has(only) && opts.config === undefined ? path.dirname(only) : ctx.cwd;
}

async function stdinFile(ctx: CommandContext): Promise<string> {
  if (!ctx.readStdin) throw new UsageError('-f - reads standard input, which this driver does not provide');
  const text = await ctx.readStdin();
  const dir = mkdtempSync(path.join(tmpdir(), 'joch-stdin-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'stdin.yaml');
  writeFileSync(file, text);
  stdinFiles.add(file);
  return file;
}
