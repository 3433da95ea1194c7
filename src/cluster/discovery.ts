/**
 * Maps apiVersion/kind to REST resources. Uses aggregated discovery
 * (apidiscovery.k8s.io/v2: the whole API surface in two requests) and falls
 * back to per-group discovery on servers without it.
 */
import type { KubeClient } from './transport.js';
import type { KubeObject } from './types.js';

export interface ResourceMapping {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs. */
  resource: string;
  namespaced: boolean;
  verbs: readonly string[];
  hasStatus: boolean;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function groupKind(group: string, kind: string): string {
  return group ? `${kind}.${group}` : kind;
}

export function apiVersionOf(m: Pick<ResourceMapping, 'group' | 'version'>): string {
  return m.group ? `${m.group}/${m.version}` : m.version;
}

/** URL of a collection (namespace optional) or, with a name, of one object. */
export function resourcePath(m: ResourceMapping, namespace: string | undefined, name?: string, sub?: string): string {
  const root = m.group ? `/apis/${m.group}/${m.version}` : `/api/${m.version}`;
  const ns = m.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${root}${ns}/${m.resource}${obj}${sub ? `/${sub}` : ''}`;
}

const AGGREGATED_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

interface DiscoveryResource {
  resource: string;
  responseKind?: { group?: string; version?: string; kind?: string };
  scope?: string;
  verbs?: string[];
  subresources?: { subresource?: string }[];
}
interface DiscoveryGroup {
  metadata?: { name?: string };
  versions?: { version: string; resources?: DiscoveryResource[] }[];
}
interface LegacyResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}
interface LegacyGroupList {
  groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion?: { version: string } }[];
}

export class RestMapper {
  /** `group/version/kind` → mapping. */
  private readonly byGvk = new Map<string, ResourceMapping>();
  /** `Kind.group` → versions in server preference order. */
  private readonly preferred = new Map<string, string[]>();

  static async discover(client: KubeClient): Promise<RestMapper> {
    const mapper = new RestMapper();
    const [core, groups] = await Promise.all([
      client.request<{ kind?: string; items?: DiscoveryGroup[] }>({ method: 'GET', path: '/api', accept: AGGREGATED_ACCEPT, counter: 'discovery' }),
      client.request<{ kind?: string; items?: DiscoveryGroup[] }>({ method: 'GET', path: '/apis', accept: AGGREGATED_ACCEPT, counter: 'discovery' }),
    ]);
    if (core.kind === 'APIGroupDiscoveryList' && groups.kind === 'APIGroupDiscoveryList') {
      for (const g of [...(core.items ?? []), ...(groups.items ?? [])]) mapper.addAggregatedGroup(g);
    } else {
      await mapper.discoverLegacy(client, groups as unknown as LegacyGroupList);
    }
    return mapper;
  }

  find(apiVersion: string, kind: string): ResourceMapping | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return this.byGvk.get(`${group}/${version}/${kind}`);
  }

  /** The server's preferred version of a group/kind. */
  findPreferred(group: string, kind: string): ResourceMapping | undefined {
    const version = this.preferred.get(groupKind(group, kind))?.[0];
    return version === undefined ? undefined : this.byGvk.get(`${group}/${version}/${kind}`);
  }

  /** Namespaced kinds that can be listed, one (preferred) version each. */
  listableNamespaced(): ResourceMapping[] {
    const out: ResourceMapping[] = [];
    for (const gk of this.preferred.keys()) {
      const [kind, ...rest] = gk.split('.');
      const m = this.findPreferred(rest.join('.'), kind ?? '');
      if (m && m.namespaced && m.verbs.includes('list')) out.push(m);
    }
    return out;
  }

  add(m: ResourceMapping, preferred = false): void {
    this.byGvk.set(`${m.group}/${m.version}/${m.kind}`, m);
    const gk = groupKind(m.group, m.kind);
    const versions = this.preferred.get(gk) ?? [];
    if (!versions.includes(m.version)) {
      if (preferred) versions.unshift(m.version);
      else versions.push(m.version);
    }
    this.preferred.set(gk, versions);
  }

  private addAggregatedGroup(g: DiscoveryGroup): void {
    const group = g.metadata?.name ?? '';
    for (const v of g.versions ?? []) {
      for (const r of v.resources ?? []) {
        const kind = r.responseKind?.kind;
        if (!kind || r.resource.includes('/')) continue;
        this.add({
          group,
          version: v.version,
          kind,
          resource: r.resource,
          namespaced: r.scope === 'Namespaced',
          verbs: r.verbs ?? [],
          hasStatus: (r.subresources ?? []).some((s) => s.subresource === 'status'),
        });
      }
    }
  }

  private async discoverLegacy(client: KubeClient, groups: LegacyGroupList): Promise<void> {
    const gvs: { group: string; version: string; preferred: boolean }[] = [{ group: '', version: 'v1', preferred: true }];
    for (const g of groups.groups ?? []) {
      for (const v of g.versions) gvs.push({ group: g.name, version: v.version, preferred: v.version === g.preferredVersion?.version });
    }
    // Preferred versions first so that `preferred` lists them first.
    gvs.sort((a, b) => Number(b.preferred) - Number(a.preferred));
    const lists = await Promise.all(
      gvs.map((gv) =>
        client
          .request<LegacyResourceList>({
            method: 'GET',
            path: gv.group ? `/apis/${gv.group}/${gv.version}` : '/api/v1',
            counter: 'discovery',
          })
          .then((list) => ({ gv, list }))
          .catch(() => undefined),
      ),
    );
    for (const entry of lists) {
      if (!entry) continue;
      const subs = new Set(entry.list.resources.filter((r) => r.name.endsWith('/status')).map((r) => r.name.split('/')[0]));
      for (const r of entry.list.resources) {
        if (r.name.includes('/')) continue;
        this.add({
          group: entry.gv.group,
          version: entry.gv.version,
          kind: r.kind,
          resource: r.name,
          namespaced: r.namespaced,
          verbs: r.verbs ?? [],
          hasStatus: subs.has(r.name),
        });
      }
    }
  }
}

/**
 * The mappings a CustomResourceDefinition will serve, read from its spec, so
 * custom resources can be planned before their CRD exists.
 */
export function mappingsFromCrd(crd: KubeObject): ResourceMapping[] {
  const spec = crd['spec'] as
    | {
        group?: string;
        scope?: string;
        names?: { kind?: string; plural?: string };
        versions?: { name?: string; served?: boolean; storage?: boolean; subresources?: { status?: unknown } }[];
      }
    | undefined;
  const group = spec?.group;
  const kind = spec?.names?.kind;
  const plural = spec?.names?.plural;
  if (!group || !kind || !plural) return [];
  const versions = [...(spec?.versions ?? [])].sort((a, b) => Number(b.storage === true) - Number(a.storage === true));
  return versions
    .filter((v) => v.served !== false && v.name)
    .map((v) => ({
      group,
      version: v.name as string,
      kind,
      resource: plural,
      namespaced: spec?.scope !== 'Cluster',
      verbs: ['get', 'list', 'patch', 'delete', 'create', 'update', 'watch'],
      hasStatus: v.subresources?.status !== undefined,
    }));
}
