/**
 * joch.yaml's `workloads` names Environments and Teams by name. A name no
 * record defines would silently leave workloads on the defaults (a typo in
 * `prod` bounds production by the repository default), so each is a warning
 * at its key in joch.yaml.
 */
import type { LoadedConfig } from '../config/index.js';
import { finding, type Finding } from '../diagnostics/index.js';
import type { Resource } from '../model/resource.js';
import { didYouMean } from '../diagnostics/suggest.js';

export function unknownWorkloadNames(loaded: LoadedConfig, resources: readonly Resource[]): Finding[] {
  const { workloads } = loaded.config;
  const out: Finding[] = [];
  for (const [section, kind] of [
    ['environments', 'Environment'],
    ['teams', 'Team'],
  ] as const) {
    const defined = [...new Set(resources.filter((r) => r.kind === kind).map((r) => r.name))].sort();
    for (const name of Object.keys(workloads[section]).sort()) {
      if (defined.includes(name)) continue;
      const hint = didYouMean(name, defined);
      const at = { file: loaded.file ?? 'joch.yaml', doc: 0, path: ['workloads', section, name] };
      out.push(finding('JOCH004', `joch.yaml: workloads.${section}.${name} names no ${kind} of the repository; its settings apply to nothing`, at, hint ? { hint } : {}));
    }
  }
  return out;
}
