/**
 * `joch agbom`: per-agent Agent Bills of Materials.
 *
 *   joch agbom AGENT [PATH...]   one agent's AgBOM (CycloneDX by default)
 *   joch agbom export [PATH...]  every agent, every format, into a folder
 *   joch agbom ls [PATH...]      agents, generations and risks
 *   joch agbom diff A B          two AgBOM files, or two checkouts
 *   joch agbom diff --from REV [--to REV] [PATH]   two Git revisions (or one and the working tree)
 *   joch agbom verify FILE       a signed AgBOM's JSF signature
 *
 * The command reads and writes files; src/agbom stays plain data.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  AGBOM_FORMATS,
  assessRisk,
  checkCycloneDxIntegrity,
  CYCLONEDX_VERSIONS,
  diffFleets,
  type AgBomDiff,
  emptyState,
  formatDiffMarkdown,
  formatDiffText,
  formatRiskText,
  isPolicyFindingCode,
  NotAnAgBomError,
  parseState,
  renderAgBom,
  renderCycloneDx,
  serializeState,
  signJsf,
  verifyJsf,
  viewOfAgBom,
  viewOfCycloneDx,
  type AgBom,
  type AgBomFormat,
  type CycloneDxVersion,
  type GenerationState,
  type InventoryView,
  type Organization,
  type PolicyFinding,
} from '../agbom/index.js';
import { buildRunAgBoms } from '../pipeline/agbom.js';
import { validateRevision } from '../pipeline/revision.js';
import { gitWorkTreeRoot } from '../source/revision.js';
import { runValidate, type ValidationRun } from '../pipeline/index.js';
import { UsageError, type CommandContext, type CommandInput } from './context.js';
import { inputPaths } from './flags.js';
import { renderData } from './output.js';
import { version } from './version.js';

type Values = Readonly<Record<string, unknown>>;

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const values = input.opts;
  const [first, ...rest] = input.args;
  switch (first) {
    case undefined:
      throw new UsageError('name an agent, or one of: export, ls, diff, verify');
    case 'ls':
      return list(await inputPaths(values, rest, ctx), values, ctx);
    case 'diff':
      return diff(rest, values, ctx);
    case 'verify':
      return verifyCommand(rest, values, ctx);
    case 'export':
      return exportAll(await inputPaths(values, rest, ctx), values, ctx);
    default:
      return one(first, await inputPaths(values, rest, ctx), values, ctx);
  }
}

/**
 * The display format of ls, diff and verify: `-o`, or `--format` as older
 * releases spelled it; `text` and `table` are the same.
 */
function displayFormat<T extends string>(values: Values, allowed: readonly T[], fallback: T): T {
  const given = str(values, 'output') ?? str(values, 'format');
  const value = given === 'text' || given === 'table' ? fallback : given;
  return oneOf<T>(value, allowed, fallback, 'output');
}

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}

// ---------------------------------------------------------------------------
// Loading a repository and building its AgBOMs

interface Fleet {
  readonly run: ValidationRun;
  readonly boms: AgBom[];
  readonly state: GenerationState;
}

function organizationOf(values: Values): Organization | undefined {
  const name = str(values, 'organization');
  const regid = str(values, 'regid');
  if (!name && !regid) return undefined;
  if (!name || !regid) throw new UsageError('--organization and --regid go together');
  return { name, regid };
}

