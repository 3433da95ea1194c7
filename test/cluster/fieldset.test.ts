/**
 * The owned-fields comparison on its own (no cluster): the rules the no-op
 * and diff depend on, with FieldsV1 shapes as the API server writes them.
 */
import { describe, expect, it } from 'vitest';
import { compareOwned } from '../../src/cluster/fieldset.js';
import { parseQuantity } from '../../src/model/quantity.js';
import type { FieldsNode } from '../../src/cluster/fieldset.js';

const ctx = { quantities: true };
const live = (spec: unknown): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, spec });
const want = (spec: unknown): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, spec });

describe('compareOwned', () => {
  const ports: FieldsNode = {
    'f:spec': { 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} }, 'k:{"containerPort":80,"protocol":"UDP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } } },
  };

  it('matches list items whose key field the server defaulted', () => {
    const desired = want({ ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'UDP' }] });
    const actual = live({ ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 80, protocol: 'UDP' }] });
    expect(compareOwned(desired, actual, ports, ctx)).toEqual({ changes: [], unownedEqual: 0 });
  });

  it('reports an owned item the desired object dropped as a removal', () => {
    const desired = want({ ports: [{ containerPort: 80 }] });
    const actual = live({ ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 80, protocol: 'UDP' }] });
    expect(compareOwned(desired, actual, ports, ctx).changes).toEqual([
      { path: 'spec.ports[containerPort=80,protocol=UDP]', op: 'remove', before: { containerPort: 80, protocol: 'UDP' } },
    ]);
  });

  it('ignores fields it does not own, and counts equal fields it does not own yet', () => {
    const owned: FieldsNode = { 'f:spec': { 'f:a': {} } };
    const r = compareOwned(want({ a: 1, b: 2 }), live({ a: 1, b: 2, defaulted: true }), owned, ctx);
    expect(r).toEqual({ changes: [], unownedEqual: 1 });
  });

  it('compares sets by value and atomic values as a whole', () => {
    const owned: FieldsNode = { 'f:spec': { 'f:finalizers': { 'v:"a"': {}, 'v:"b"': {} }, 'f:selector': {} } };
    const r = compareOwned(
      want({ finalizers: ['a', 'c'], selector: { matchLabels: { app: 'x' } } }),
      live({ finalizers: ['a', 'b'], selector: { matchLabels: { app: 'y' } } }),
      owned,
      ctx,
    );
    expect(r.changes).toEqual([
      { path: 'spec.finalizers["c"]', op: 'add', after: 'c' },
      { path: 'spec.finalizers["b"]', op: 'remove', before: 'b' },
      { path: 'spec.selector', op: 'change', before: { matchLabels: { app: 'y' } }, after: { matchLabels: { app: 'x' } } },
    ]);
  });

  it('treats empty desired values the server omits as equal', () => {
    const owned: FieldsNode = { 'f:spec': { 'f:env': { 'k:{"name":"E"}': { '.': {}, 'f:name': {}, 'f:value': {} } } } };
    expect(compareOwned(want({ env: [{ name: 'E', value: '' }] }), live({ env: [{ name: 'E' }] }), owned, ctx).changes).toEqual([]);
  });
});

describe('parseQuantity', () => {
  const same = (a: string, b: string): boolean => {
    const qa = parseQuantity(a);
    const qb = parseQuantity(b);
    return !!qa && !!qb && qa.num * qb.den === qb.num * qa.den;
  };
  it('treats canonical and written forms alike', () => {
    expect(same('0.5', '500m')).toBe(true);
    expect(same('1024Mi', '1Gi')).toBe(true);
    expect(same('1e3', '1k')).toBe(true);
    expect(same('1', '1000m')).toBe(true);
    expect(same('1Ki', '1k')).toBe(false);
    expect(parseQuantity('fast')).toBeUndefined();
  });
});
