/**
 * Kubernetes Events on the Joch custom resources: applied, drift corrected,
 * failed. Best effort: a failed Event is logged, never fails a cycle.
 */
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { refuseInsecureSkipTlsVerify, type ObjectRef } from '../cluster/index.js';
import { errorMessage } from '../diagnostics/index.js';

export type EventReason = 'Applied' | 'DriftCorrected' | 'ReconcileFailed' | 'ApplyRefused';

export interface JochEvent {
  readonly object: ObjectRef;
  readonly reason: EventReason;
  readonly message: string;
}

const MAX_MESSAGE = 1024;
/** Events per cycle: a bulk change (a first sync of 1,000 agents) must not flood the API server or the event store. */
export const MAX_EVENTS_PER_CYCLE = 100;
const CONCURRENCY = 8;

export class EventRecorder {
  private readonly api: CoreV1Api;
  /** Events created (for tests and the benchmark's API call count). */
  written = 0;

  constructor(
    kubeconfig: KubeConfig,
    private readonly instance: string,
    private readonly logger?: Logger,
  ) {
    refuseInsecureSkipTlsVerify(kubeconfig);
    this.api = kubeconfig.makeApiClient(CoreV1Api);
  }

  /** A recorder of the same instance for another cluster, where the objects its Events are about live. */
  forCluster(kubeconfig: KubeConfig): EventRecorder {
    return new EventRecorder(kubeconfig, this.instance, this.logger);
  }

  /** Records up to MAX_EVENTS_PER_CYCLE events, a few at a time; says how many were left out. */
  async record(events: readonly JochEvent[]): Promise<void> {
    const kept = events.slice(0, MAX_EVENTS_PER_CYCLE);
    if (events.length > kept.length) {
      this.logger?.info({ events: events.length, recorded: kept.length }, 'too many Events for one cycle: the rest are in the logs and the status branch');
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < kept.length) await this.one(kept[next++] as JochEvent);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, kept.length) }, worker));
  }

  private async one(e: JochEvent): Promise<void> {
    // Events are namespaced; a cluster-scoped Joch resource's go to `default`, as kubectl's do.
    const namespace = e.object.namespace ?? 'default';
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${e.object.name.slice(0, 200)}.`, namespace },
      involvedObject: { apiVersion: e.object.apiVersion, kind: e.object.kind, name: e.object.name, namespace: e.object.namespace },
      reason: e.reason,
      message: e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE - 3)}...` : e.message,
      type: e.reason === 'Applied' ? 'Normal' : 'Warning',
      source: { component: 'joch-sync' },
      reportingComponent: 'joch.dev/sync',
      reportingInstance: this.instance.slice(0, 128),
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.api.createNamespacedEvent({ namespace, body });
      this.written++;
    } catch (err) {
      this.logger?.warn({ object: e.object, reason: e.reason, err: errorMessage(err) }, 'could not record a Kubernetes Event');
    }
  }
}
