/** Generations move only when the inventory does, and their state round-trips as plain data. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildFleet,
  emptyState,
  parseState,
  renderCycloneDx,
  serializeState,
  STATE_API_VERSION,
  type GenerationState,
} from '../../src/agbom/index.js';
import type { ValidationRun } from '../../src/pipeline/index.js';
import { bomOf, contextOf, editedFleet, EXAMPLE_FLEET, load, replaceOnce, SOURCE_TIME } from './helpers.js';

let base: ValidationRun;
beforeAll(async () => {
  base = await load(EXAMPLE_FLEET);
});

describe('generations', () => {
  it('start at 1 and stay while the inventory is unchanged, keeping their first time and revision', () => {
    const first = bomOf(base, 'billing-agent');
    expect(first.generation).toMatchObject({ generation: 1, createdAt: '2025-01-01T00:00:00Z', revision: 'a'.repeat(40) });
    const later = bomOf(base, 'billing-agent', undefined, { previous: first.generation, sourceTime: SOURCE_TIME + 86400, revision: 'b'.repeat(40) });
    expect(later.generation).toEqual(first.generation);
    expect(renderCycloneDx(later)).toEqual(renderCycloneDx(first));
  });

  it('move when a dependency changes, with the new time and revision, and keep the serial number', async () => {
    const changed = await load(editedFleet({ 'finance-ops/billing.yaml': replaceOnce('callsPerMinute: 5', 'callsPerMinute: 50') }));
    const first = bomOf(base, 'billing-agent');
    const next = bomOf(changed, 'billing-agent', undefined, { previous: first.generation, sourceTime: SOURCE_TIME + 60, revision: 'c'.repeat(40) });
    expect(next.inventoryHash).not.toBe(first.inventoryHash);
    expect(next.generation).toMatchObject({ generation: 2, createdAt: '2025-01-01T00:01:00Z', revision: 'c'.repeat(40) });
    const doc = renderCycloneDx(next);
    expect(doc.version).toBe(2);
    expect(doc.serialNumber).toBe(renderCycloneDx(first).serialNumber);
  });

  it('do not move when a record only moves to another file', async () => {
    const MEMORY = /apiVersion: memory\.joch\.dev\/v1alpha1\nkind: Memory\n[\s\S]*?(?=---\n)/;
    const memory = MEMORY.exec(readFileSync(path.join(EXAMPLE_FLEET, 'finance-ops/billing.yaml'), 'utf8'))![0];
    const moved = editedFleet({ 'finance-ops/billing.yaml': (t) => t.replace(MEMORY, '') });
    writeFileSync(path.join(moved, 'finance-ops/memory.yaml'), memory);
    const after = await load(moved);
    const a = bomOf(base, 'billing-agent');
    const b = bomOf(after, 'billing-agent', undefined, { previous: a.generation });
    expect(b.inventory.components.find((c) => c.class === 'memory')!.file).toBe('finance-ops/memory.yaml');
    expect(b.inventoryHash).toBe(a.inventoryHash);
    expect(b.generation.generation).toBe(1);
  });

  it('thread through a fleet build, and the state round-trips as stable text', () => {
    const ctx = contextOf(base);
    const { boms, state } = buildFleet({ graphs: base.graphs }, ctx);
    expect(Object.keys(state.agents).sort()).toEqual(base.graphs.map((g) => g.agent.key).sort());
    expect(boms.every((b) => b.generation.generation === 1)).toBe(true);
    const text = serializeState(state);
    expect(parseState(text)).toEqual(state);
    expect(serializeState(parseState(text))).toBe(text);
    const again = buildFleet({ graphs: base.graphs, state: parseState(text) }, { ...ctx, sourceTime: SOURCE_TIME + 999 });
    expect(again.state).toEqual(state);
    const bumped: GenerationState = { apiVersion: STATE_API_VERSION, agents: { ...state.agents, [boms[0]!.inventory.agent]: { ...boms[0]!.generation, generation: 7, inventoryHash: `sha256:${'0'.repeat(64)}` } } };
    expect(buildFleet({ graphs: base.graphs, state: bumped }, ctx).boms[0]!.generation.generation).toBe(8);
  });

  it('refuse a malformed state', () => {
    expect(() => parseState('{')).toThrow(/not JSON/);
    expect(() => parseState(JSON.stringify({ ...emptyState(), agents: { 'Agent/a/b': { generation: 0, inventoryHash: 'x', createdAt: 'now' } } }))).toThrow(/agents\.Agent\/a\/b\.generation/);
  });
});
