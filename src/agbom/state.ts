/**
 * Generation state: per agent, the last generation and the hash of the
 * inventory it was made from. Plain data the caller stores (the sync loop
 * keeps it on the status branch, the CLI in a `--state` file), so the
 * history of generations is auditable in Git.
 */
import { z } from 'zod';
import { byString } from './identity.js';
import type { GenerationRecord } from './model.js';

export const STATE_API_VERSION = 'joch.dev/agbom-state/v1';

export interface GenerationState {
  readonly apiVersion: typeof STATE_API_VERSION;
  /** By agent key, `Agent/namespace/name`. */
  readonly agents: Readonly<Record<string, GenerationRecord>>;
}

const Record_ = z.object({
  generation: z.number().int().min(1),
  inventoryHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  createdAt: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
  revision: z.string().min(1).optional(),
});

const State = z.object({
  apiVersion: z.literal(STATE_API_VERSION),
  agents: z.record(z.string(), Record_),
});

export function emptyState(): GenerationState {
  return { apiVersion: STATE_API_VERSION, agents: {} };
}

/** Parses a stored state; throws an Error naming the first problem. */
export function parseState(text: string): GenerationState {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`the AgBOM state is not JSON: ${(e as Error).message}`);
  }
  const parsed = State.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`the AgBOM state is not valid at ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return parsed.data as GenerationState;
}

export function withGeneration(state: GenerationState, agent: string, record: GenerationRecord): GenerationState {
  return { apiVersion: STATE_API_VERSION, agents: { ...state.agents, [agent]: record } };
}

/** Stable text: agents sorted, so the status branch's history shows only real changes. */
export function serializeState(state: GenerationState): string {
  const agents: Record<string, GenerationRecord> = {};
  for (const k of Object.keys(state.agents).sort(byString)) {
    const r = state.agents[k]!;
    agents[k] = { generation: r.generation, inventoryHash: r.inventoryHash, createdAt: r.createdAt, ...(r.revision ? { revision: r.revision } : {}) };
  }
  return `${JSON.stringify({ apiVersion: STATE_API_VERSION, agents }, null, 2)}\n`;
}
