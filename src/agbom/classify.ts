/**
 * Judgements the inventory makes from records: where a network endpoint
 * sits relative to the agent's trust boundary, how sensitive the data an
 * agent holds is, and what a model does. Each rule is small and written
 * down in the README, because reviewers act on these values.
 */
import type { Resource } from '../model/resource.js';
import { bool, num, str } from './spec.js';
import type { ModelFacts } from './model.js';

/** Sensitivity levels of the KnowledgeSource schema, least to most sensitive. */
export const SENSITIVITY = ['public', 'internal', 'customer-tier', 'pii', 'regulated'] as const;

/** Whatever an organization's agent handles is at least internal data. */
export const DEFAULT_CLASSIFICATION = 'internal';

export function maxSensitivity(levels: readonly (string | undefined)[], floor = DEFAULT_CLASSIFICATION): string {
  let best = SENSITIVITY.indexOf(floor as (typeof SENSITIVITY)[number]);
  for (const l of levels) {
    const i = SENSITIVITY.indexOf(l as (typeof SENSITIVITY)[number]);
    if (i > best) best = i;
  }
  return SENSITIVITY[Math.max(best, 0)]!;
}

export function personalDataOf(sensitivity: string | undefined): 'yes' | 'no' | 'noAssertion' {
  if (sensitivity === 'pii' || sensitivity === 'regulated') return 'yes';
  if (sensitivity === 'public') return 'no';
  return 'noAssertion';
}

export interface Zone {
  readonly crossesTrustBoundary: boolean;
  readonly trustZone: string;
}

/**
 * The agent's trust boundary is its runtime and the cluster it runs in: a
 * host on loopback or a cluster-local service name stays inside; any other
 * host, an organization's internal one included, is reached across it.
 */
export function zoneOfUrl(url: string): Zone {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return { crossesTrustBoundary: true, trustZone: 'unknown' };
  }
  if (host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1') {
    return { crossesTrustBoundary: false, trustZone: 'runtime' };
  }
  if (host.endsWith('.svc') || host.endsWith('.cluster.local')) return { crossesTrustBoundary: false, trustZone: 'cluster' };
  return { crossesTrustBoundary: true, trustZone: host };
}

/** A model's endpoint: a local model on a cluster address stays inside; a hosted one is the provider's. */
export function zoneOfModel(model: Resource): Zone {
  const baseUrl = str(model.spec, 'endpoint', 'baseUrl');
  if (baseUrl) return zoneOfUrl(baseUrl);
  return { crossesTrustBoundary: true, trustZone: `provider:${str(model.spec, 'provider') ?? 'unknown'}` };
}

const INPUTS: readonly (readonly [string, string])[] = [
  ['text', 'text'],
  ['vision', 'image'],
  ['audio', 'audio'],
];

/** Model card facts from the Model record's capabilities; nothing is assumed that the record does not say. */
export function modelFactsOf(model: Resource): ModelFacts {
  const caps = (name: string) => bool(model.spec, 'capabilities', name) === true;
  const embeddings = caps('embeddings') && !caps('text');
  const inputs = embeddings ? ['text'] : INPUTS.filter(([c]) => caps(c)).map(([, f]) => f);
  return {
    provider: str(model.spec, 'provider') ?? 'unknown',
    modelId: str(model.spec, 'model') ?? model.name,
    task: embeddings ? 'feature-extraction' : 'text-generation',
    inputs,
    outputs: embeddings ? ['embedding'] : caps('text') ? ['text'] : [],
    typeOfModel: embeddings ? 'embedding model' : 'large language model',
    contextWindowTokens: num(model.spec, 'limits', 'contextWindowTokens'),
  };
}
