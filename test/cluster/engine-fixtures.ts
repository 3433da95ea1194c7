/**
 * Small hand-made object sets for the cluster-engine suites (the Joch
 * compiler output is not available yet), and helpers to inspect the cluster
 * the way a user would.
 */
import { ApiException, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { DesiredObject, KubeObject, Origin } from '../../src/cluster/index.js';

export const GROUP = 'test.joch.dev';

export function origin(file: string, line = 1, column = 1): Origin {
  return { file, line, column };
}

/** A desired object whose origin is `manifests/<kind>-<name>.yaml:<line>:1`. */
export function desired(object: KubeObject, line = 1): DesiredObject {
  return { object, origin: origin(`manifests/${object.kind.toLowerCase()}-${object.metadata.name}.yaml`, line, 1) };
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function configMap(ns: string, name: string, data: Record<string, string>, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...extra }, data };
}

export function secret(ns: string, name: string, stringData: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', stringData };
}

export function deployment(ns: string, name: string, opts: { image?: string; replicas?: number; selector?: Record<string, string>; cpu?: string } = {}): KubeObject {
  const labels = opts.selector ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: opts.image ?? 'registry.example/agent:1.0',
              ports: [{ containerPort: 8080 }],
              env: [{ name: 'MODE', value: 'serve' }, { name: 'EMPTY', value: '' }],
              resources: { limits: { cpu: opts.cpu ?? '0.5', memory: '1024Mi' } },
            },
          ],
        },
      },
    },
  };
}

export function job(ns: string, name: string, command: string[]): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: 'registry.example/tool:1', command }] } },
    },
  };
}

/** A namespaced CRD of the test group, with a status subresource. */
export function widgetCrd(plural = 'widgets', kind = 'Widget'): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  required: ['size'],
                  properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string', default: 'grey' } },
                },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

export function widget(ns: string, name: string, spec: Record<string, unknown>, kind = 'Widget'): KubeObject {
  return { apiVersion: `${GROUP}/v1`, kind, metadata: { name, namespace: ns }, spec };
}

// ---------------------------------------------------------------------------
// Looking at the cluster directly (not through the engine under test)

export function objectApi(kc: KubeConfig): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kc);
}

export async function readLive(kc: KubeConfig, o: KubeObject): Promise<KubeObject | undefined> {
  try {
    return (await objectApi(kc).read({
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) },
    })) as unknown as KubeObject;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** Server-side apply as some other tool would. */
export function applyAs(kc: KubeConfig, manager: string, o: KubeObject, force = false): Promise<KubernetesObject> {
  return objectApi(kc).patch(o as KubernetesObject, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
