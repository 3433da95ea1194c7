/**
 * `joch get KIND [NAME]` and `joch describe KIND/NAME`: the resources of a
 * repository (or, for get with --kubeconfig/--context, the custom resources
 * in a cluster) in kubectl's shapes: a table, `-o wide`, `-o name`, or the
 * documents as JSON or YAML.
 */
import { stringify } from 'yaml';
import { didYouMean, redactText, type PathSegment } from '../diagnostics/index.js';
import { Locator } from '../manifests/index.js';
import { KINDS, type KindInfo } from '../model/kinds.js';
import { groupBy } from '../model/group.js';
import type { Resource } from '../model/resource.js';
import { runValidate, type ValidationRun } from '../pipeline/index.js';
import { explainAgent, renderExplanation } from '../policy/index.js';
import { UsageError, type CommandContext, type CommandInput } from './context.js';
import { inputPaths, namesCluster, outputOf } from './flags.js';
import { renderData } from './output.js';
import { Progress } from './progress.js';

/** A resource as get and describe show it, wherever it was read from. */
interface Row {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly where: string;
  readonly references: number;
  readonly referencedBy: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The kind a user typed, in any spelling kubectl accepts: Agent, agent, agents, or the short name. */
export function resolveKind(typed: string): KindInfo {
  const t = typed.toLowerCase().split('.')[0] ?? '';
  const hit = KINDS.find((k) => k.kind.toLowerCase() === t || k.plural === t || k.shortNames.includes(t));
  if (hit) return hit;
  const hint = didYouMean(t, KINDS.flatMap((k) => [k.kind.toLowerCase(), k.plural]));
  throw new UsageError(`unknown kind "${typed}"${hint ? `; ${hint}` : ''}`);
}

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [typedKind = '', name] = input.args;
  const kind = resolveKind(typedKind);
  const namespace = input.opts['all-namespaces'] === true ? undefined : (input.opts.namespace as string | undefined);
  const rows = namesCluster(input.opts)
    ? await clusterRows(kind, namespace, input, ctx)
    : repositoryRows(await loadRepository(input, input.args.slice(2), ctx), kind, namespace);
  const selected = name === undefined ? rows : rows.filter((r) => r.name === name);
  if (name !== undefined && selected.length === 0) throw notFound(kind, name, namespace, rows.map((r) => r.name));
  ctx.stdout(renderRows(selected, kind, outputOf(input.opts), { showNamespace: namespace === undefined && kind.scope === 'Namespaced', single: name !== undefined }));
  return 0;
}

/** A resource of this kind and name is not there: the nearest name, when one is close. */
function notFound(kind: KindInfo, name: string, namespace: string | undefined, names: readonly string[]): UsageError {
  const hint = didYouMean(name, names);
  return new UsageError(`${kind.kind} "${name}" not found${namespace ? ` in namespace ${namespace}` : ''}${hint ? `; ${hint}` : ''}`);
}

async function loadRepository(input: CommandInput, operands: readonly string[], ctx: CommandContext): Promise<ValidationRun> {
  const paths = await inputPaths(input.opts, operands, ctx);
  const progress = Progress.start(ctx, input.opts);
  progress.step('loading the repository');
  const run = await runValidate({ paths, cwd: ctx.cwd, configFile: input.opts.config as string | undefined });
  progress.done();
  return run;
}

function repositoryRows(run: ValidationRun, kind: KindInfo, namespace: string | undefined): Row[] {
  const locator = new Locator((file) => run.set.texts.get(file));
  // Counted once for the repository, not once per listed resource.
  const references = groupBy(run.validation.references, (x) => x.from);
  const referencedBy = groupBy(run.validation.references, (x) => x.to);
  return run.set.resources
    .filter((r) => r.kind === kind.kind && (namespace === undefined || r.namespace === namespace))
    .map((r) => ({
      kind: r.kind,
      apiVersion: r.apiVersion,
      namespace: r.namespace,
      name: r.name,
      where: `${r.file}:${locator.locate({ file: r.file, doc: r.doc, path: [] }).line}`,
      references: references.get(r.key)?.length ?? 0,
      referencedBy: referencedBy.get(r.key)?.length ?? 0,
      body: r.body,
    }));
}

