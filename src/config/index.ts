/**
 * joch.yaml: the project configuration at the repository root, optional.
 * Checked against its schema (schema.ts, in zod) so a typo in it is an error
 * at its line, not a silent default; a common, valid configuration is read
 * without loading zod (common.ts), with the same result.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { codeInfo, finding, type Finding, type Severity } from '../diagnostics/index.js';
import { deepNesting, MAX_NESTING_DEPTH, parseYamlFast } from '../manifests/index.js';
import { yamlLib } from '../manifests/yaml-lib.js';
import { commonConfig, DEFAULT_CONFIG } from './common.js';
import { configSchemaModule } from './load-schema.js';
import type { Config } from './schema.js';

export type { ClusterAccess, Config, ResourceSettings, WorkloadSettings } from './schema.js';
export { DEFAULT_CONFIG } from './common.js';

export const CONFIG_FILES = ['joch.yaml', 'joch.yml'];

export interface LoadedConfig {
  readonly config: Config;
  /** The config file as displayed, when there is one. */
  readonly file?: string | undefined;
  /** The repository root: the folder of joch.yaml, else the given start folder. */
  readonly root: string;
  readonly findings: Finding[];
  readonly text?: string | undefined;
}

/** The nearest joch.yaml at or above `start`, not crossing a Git repository's top. */
export function findConfigFile(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    for (const name of CONFIG_FILES) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    if (existsSync(path.join(dir, '.git'))) return undefined;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function loadConfig(start: string, explicitFile: string | undefined, cwd: string): LoadedConfig {
  const file = explicitFile ? path.resolve(cwd, explicitFile) : findConfigFile(start);
  if (!file) return { config: DEFAULT_CONFIG, root: path.resolve(start), findings: [] };
  const shown = path.relative(cwd, file) || file;
  const root = path.dirname(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { config: DEFAULT_CONFIG, root, file: shown, findings: [finding('JOCH002', `cannot read the configuration file ${shown}`, { file: shown, line: 1, column: 1 })] };
  }
  return parseConfigText(text, shown, root);
}

/**
 * joch.yaml's text to a configuration, for a file on disk and for a Git
 * snapshot alike. Anything wrong with it is a JOCH001 at its place, with the
 * defaults in effect; nothing in it can make this throw.
 */
export function parseConfigText(text: string, file: string, root: string): LoadedConfig {
  const invalid = (findings: Finding[]): LoadedConfig => ({ config: DEFAULT_CONFIG, root, file, text, findings });
  // What the fast scanner reads nests at most its MAX_DEPTH (64), well inside the full parser's limit: only the rest is measured.
  const value = fastConfigValue(text) ?? composeConfig(text, file);
  if (isInvalid(value)) return invalid(value.findings);
  const common = commonConfig(value.value ?? {});
  if (common) return { config: common, root, file, text, findings: [] };
  const parsed = configSchemaModule().ConfigSchema.safeParse(value.value ?? {});
  if (parsed.success) return { config: parsed.data, root, file, text, findings: [] };
  return invalid(
    parsed.error.issues.map((issue) => {
      const where = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      // An unknown key is best shown at the key itself.
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      return finding('JOCH001', `joch.yaml: ${where.length ? `${where.join('.')}: ` : ''}${issue.message}`, {
        file,
        doc: 0,
        path: unknown === undefined ? where : [...where, unknown],
        ...(unknown === undefined ? {} : { part: 'key' as const }),
      });
    }),
  );
}

interface ConfigValue {
  readonly value: unknown;
}

interface InvalidConfig {
  readonly findings: Finding[];
}

function isInvalid(v: ConfigValue | InvalidConfig): v is InvalidConfig {
  return 'findings' in v;
}

/**
 * The value of a joch.yaml inside the fast scanner's subset: the value `yaml`
 * gives it (test/manifests/yaml-fast.test.ts), without loading and running
 * the full parser, which cost more than the rest of reading a small
 * repository. Undefined for anything else (several documents, anchors,
 * duplicate keys, errors), which `yaml` composes and reports.
 */
function fastConfigValue(text: string): ConfigValue | undefined {
  const docs = parseYamlFast(text);
  if (!docs || docs.length > 1) return undefined;
  return { value: docs[0]?.value ?? null };
}

function composeConfig(text: string, file: string): ConfigValue | InvalidConfig {
  const deep = deepNesting(text);
  if (deep) return { findings: [finding('JOCH001', `joch.yaml is not valid YAML: it nests collections more than ${MAX_NESTING_DEPTH} levels deep`, { file, ...deep })] };
  const yaml = yamlLib();
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length) {
    const e = doc.errors[0];
    // At the error itself, not at the top of the file.
    const pos = lineCounter.linePos(e?.pos[0] ?? 0);
    const message = (e?.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    return { findings: [finding('JOCH001', `joch.yaml is not valid YAML: ${message}`, { file, line: pos.line, column: pos.col })] };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: DEFAULT_CONFIG.limits.maxAliasCount }) as unknown };
  } catch {
    // toJS throws when aliases expand past the limit (an alias bomb).
    return { findings: [finding('JOCH001', `joch.yaml: its aliases expand to more than ${DEFAULT_CONFIG.limits.maxAliasCount} nodes`, { file, line: 1, column: 1 })] };
  }
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/**
 * Applies the `severity` overrides of joch.yaml. A locked code may be raised
 * but not lowered or turned off; trying is itself an error, so a rule cannot
 * be silenced by configuration.
 */
export function applySeverityOverrides(findings: readonly Finding[], loaded: LoadedConfig): Finding[] {
  const overrides = loaded.config.severity;
  const refused: Finding[] = [];
  for (const [code, wanted] of Object.entries(overrides)) {
    const info = codeInfo(code);
    const at = { file: loaded.file ?? 'joch.yaml', doc: 0, path: ['severity', code] };
    if (!info) {
      refused.push(finding('JOCH001', `joch.yaml: severity: ${code} is not a diagnostic code`, at));
    } else if (info.locked && (wanted === 'off' || RANK[wanted] < RANK[info.severity])) {
      refused.push(finding('JOCH001', `joch.yaml: severity: ${code} (${info.name}) can be raised but not lowered or turned off`, at));
    }
  }
  const out: Finding[] = [];
  for (const f of findings) {
    const wanted = overrides[f.code];
    const info = codeInfo(f.code);
    if (wanted === undefined || (info?.locked && (wanted === 'off' || RANK[wanted] < RANK[f.severity]))) {
      out.push(f);
    } else if (wanted !== 'off') {
      out.push({ ...f, severity: wanted });
    }
  }
  return [...refused, ...out];
}
