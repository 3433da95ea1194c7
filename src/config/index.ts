/**
 * joch.yaml: the project configuration at the repository root, optional.
 * Parsed with zod so a typo in it is an error at its line, not a silent default.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { codeInfo, finding, type Finding, type Severity } from '../diagnostics/index.js';
import { deepNesting, MAX_NESTING_DEPTH, parseYamlFast } from '../manifests/index.js';

export const CONFIG_FILES = ['joch.yaml', 'joch.yml'];

const SeverityOverride = z.enum(['off', 'info', 'warning', 'error']);

/** A Kubernetes resource quantity such as `250m`, `1`, `512Mi` or `2Gi`. */
const QUANTITY_PATTERN = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const Quantity = z.string().regex(QUANTITY_PATTERN, 'must be a Kubernetes quantity such as 250m, 1, 512Mi or 2Gi');
const ResourceList = z.strictObject({ cpu: Quantity.optional(), memory: Quantity.optional(), 'ephemeral-storage': Quantity.optional() });
/** Container requests and limits; each layer fills only what the more specific ones leave unset. */
const Resources = z.strictObject({ requests: ResourceList.optional(), limits: ResourceList.optional() });

/** How agent workloads are bounded and isolated (docs/GOVERNANCE.md). */
const WorkloadsSchema = z.strictObject({
  /** `enforce` refuses pods that do not meet the restricted Pod Security Standard; `warn` only warns and audits. */
  podSecurity: z.enum(['enforce', 'warn']).default('enforce'),
  /** Requests and limits of every agent container, under the Environment and Team defaults. */
  resources: Resources.optional(),
  /** Deadline of each Execution's Job: a run that hangs is stopped rather than holding its quota forever. */
  executionDeadlineSeconds: z.number().int().positive().default(3600),
  /** Per Environment name: requests and limits of the workloads deployed to it (win over the Team's). */
  environments: z.record(z.string().min(1), z.strictObject({ resources: Resources.optional() })).default({}),
  /** Per Team name: requests and limits of its agents, and a ResourceQuota (with a LimitRange) for each namespace it owns. */
  teams: z
    .record(
      z.string().min(1),
      z.strictObject({
        resources: Resources.optional(),
        /** ResourceQuota `hard`, e.g. `requests.cpu: "8"`, `limits.memory: 32Gi`, `pods: "50"`. */
        quota: z.record(z.string().regex(/^[a-z0-9./-]+$/i, 'must be a ResourceQuota resource name such as requests.cpu or pods'), Quantity).optional(),
      }),
    )
    .default({}),
});

export type WorkloadSettings = z.infer<typeof WorkloadsSchema>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ClusterName = z.string().regex(DNS_LABEL, 'must be a DNS-1123 label (lowercase letters, digits and "-")').max(63);
const InventoryName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be NAMESPACE/NAME');

/**
 * How to reach one cluster: exactly one of a context of the kubeconfig in
 * use, a kubeconfig file (optionally with its context), the in-cluster
 * service account, or a Kubernetes Secret holding a kubeconfig (read by
 * `joch sync` through the cluster it runs in, by `diff` and `apply` through
 * the kubeconfig in use).
 */
const ClusterAccess = z
  .strictObject({
    context: z.string().min(1).optional(),
    /** Relative to joch.yaml's folder for the CLI, to the working folder for `joch sync`. */
    kubeconfig: z.string().min(1).optional(),
    inCluster: z.literal(true).optional(),
    secretRef: z.strictObject({ namespace: ClusterName, name: z.string().min(1), key: z.string().min(1).default('kubeconfig') }).optional(),
    /** The ApplySet parent in this cluster (default: the command's --inventory, joch-system/joch-inventory). */
    inventory: InventoryName.optional(),
  })
  .refine((c) => [c.kubeconfig ?? c.context, c.inCluster, c.secretRef].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one way to reach the cluster: context, kubeconfig (with an optional context), inCluster or secretRef',
  })
  .refine((c) => c.context === undefined || c.inCluster === undefined, { message: 'inCluster takes no context', path: ['context'] })
  .refine((c) => c.context === undefined || c.secretRef === undefined, { message: 'secretRef takes no context', path: ['context'] });