function readState(file: string | undefined, ctx: CommandContext): GenerationState {
  if (!file) return emptyState();
  const p = path.resolve(ctx.cwd, file);
  if (!existsSync(p)) return emptyState();
  try {
    return parseState(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new UsageError(`--state ${file}: ${(e as Error).message}`);
  }
}

async function loadFleet(paths: string[], values: Values, ctx: CommandContext, state: GenerationState): Promise<Fleet | undefined> {
  const run = await runValidate({ paths, cwd: ctx.cwd, configFile: str(values, 'config') });
  const built = buildRunAgBoms(run, { toolVersion: version(), env: ctx.env, organization: organizationOf(values), state });
  if (!built.ok) {
    ctx.stderr(`joch agbom: the repository has ${built.blocking.length} error(s) outside policy; run \`joch validate\` and fix them first\n`);
    return undefined;
  }
  if (built.timeFallback) ctx.stderr('joch agbom: no commit time and no SOURCE_DATE_EPOCH; documents carry 1970-01-01T00:00:00Z to stay reproducible\n');
  return { run, boms: built.boms, state: built.state };
}

function findAgent(boms: readonly AgBom[], wanted: string): AgBom {
  const matches = boms.filter((b) => {
    const [, ns, name] = b.inventory.agent.split('/');
    return wanted.includes('/') ? `${ns}/${name}` === wanted : name === wanted;
  });
  if (matches.length === 1) return matches[0]!;
  if (!matches.length) throw new UsageError(`no agent "${wanted}"; the agents are ${boms.map((b) => b.inventory.agent.slice(6)).join(', ') || '(none)'}`);
  throw new UsageError(`"${wanted}" names ${matches.length} agents; write NAMESPACE/NAME: ${matches.map((b) => b.inventory.agent.slice(6)).join(', ')}`);
}

function writeOut(text: string, file: string | undefined, ctx: CommandContext): void {
  if (!file || file === '-') {
    ctx.stdout(text);
    return;
  }
  const p = path.resolve(ctx.cwd, file);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
}

function saveState(values: Values, state: GenerationState, ctx: CommandContext): void {
  const file = str(values, 'state');
  if (!values['write-state']) return;
  if (!file) throw new UsageError('--write-state needs --state FILE');
  writeOut(serializeState(state), file, ctx);
}

// ---------------------------------------------------------------------------
// joch agbom AGENT

async function one(agent: string, paths: string[], values: Values, ctx: CommandContext): Promise<number> {
  const format = oneOf<AgBomFormat>(str(values, 'format'), AGBOM_FORMATS, 'cyclonedx', 'format');
  const specVersion = oneOf<CycloneDxVersion>(str(values, 'spec-version'), CYCLONEDX_VERSIONS, '1.6', 'spec-version');
  const signKey = str(values, 'sign-key');
  if (signKey && format !== 'cyclonedx') throw new UsageError('--sign-key signs CycloneDX documents (JSF); SPDX and SWID have no enveloped signature');
  if (values['write-state'] && !str(values, 'state')) throw new UsageError('--write-state needs --state FILE');
  const misused = str(values, 'output');
  if (misused !== undefined) {
    const instead = (AGBOM_FORMATS as readonly string[]).includes(misused) ? `choose the document format with --format ${misused}` : `write the document to a file with --output-file ${misused}`;
    throw new UsageError(`-o selects how ls, diff and verify print; ${instead}`);
  }
  const fleet = await loadFleet(paths, values, ctx, readState(str(values, 'state'), ctx));
  if (!fleet) return 1;
  const bom = findAgent(fleet.boms, agent);
  let text: string;
  if (signKey) {
    const key = readFileSync(path.resolve(ctx.cwd, signKey), 'utf8');
    const doc = signJsf(renderCycloneDx(bom, specVersion) as unknown as Record<string, unknown>, key, { keyId: str(values, 'key-id') ?? keyIdOf(fleet.run, bom) });
    text = `${JSON.stringify(doc, null, 2)}\n`;
  } else {
    text = renderAgBom(bom, format, { cyclonedxVersion: specVersion }).text;
  }
  writeOut(text, str(values, 'output-file'), ctx);
  saveState(values, fleet.state, ctx);
  return 0;
}

/** The key id an AgBOM resource names for the agent (`spec.signing.keyRef`), as `namespace/name`. */
function keyIdOf(run: ValidationRun, bom: AgBom): string | undefined {
  const graph = run.graphs.find((g) => g.agent.key === bom.inventory.agent);
  for (const s of graph?.agbomSettings ?? []) {
    const ref = (s.spec.signing as { keyRef?: { name?: string; namespace?: string } } | undefined)?.keyRef;
    if (ref?.name) return `${ref.namespace ?? s.namespace ?? ''}/${ref.name}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// joch agbom export

async function exportAll(paths: string[], values: Values, ctx: CommandContext): Promise<number> {
  const dir = str(values, 'out-dir');
  if (!dir) throw new UsageError('export needs --out-dir DIR');
  const formats = (str(values, 'format') ?? AGBOM_FORMATS.join(','))
    .split(',')
    .map((f) => oneOf<AgBomFormat>(f.trim(), AGBOM_FORMATS, 'cyclonedx', 'format'));
  const specVersion = oneOf<CycloneDxVersion>(str(values, 'spec-version'), CYCLONEDX_VERSIONS, '1.6', 'spec-version');
  const fleet = await loadFleet(paths, values, ctx, readState(str(values, 'state'), ctx));
  if (!fleet) return 1;
  for (const bom of fleet.boms) {
    const [, ns, name] = bom.inventory.agent.split('/');
    for (const f of formats) {
      const r = renderAgBom(bom, f, { cyclonedxVersion: specVersion });
      writeOut(r.text, path.join(dir, ns ?? '', name ?? '', `${bom.generation.generation}${r.extension}`), ctx);
    }
  }
  saveState(values, fleet.state, ctx);
  ctx.stdout(`wrote ${fleet.boms.length * formats.length} document(s) for ${fleet.boms.length} agent(s) to ${dir}\n`);
  return 0;
}

// ---------------------------------------------------------------------------
// joch agbom ls

async function list(paths: string[], values: Values, ctx: CommandContext): Promise<number> {
  const format = displayFormat(values, ['table', 'wide', 'json', 'yaml', 'name'] as const, 'table');
  const fleet = await loadFleet(paths, values, ctx, readState(str(values, 'state'), ctx));
  if (!fleet) return 1;
  const findings = policyFindings(fleet.run);
  const rows = fleet.boms.map((bom) => ({ bom, risk: assessRisk(viewOfAgBom(bom), findings) }));
  const highRisk = values['high-risk'] === true;
  const shown = highRisk ? rows.filter((r) => r.risk.risks.length) : rows;
  if (format === 'json' || format === 'yaml') {
    const out = shown.map(({ bom, risk }) => ({
      agent: bom.inventory.agent,
      serialNumber: bom.serialNumber,
      generation: bom.generation.generation,
      inventoryHash: bom.inventoryHash,
      components: bom.inventory.components.length,
      risks: risk.risks,
    }));
    ctx.stdout(renderData(format, out));
  } else if (format === 'name') {
    for (const { bom } of shown) ctx.stdout(`${bom.inventory.agent.slice(6)}\n`);
  } else if (highRisk) {
    ctx.stdout(formatRiskText(shown.map((r) => r.risk), false));
  } else {
    const width = Math.max(5, ...rows.map((r) => r.bom.inventory.agent.length));
    ctx.stdout(`${'AGENT'.padEnd(width)}  GENERATION  COMPONENTS  RISKS\n`);
    for (const { bom, risk } of rows) {
      ctx.stdout(
        `${bom.inventory.agent.padEnd(width)}  ${String(bom.generation.generation).padStart(10)}  ${String(bom.inventory.components.length).padStart(10)}  ${String(risk.risks.length).padStart(5)}\n`,
      );
    }
  }
  saveState(values, fleet.state, ctx);
  return highRisk && shown.length ? 1 : 0;
}

/**
 * The policy stage's findings per agent, plus those about a policy or a
 * resource as such (a malformed rule), which concern every agent holding it.
 */
function policyFindings(run: ValidationRun): PolicyFinding[] {
  const out: PolicyFinding[] = [];
  const perAgent = new Set<string>();
  for (const a of run.policy?.agents ?? []) {
    for (const f of a.findings) {
      perAgent.add(`${f.finding.code}\0${f.finding.message}`);
      out.push({ code: f.finding.code, severity: f.finding.severity, message: f.finding.message, resource: f.finding.resource, agent: f.agent, capability: f.capability });
    }
  }
  for (const d of run.diagnostics) if (isPolicyFindingCode(d.code) && !perAgent.has(`${d.code}\0${d.message}`)) out.push(d);
  return out;
}

// ---------------------------------------------------------------------------
// joch agbom diff

/**
 * Each side is a CycloneDX AgBOM file, a folder (a checkout), or a Git
 * revision of the repository (--from REV [--to REV], read from the object
 * store; without --to, the working tree).
 */
async function diff(args: string[], values: Values, ctx: CommandContext): Promise<number> {
  const format = displayFormat(values, ['text', 'json', 'markdown'] as const, 'text');
  const from = str(values, 'from');
  if (from !== undefined) {
    const sides = await revisionSides(from, str(values, 'to'), args, values, ctx);
    return sides ? report(diffFleets(...sides), format, values, ctx) : 1;
  }
  if (values.to !== undefined) throw new UsageError('--to goes with --from');
  if (args.length !== 2) throw new UsageError('diff compares two AgBOM files, two folders, or two revisions: joch agbom diff BEFORE AFTER | --from REV [--to REV] [PATH]');
  const [a, b] = args.map((p) => path.resolve(ctx.cwd, p)) as [string, string];
  const kinds = [a, b].map((p) => (existsSync(p) ? (statSync(p).isDirectory() ? 'dir' : 'file') : 'missing'));
  if (kinds.includes('missing')) throw new UsageError(`no such file or folder: ${[a, b].filter((_, i) => kinds[i] === 'missing').join(', ')}`);
  if (kinds[0] !== kinds[1]) throw new UsageError('compare two files or two folders, not one of each');
  let sides: [InventoryView[], InventoryView[]];
  if (kinds[0] === 'file') sides = [[readView(a)], [readView(b)]];
  else {
    const before = await loadFleet([a], values, ctx, readState(str(values, 'state'), ctx));
    if (!before) return 1;
    const after = await loadFleet([b], values, ctx, before.state);
    if (!after) return 1;
    sides = [before.boms.map(viewOfAgBom), after.boms.map(viewOfAgBom)];
  }
  return report(diffFleets(...sides), format, values, ctx);
}

function report(all: AgBomDiff[], format: 'text' | 'json' | 'markdown', values: Values, ctx: CommandContext): number {
  let diffs = all;
  const agent = str(values, 'agent');
  if (agent) diffs = diffs.filter((d) => d.agent === agent || d.agent.endsWith(`/${agent}`));
  if (format === 'json') ctx.stdout(`${JSON.stringify(diffs, null, 2)}\n`);
  else ctx.stdout(format === 'markdown' ? formatDiffMarkdown(diffs) : formatDiffText(diffs));
  return diffs.some((d) => d.changes.length) ? 1 : 0;
}

/** Both sides from Git revisions of the repository around PATH (or the current folder), or the working tree for `to`. */
async function revisionSides(
  from: string,
  to: string | undefined,
  args: string[],
  values: Values,
  ctx: CommandContext,
): Promise<[InventoryView[], InventoryView[]] | undefined> {
  if (args.length > 1) throw new UsageError('with --from, name at most one folder: the records under it are compared');
  const folder = path.resolve(ctx.cwd, args[0] ?? '.');
  const repo = gitWorkTreeRoot(folder);
  if (!repo) throw new UsageError(`${args[0] ?? '.'} is not inside a Git repository; --from reads its history`);
  const root = path.relative(repo, folder).split(path.sep).join('/') || '.';
  const side = async (rev: string): Promise<InventoryView[] | undefined> => {
    const result = await validateRevision(repo, rev, root);
    if (!result.ok) throw new UsageError(result.reason);
    const built = buildRunAgBoms(result.run, { toolVersion: version(), env: ctx.env, organization: organizationOf(values) });
    if (!built.ok) {
      ctx.stderr(`joch agbom: revision ${rev} has ${built.blocking.length} error(s) outside policy; its AgBOMs cannot be built\n`);
      return undefined;
    }
    return built.boms.map(viewOfAgBom);
  };
  const before = await side(from);
  if (!before) return undefined;
  if (to !== undefined) {
    const after = await side(to);
    return after ? [before, after] : undefined;
  }
  const current = await loadFleet([folder], values, ctx, emptyState());
  return current ? [before, current.boms.map(viewOfAgBom)] : undefined;
}

function readView(file: string): InventoryView {
  try {
    return viewOfCycloneDx(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    if (e instanceof NotAnAgBomError || e instanceof SyntaxError) throw new UsageError(`${file}: ${e.message} (diff reads CycloneDX AgBOMs)`);
    throw e;
  }
}

// ---------------------------------------------------------------------------
// joch agbom verify

function verifyCommand(args: string[], values: Values, ctx: CommandContext): number {
  if (args.length !== 1) throw new UsageError('verify takes one signed CycloneDX AgBOM: joch agbom verify FILE [--key PUBLIC.pem]');
  const file = path.resolve(ctx.cwd, args[0]!);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${args[0]!}: ${(e as Error).message}`);
  }
  const keyFile = str(values, 'key');
  const result = verifyJsf(doc, keyFile ? readFileSync(path.resolve(ctx.cwd, keyFile), 'utf8') : undefined);
  const problems = checkCycloneDxIntegrity(doc);
  if (displayFormat(values, ['text', 'json', 'yaml'] as const, 'text') !== 'text') {
    ctx.stdout(renderData(displayFormat(values, ['json', 'yaml'] as const, 'json'), { ...result, integrity: problems }));
  } else if (result.valid) {
    ctx.stdout(
      `${args[0]!}: valid ${result.algorithm} signature${result.keyId ? ` (key ${result.keyId})` : ''}${
        result.trusted ? ', by the trusted key' : '; checked with the key embedded in the document: integrity only, pass --key to check who signed'
      }\n`,
    );
  } else {
    ctx.stdout(`${args[0]!}: INVALID: ${result.reason ?? 'unknown reason'}\n`);
  }
  for (const p of problems) ctx.stdout(`${args[0]!}: ${p}\n`);
  return result.valid && !problems.length ? 0 : 1;
}

