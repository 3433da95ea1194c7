/**
 * What a person reads: errors ordered by cause and summarised, a pod's
 * reason for not being ready, and who last wrote an object (the member
 * watch's test for drift). Pure functions, no cluster.
 */
import { expect, it } from 'vitest';
import { lastWriter, summarizeErrors, type ClusterError, type KubeObject } from '../../src/cluster/index.js';
import { podReason } from '../../src/cluster/workload-reasons.js';

const statusError = (i: number): ClusterError => ({
  code: 'unknown-kind',
  phase: 'status',
  ref: { apiVersion: 'joch.dev/v1alpha1', kind: 'Agent', namespace: 'team', name: `agent-${i}` },
  message: 'the cluster serves no kind Agent in joch.dev/v1alpha1',
});

it('puts the cause first and counts the repeats of a follow-on error', () => {
  const cause: ClusterError = { code: 'forbidden', phase: 'inventory', message: 'cannot write the ApplySet parent', httpStatus: 403 };
  const lines = summarizeErrors([...Array.from({ length: 79 }, (_, i) => statusError(i)), cause]);
  expect(lines[0]).toBe('cannot write the ApplySet parent [forbidden 403]');
  expect(lines).toHaveLength(5);
  expect(lines.slice(1, 4).every((l) => l.startsWith('Agent team/agent-'))).toBe(true);
  expect(lines[4]).toBe('... and 76 more status unknown-kind errors like these');
});

it('says why a pod is not ready, in the words of the scheduler or the kubelet', () => {
  const pod = (status: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec, status });
  expect(podReason(pod({ phase: 'Pending' }))).toBe('not scheduled: no scheduler has assigned it a node');
  expect(podReason(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }))).toBe(
    'not scheduled: 0/3 nodes are available',
  );
  expect(
    podReason(
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ImagePullBackOff', message: 'pull access denied' } } }] }, { nodeName: 'n1' }),
    ),
  ).toBe('container app: ImagePullBackOff: pull access denied');
  expect(podReason(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, { nodeName: 'n1' }))).toBeUndefined();
});

it('tells a change by someone else from our own applies and status writes', () => {
  const obj = (managedFields: object[]): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', managedFields } });
  const ours = { manager: 'joch', operation: 'Apply', time: '2030-01-01T00:00:01Z' };
  expect(lastWriter(obj([ours]), 'joch')).toBeUndefined();
  expect(lastWriter(obj([ours, { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', time: '2030-01-01T00:00:05Z' }]), 'joch')).toBeUndefined();
  expect(lastWriter(obj([ours, { manager: 'kubectl-edit', operation: 'Update', time: '2030-01-01T00:00:05Z' }]), 'joch')).toBe('kubectl-edit');
  // An older edit that our apply already answered is not drift.
  expect(lastWriter(obj([{ manager: 'kubectl-edit', operation: 'Update', time: '2030-01-01T00:00:00Z' }, ours]), 'joch')).toBeUndefined();
  expect(lastWriter(obj([]), 'joch')).toBe('');
});