export type ClusterAccess = z.infer<typeof ClusterAccess>;
export type ResourceSettings = z.infer<typeof Resources>;

export const ConfigSchema = z.strictObject({
  apiVersion: z.literal('joch.dev/v1alpha1').optional(),
  kind: z.literal('Project').optional(),
  /** Files and folders to read, relative to the repository root. */
  paths: z.array(z.string().min(1)).min(1).default(['.']),
  /** gitignore-style patterns to leave out, in addition to .jochignore. */
  exclude: z.array(z.string().min(1)).default([]),
  /** Namespace of namespaced resources that do not name one. */
  defaultNamespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits and "-")')
    .max(63)
    .default('default'),
  /** Severity per diagnostic code: off, info, warning or error. */
  severity: z.record(z.string().regex(/^JOCH\d{3}$/, 'must be a diagnostic code such as JOCH401'), SeverityOverride).default({}),
  limits: z
    .strictObject({
      maxFileBytes: z.number().int().positive().default(5 * 1024 * 1024),
      maxAliasCount: z.number().int().min(0).default(100),
      maxDocumentsPerFile: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  /** The policy stage. Both lists only add: the built-in production names and baseline cannot be narrowed. */
  policy: z
    .strictObject({
      /** Environment names treated as production in addition to prod and production. */
      productionEnvironments: z.array(z.string().min(1)).default([]),
      /** Approver roles that promotion gates may name, in addition to Teams and their members. */
      approverRoles: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  workloads: WorkloadsSchema.prefault({}),
  /**
   * Placement: the clusters Environments name (`spec.runtime.cluster`) and how
   * to reach each. Without it everything goes to the one cluster of the
   * kubeconfig in use, as before clusters could be named.
   */
  clusters: z
    .record(z.string(), ClusterAccess)
    .superRefine((clusters, ctx) => {
      // On the key itself, with the rule: zod's own record-key message does not say what is wrong.
      for (const name of Object.keys(clusters)) {
        if (!ClusterName.safeParse(name).success) ctx.addIssue({ code: 'custom', message: 'a cluster name must be a DNS-1123 label (lowercase letters, digits and "-")', path: [name] });
      }
    })
    .optional(),
  /** The cluster that receives what no Environment places; may be left out when one cluster is mapped. */
  defaultCluster: ClusterName.optional(),
})
  .refine((c) => c.defaultCluster === undefined || (c.clusters !== undefined && c.defaultCluster in c.clusters), {
    message: 'must name a cluster of `clusters`',
    path: ['defaultCluster'],
  })
  .refine((c) => c.clusters === undefined || c.defaultCluster !== undefined || Object.keys(c.clusters).length === 1, {
    message: 'name the cluster that receives what no Environment places (defaultCluster) when more than one is mapped',
    path: ['clusters'],
  })
  .refine((c) => c.clusters === undefined || Object.keys(c.clusters).length > 0, { message: 'map at least one cluster, or leave `clusters` out', path: ['clusters'] });

export type Config = z.infer<typeof ConfigSchema>;

export const DEFAULT_CONFIG: Config = ConfigSchema.parse({});

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
  const deep = deepNesting(text);
  if (deep) return invalid([finding('JOCH001', `joch.yaml is not valid YAML: it nests collections more than ${MAX_NESTING_DEPTH} levels deep`, { file, ...deep })]);
  const value = fastConfigValue(text) ?? composeConfig(text, file);
  if (isInvalid(value)) return invalid(value.findings);
  const parsed = ConfigSchema.safeParse(value.value ?? {});
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
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
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
