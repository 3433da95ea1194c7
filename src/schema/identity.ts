/**
 * The identity pass: names as Kubernetes will see them, labels and
 * annotations that Kubernetes accepts, and no resource defined twice.
 */
import { finding, type Finding } from '../diagnostics/index.js';
import { invalidLabelValue, invalidQualifiedName, kubernetesName } from '../model/names.js';
import { refOf, type Resource } from '../model/resource.js';

export function identityFindings(resources: readonly Resource[]): Finding[] {
  const out: Finding[] = [];
  const byKey = new Map<string, Resource>();
  const byKubeName = new Map<string, Resource>();
  // Resources arrive sorted by key; report duplicates on the later file.
  const inFileOrder = [...resources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.doc - b.doc));
  for (const r of inFileOrder) {
    const here = (path: (string | number)[], part?: 'key') => ({ file: r.file, doc: r.doc, path, ...(part ? { part } : {}) });
    const first = byKey.get(r.key);
    if (first) {
      out.push(
        finding('JOCH404', `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} is defined twice`, here(['metadata', 'name']), {
          resource: refOf(r),
          related: [{ at: { file: first.file, doc: first.doc, path: ['metadata', 'name'] }, message: 'first defined here' }],
        }),
      );
      continue;
    }
    byKey.set(r.key, r);

    const kube = kubernetesName(r.name);
    if (kube !== r.name) {
      out.push(
        finding('JOCH401', `"${r.name}" is not a valid Kubernetes name; it is compiled as "${kube}" (the original is kept in the joch.dev/name annotation)`, here(['metadata', 'name']), {
          resource: refOf(r),
        }),
      );
    }
    const kubeKey = `${r.kind}/${r.namespace ?? ''}/${kube}`;
    const clash = byKubeName.get(kubeKey);
    if (clash && clash.name !== r.name) {
      out.push(
        finding('JOCH405', `"${r.name}" and "${clash.name}" both compile to the Kubernetes name "${kube}"`, here(['metadata', 'name']), {
          resource: refOf(r),
          related: [{ at: { file: clash.file, doc: clash.doc, path: ['metadata', 'name'] }, message: 'the other one' }],
        }),
      );
    }
    byKubeName.set(kubeKey, r);

    for (const [k, v] of Object.entries(r.labels)) {
      // invalidLabelValue says "it ...": here "it" is the label's value.
      const why = invalidQualifiedName(k) ?? invalidLabelValue(v)?.replace(/^it /, 'its value ');
      if (why) out.push(finding('JOCH403', `label "${k}" is not valid in Kubernetes: ${why}`, here(['metadata', 'labels', k], 'key'), { resource: refOf(r) }));
    }
    for (const k of Object.keys(r.annotations)) {
      const why = invalidQualifiedName(k);
      if (why) out.push(finding('JOCH406', `annotation "${k}" is not valid in Kubernetes: ${why}`, here(['metadata', 'annotations', k], 'key'), { resource: refOf(r) }));
    }
  }
  return out;
}

