/**
 * What a parsed document is: a Joch resource of a catalog kind, or something
 * else that gets a deliberate, explained outcome (a Kubernetes object, a
 * documentation placeholder, server settings, compiler output, an unknown
 * kind).
 */
import { didYouMean, finding, type Finding, type SourcePointer } from '../diagnostics/index.js';
import { JOCH_GROUPS, JOCH_VERSION, KINDS, NON_CATALOG_KINDS, SHORT_GROUP, kindInfo, type KindInfo } from '../model/kinds.js';
import { resourceKey, type Resource } from '../model/resource.js';

/** A document of a catalog kind, whatever the state of its fields. */
export interface ManifestDocument {
  readonly file: string;
  readonly doc: number;
  readonly kind: KindInfo;
  readonly apiVersion: string;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface Classified {
  readonly document?: ManifestDocument | undefined;
  readonly resource?: Resource | undefined;
  readonly findings: Finding[];
}

const KIND_NAMES = KINDS.map((k) => k.kind);

/** `hash` is the sha256 of the document's source text (see parse.ts). */
export function classifyDocument(file: string, doc: number, value: unknown, defaultNamespace: string, hash = ''): Classified {
  const here = (path: (string | number)[], part?: 'key' | 'value'): SourcePointer => ({ file, doc, path, ...(part ? { part } : {}) });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'a sequence' : `a ${value === null ? 'null' : typeof value} value`;
    return { findings: [finding('JOCH109', `the document is ${what}, not a mapping with apiVersion and kind`, here([]))] };
  }
  const body = value as Record<string, unknown>;
  const { apiVersion, kind } = body;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
    const missing = [typeof apiVersion !== 'string' || !apiVersion ? 'apiVersion' : '', typeof kind !== 'string' || !kind ? 'kind' : '']
      .filter(Boolean)
      .join(' and ');
    return { findings: [finding('JOCH201', `the document has no ${missing}`, here([]))] };
  }

  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/', 2) as [string, string]) : ['', apiVersion];
  if (/^<.*>$/.test(kind)) {
    return {
      findings: [
        finding('JOCH205', `"${kind}" is a documentation placeholder, not a kind`, here(['kind']), {
          hint: `replace it with a kind of the catalog: ${KIND_NAMES.join(', ')}`,
        }),
      ],
    };
  }
  if (!JOCH_GROUPS.includes(group) && !group.endsWith('.joch.dev')) {
    return {
      findings: [
        finding('JOCH204', `${apiVersion} ${kind} is not a Joch resource; it is not validated or compiled`, here(['apiVersion']), {
          hint: 'keep plain Kubernetes manifests out of the Joch paths, or list them in .jochignore',
        }),
      ],
    };
  }
  const info = kindInfo(kind);
  if (!info) {
    const why = NON_CATALOG_KINDS.get(kind);
    if (why) {
      return { findings: [finding('JOCH206', `${kind} is ${why}; it is not part of the resource catalog and is ignored`, here(['kind']))] };
    }
    return {
      findings: [
        finding('JOCH202', `unknown kind "${kind}"`, here(['kind']), {
          hint: didYouMean(kind, KIND_NAMES) ?? `the catalog kinds are ${KIND_NAMES.join(', ')}`,
        }),
      ],
    };
  }
  if ((group !== SHORT_GROUP && group !== info.group) || version !== JOCH_VERSION) {
    const accepted = info.group === SHORT_GROUP ? `${SHORT_GROUP}/${JOCH_VERSION}` : `${SHORT_GROUP}/${JOCH_VERSION} or ${info.group}/${JOCH_VERSION}`;
    return {
      findings: [finding('JOCH203', `${kind} is served as ${accepted}, not ${apiVersion}`, here(['apiVersion']))],
    };
  }

  const document: ManifestDocument = { file, doc, kind: info, apiVersion, body };
  const findings: Finding[] = [];
  if (info.role === 'runtime') {
    findings.push(
      finding('JOCH207', `${kind} is a runtime record written by the Joch runtime; its shape is validated, but it is not reference-checked or compiled`, here(['kind'])),
    );
  }
  if (body.status !== undefined) {
    findings.push(finding('JOCH208', 'status is written by the controller; the status in this file is ignored', here(['status'], 'key')));
  }
  const resource = toResource(document, defaultNamespace, hash, findings, here);
  return { document, resource, findings };
}

function toResource(
  d: ManifestDocument,
  defaultNamespace: string,
  hash: string,
  findings: Finding[],
  here: (path: (string | number)[], part?: 'key' | 'value') => SourcePointer,
): Resource | undefined {
  const metadata = asRecord(d.body.metadata);
  const name = metadata?.name;
  // Without a string name there is no identity; the schema pass reports why.
  if (typeof name !== 'string' || name === '') return undefined;
  const written = typeof metadata?.namespace === 'string' ? metadata.namespace : undefined;
  let namespace: string | undefined;
  if (d.kind.scope === 'Cluster') {
    if (written !== undefined) {
      findings.push(
        finding('JOCH402', `${d.kind.kind} is cluster-scoped; metadata.namespace "${written}" is ignored`, here(['metadata', 'namespace'], 'key')),
      );
    }
  } else {
    namespace = written ?? defaultNamespace;
  }
  return {
    key: resourceKey(d.kind.kind, namespace, name),
    kind: d.kind.kind,
    apiVersion: d.apiVersion,
    group: d.kind.group,
    name,
    namespace,
    namespaceDefaulted: d.kind.scope === 'Namespaced' && written === undefined,
    labels: stringMap(metadata?.labels),
    annotations: stringMap(metadata?.annotations),
    spec: asRecord(d.body.spec) ?? {},
    body: d.body,
    file: d.file,
    doc: d.doc,
    contentHash: hash,
  };
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function stringMap(v: unknown): Record<string, string> {
  const rec = asRecord(v);
  if (!rec) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(rec)) if (typeof val === 'string') out[k] = val;
  return out;
}