async function clusterRows(kind: KindInfo, namespace: string | undefined, input: CommandInput, ctx: CommandContext): Promise<Row[]> {
  const { CustomObjectsApi } = await import('@kubernetes/client-node');
  const { kubeConfigOf } = await import('./cluster.js');
  const kc = kubeConfigOf(input, ctx);
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: kind.group, version: kind.version, plural: kind.plural };
  const list = (namespace !== undefined && kind.scope === 'Namespaced'
    ? await api.listNamespacedCustomObject({ ...base, namespace })
    : await api.listClusterCustomObject(base)) as { items?: Record<string, unknown>[] };
  const server = kc.getCurrentCluster()?.server ?? 'the cluster';
  return (list.items ?? [])
    .map((item) => {
      const meta = (item.metadata ?? {}) as { name?: string; namespace?: string };
      return {
        kind: kind.kind,
        apiVersion: String(item.apiVersion ?? `${kind.group}/${kind.version}`),
        namespace: meta.namespace,
        name: meta.name ?? '',
        where: server,
        references: 0,
        referencedBy: 0,
        body: item,
      };
    })
    .sort((a, b) => `${a.namespace ?? ''}/${a.name}`.localeCompare(`${b.namespace ?? ''}/${b.name}`));
}

function renderRows(rows: readonly Row[], kind: KindInfo, format: string, how: { showNamespace: boolean; single: boolean }): string {
  if (format === 'name') return rows.map((r) => `${kind.kind.toLowerCase()}/${r.name}\n`).join('');
  if (format === 'json' || format === 'yaml') {
    const value = how.single && rows.length === 1 ? rows[0]?.body : { apiVersion: 'v1', kind: 'List', items: rows.map((r) => r.body) };
    return redactText(renderData(format, value));
  }
  if (rows.length === 0) return `No ${kind.plural} found.\n`;
  const wide = format === 'wide';
  const header = [...(how.showNamespace ? ['NAMESPACE'] : []), 'NAME', ...(wide ? ['API VERSION', 'REFERENCES', 'REFERENCED BY'] : []), 'SOURCE'];
  const lines = rows.map((r) => [
    ...(how.showNamespace ? [r.namespace ?? ''] : []),
    r.name,
    ...(wide ? [r.apiVersion, String(r.references), String(r.referencedBy)] : []),
    r.where,
  ]);
  return table([header, ...lines]);
}

/** Columns padded to their widest cell, three spaces apart, as kubectl prints them. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd() + '\n').join('');
}

// ---------------------------------------------------------------------------
// joch describe

export async function describe(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [first = '', second] = input.args;
  const slash = first.indexOf('/');
  const typedKind = slash > 0 ? first.slice(0, slash) : first;
  const name = slash > 0 ? first.slice(slash + 1) : second;
  if (!name) throw new UsageError('name the resource: joch describe KIND/NAME or KIND NAME');
  const kind = resolveKind(typedKind);
  if (namesCluster(input.opts)) return describeInCluster(kind, name, input, ctx);
  const run = await loadRepository(input, slash > 0 ? input.args.slice(1) : input.args.slice(2), ctx);
  const namespace = input.opts.namespace as string | undefined;
  const matches = run.set.resources.filter((r) => r.kind === kind.kind && r.name === name && (namespace === undefined || r.namespace === namespace));
  if (matches.length > 1) throw new UsageError(`${kind.kind} "${name}" exists in namespaces ${matches.map((r) => r.namespace).join(', ')}; choose one with -n`);
  const resource = matches[0];
  if (!resource) throw notFound(kind, name, namespace, run.set.resources.filter((r) => r.kind === kind.kind).map((r) => r.name));
  const { explanation, ...view } = resolvedView(run, resource);
  const format = outputOf(input.opts);
  ctx.stdout(redactText(format === 'json' || format === 'yaml' ? renderData(format, view) : describeText({ ...view, ...(explanation === undefined ? {} : { explanation }) })));
  return 0;
}

/** The custom resource as the cluster has it: its spec and the status joch wrote. */
async function describeInCluster(kind: KindInfo, name: string, input: CommandInput, ctx: CommandContext): Promise<number> {
  const namespace = input.opts.namespace as string | undefined;
  if (kind.scope === 'Namespaced' && namespace === undefined) throw new UsageError(`${kind.kind} is namespaced: name the namespace with -n`);
  const { CustomObjectsApi } = await import('@kubernetes/client-node');
  const { kubeConfigOf } = await import('./cluster.js');
  const kc = kubeConfigOf(input, ctx);
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: kind.group, version: kind.version, plural: kind.plural, name };
  let item: Record<string, unknown>;
  try {
    item = (namespace !== undefined && kind.scope === 'Namespaced' ? await api.getNamespacedCustomObject({ ...base, namespace }) : await api.getClusterCustomObject(base)) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: number }).code === 404) throw new UsageError(`${kind.kind} "${name}" not found in the cluster${namespace ? ` in namespace ${namespace}` : ''}`);
    throw e;
  }
  const format = outputOf(input.opts);
  if (format === 'json' || format === 'yaml') {
    ctx.stdout(redactText(renderData(format, item)));
    return 0;
  }
  const meta = (item.metadata ?? {}) as { namespace?: string; labels?: Record<string, string> };
  const block = (title: string, value: unknown) => (value === undefined ? [] : [`${title}:`, ...stringify(value).trimEnd().split('\n').map((l) => `  ${l}`)]);
  const lines = [
    `Name:         ${name}`,
    ...(meta.namespace ? [`Namespace:    ${meta.namespace}`] : []),
    `Kind:         ${kind.kind}`,
    `API Version:  ${String(item.apiVersion)}`,
    `Source:       ${kc.getCurrentCluster()?.server ?? 'the cluster'}`,
    `Labels:       ${Object.entries(meta.labels ?? {}).map(([k, x]) => `${k}=${x}`).join(', ') || '<none>'}`,
    ...block('Spec', item.spec),
    ...block('Status', item.status),
  ];
  ctx.stdout(redactText(`${lines.join('\n')}\n`));
  return 0;
}

