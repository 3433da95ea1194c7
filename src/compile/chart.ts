/**
 * cdk8s is the object model: each compile unit is a Chart in an App of its
 * own, every object an ApiObject in it, and the unit's objects come out of
 * the chart's synthesis (`Chart.toJson()`, which also runs the constructs'
 * validation). One App per unit keeps synthesis linear: `Chart.toJson()`
 * prepares and validates the whole App it belongs to, so one App of thousands
 * of charts costs quadratic time. YAML is written by ./yaml.ts, not by cdk8s.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { CompiledObject, KubeObject } from './types.js';

/**
 * An ApiObject whose JSON is the compiled object as built. The compiler builds
 * plain JSON (no cdk8s tokens, no undefined members, keys in a deliberate
 * order), so cdk8s's generic token resolution and key sorting have nothing to
 * do; they cost about half of the compile time of a large fleet.
 */
class CompiledApiObject extends ApiObject {
  constructor(
    scope: Construct,
    id: string,
    private readonly plain: KubeObject,
  ) {
    super(scope, id, plain);
  }

  override toJson(): KubeObject {
    return { ...this.plain };
  }
}

function identity(o: KubeObject): string {
  return `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
}

/** Construct ids may not contain the path separator. */
function constructId(o: KubeObject): string {
  return identity(o).replace(/\//g, '~');
}

/** Synthesizes a unit's objects through a cdk8s Chart; the origins ride along by identity. */
export function synthUnit(unit: string, objects: readonly CompiledObject[]): CompiledObject[] {
  if (!objects.length) return [];
  const app = new App({ outdir: 'cdk8s.out' });
  const chart = new Chart(app, constructId({ apiVersion: 'joch', kind: 'unit', metadata: { name: unit } }), { disableResourceNameHashes: true });
  const origins = new Map<string, CompiledObject['origin']>();
  const duplicates: CompiledObject[] = [];
  for (const o of objects) {
    const id = constructId(o.object);
    // A construct id is unique in its chart: a second object of the same
    // identity passes through as it is, and the collision check reports it.
    if (origins.has(id)) {
      duplicates.push(o);
      continue;
    }
    origins.set(id, o.origin);
    new CompiledApiObject(chart, id, o.object);
  }
  const synthesized = (chart.toJson() as KubeObject[]).map((object) => ({ object, origin: origins.get(constructId(object)) }));
  return [...synthesized, ...duplicates];
}

export { identity as objectIdentity };
