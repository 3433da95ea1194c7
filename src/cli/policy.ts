/**
 * `joch policy test [PATH...]`: runs every `joch-test.yaml` under the given
 * files and folders (default: the current folder). Each test's inputs go
 * through the same pipeline as `joch validate`, then its cases are checked.
 * Exit 0 when every case passes, 1 when one fails, 2 when a test file cannot
 * be read or run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { leavesInputUnread, redactText } from '../diagnostics/index.js';
import { runValidate } from '../pipeline/index.js';
import { checkCases, parsePolicyTest, TEST_FILE, type CaseResult } from '../policy/testing.js';
import { UsageError, type CommandContext, type CommandInput } from './context.js';
import { outputOf } from './flags.js';

interface TestReport {
  readonly file: string;
  readonly name: string;
  readonly cases: readonly CaseResult[];
  readonly errors: readonly string[];
}

const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const positionals = input.args;
  const format = outputOf(input.opts);
  const files = (positionals.length ? positionals : ['.']).flatMap((p) => findTests(path.resolve(ctx.cwd, p)));
  if (!files.length) throw new UsageError(`no ${TEST_FILE} under ${positionals.join(', ') || '.'}`);
  const reports: TestReport[] = [];
  for (const file of files) reports.push(await runTest(file, ctx.cwd));
  ctx.stdout(format === 'json' ? renderJson(reports) : renderText(reports));
  if (reports.some((r) => r.errors.length)) return 2;
  return reports.some((r) => r.cases.some((c) => !c.passed)) ? 1 : 0;
}

function findTests(p: string): string[] {
  let info;
  try {
    info = statSync(p);
  } catch {
    throw new UsageError(`no such file or folder: ${p}`);
  }
  if (info.isFile()) return [p];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && !SKIPPED_DIRS.has(e.name)) walk(path.join(dir, e.name));
      else if (e.isFile() && e.name === TEST_FILE) out.push(path.join(dir, e.name));
    }
  };
  walk(p);
  return out;
}

async function runTest(file: string, cwd: string): Promise<TestReport> {
  const shown = path.relative(cwd, file) || file;
  const parsed = parsePolicyTest(readFileSync(file, 'utf8'));
  if ('errors' in parsed) return { file: shown, name: path.basename(path.dirname(file)), cases: [], errors: parsed.errors };
  const { test } = parsed;
  const dir = path.dirname(file);
  const cannotRun = (errors: string[]): TestReport => ({ file: shown, name: test.metadata.name, cases: [], errors });
  const missing = [
    ...test.spec.inputs.filter((i) => !exists(path.resolve(dir, i))).map((m) => `spec.inputs: no such file or folder: ${m}`),
    ...(test.spec.config !== undefined && !exists(path.resolve(dir, test.spec.config)) ? [`spec.config: no such file: ${test.spec.config}`] : []),
  ];
  if (missing.length) return cannotRun(missing);
  // Inputs are named explicitly, so an ignore file that hides the test folder from `joch validate` does not hide them here.
  const paths = test.spec.inputs.flatMap((i) => yamlFiles(path.resolve(dir, i)));
  const run = await runValidate({ paths, cwd: dir, configFile: test.spec.config });
  // Cases checked against a configuration or inputs that were only partly read would pass or fail for the wrong reason.
  const unread = run.diagnostics.filter((d) => d.severity === 'error' && leavesInputUnread(d.code));
  if (unread.length) return cannotRun(unread.map((d) => redactText(`${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`)));
  if (!run.policy) return cannotRun(['the policy stage did not run']);
  return { file: shown, name: test.metadata.name, cases: checkCases(run.policy, test.spec.cases), errors: [] };
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function yamlFiles(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  const out: string[] = [];
  for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = path.join(p, e.name);
    if (e.isDirectory() && !SKIPPED_DIRS.has(e.name)) out.push(...yamlFiles(child));
    else if (e.isFile() && /\.ya?ml$/i.test(e.name) && e.name !== TEST_FILE) out.push(child);
  }
  return out;
}

function renderText(reports: readonly TestReport[]): string {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const r of reports) {
    lines.push(`${r.file}: ${r.name}`);
    for (const e of r.errors) lines.push(`  ERROR ${e}`);
    for (const c of r.cases) {
      lines.push(`  ${c.passed ? 'PASS' : 'FAIL'}  ${c.case}`);
      for (const p of c.problems) lines.push(`        ${p}`);
      if (c.passed) passed++;
      else failed++;
    }
  }
  const broken = reports.filter((r) => r.errors.length).length;
  lines.push('', `${passed} passed, ${failed} failed${broken ? `, ${broken} test file(s) could not run` : ''} (${reports.length} test file${reports.length === 1 ? '' : 's'})`);
  return `${lines.join('\n')}\n`;
}

function renderJson(reports: readonly TestReport[]): string {
  const cases = reports.flatMap((r) => r.cases);
  const summary = { passed: cases.filter((c) => c.passed).length, failed: cases.filter((c) => !c.passed).length, errors: reports.filter((r) => r.errors.length).length };
  return `${JSON.stringify({ tests: reports, summary }, null, 2)}\n`;
}