interface Edge {
  readonly path: string;
  readonly kind: string;
  readonly name: string;
  readonly resolved?: string;
  readonly at?: string;
}

interface ResolvedView {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace?: string;
  readonly name: string;
  readonly source: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly references: readonly Edge[];
  readonly referencedBy: readonly Edge[];
  readonly capabilities?: unknown;
}

function resolvedView(run: ValidationRun, r: Resource): ResolvedView & { explanation?: string } {
  const locator = new Locator((file) => run.set.texts.get(file));
  const byKey = new Map(run.set.resources.map((x) => [x.key, x]));
  const place = (x: Resource, path: readonly PathSegment[]) => {
    const l = locator.locate({ file: x.file, doc: x.doc, path });
    return `${l.file}:${l.line}`;
  };
  const refs = run.validation.references;
  const references = refs
    .filter((e) => e.from === r.key)
    .map((e) => {
      const target = e.to === undefined ? undefined : byKey.get(e.to);
      return { path: pathText(e.path), kind: e.kind, name: e.written, ...(target ? { resolved: keyText(target), at: place(target, []) } : {}) };
    });
  const referencedBy = refs
    .filter((e) => e.to === r.key)
    .flatMap((e) => {
      const from = byKey.get(e.from);
      return from ? [{ path: pathText(e.path), kind: from.kind, name: keyText(from), at: place(from, e.path) }] : [];
    });
  const evaluation = r.kind === 'Agent' ? run.policy?.agents.find((a) => a.agent.key === r.key) : undefined;
  const capabilities = evaluation ? (JSON.parse(renderExplanation(explainAgent(evaluation, (p) => locator.locate(p)), 'json')) as unknown) : undefined;
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    ...(r.namespace === undefined ? {} : { namespace: r.namespace }),
    name: r.name,
    source: place(r, []),
    labels: r.labels,
    spec: r.spec,
    references,
    referencedBy,
    ...(capabilities === undefined ? {} : { capabilities }),
    ...(evaluation ? { explanation: renderExplanation(explainAgent(evaluation, (p) => locator.locate(p)), 'text') } : {}),
  };
}

function describeText(v: ResolvedView & { explanation?: string }): string {
  const lines = [
    `Name:         ${v.name}`,
    ...(v.namespace === undefined ? [] : [`Namespace:    ${v.namespace}`]),
    `Kind:         ${v.kind}`,
    `API Version:  ${v.apiVersion}`,
    `Source:       ${v.source}`,
    `Labels:       ${Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(', ') || '<none>'}`,
    'Spec:',
    ...stringify(v.spec).trimEnd().split('\n').map((l) => `  ${l}`),
    'References:',
    ...(v.references.length ? v.references.map((e) => `  ${e.path.padEnd(32)} -> ${e.resolved ? `${e.resolved} (${e.at})` : `${e.kind} "${e.name}" (not found)`}`) : ['  <none>']),
    'Referenced by:',
    ...(v.referencedBy.length ? v.referencedBy.map((e) => `  ${e.name} at ${e.path} (${e.at})`) : ['  <none>']),
  ];
  if (v.explanation !== undefined) lines.push('Effective capabilities:', ...v.explanation.trimEnd().split('\n').map((l) => (l.trim() ? `  ${l}` : '')));
  return `${lines.join('\n')}\n`;
}

function keyText(r: Resource): string {
  return `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

function pathText(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
