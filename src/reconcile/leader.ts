/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
 * a candidate takes the Lease only when it is free or its holder has not
 * renewed for a whole lease duration *as observed on our own clock* (so clock
 * skew between nodes cannot make two leaders), every write carries the
 * resourceVersion it read (optimistic concurrency), and a leader that cannot
 * renew within the renew deadline (shorter than the lease duration) steps
 * down before anyone else may take over: by its clock, even while a renewal
 * is still waiting for an unresponsive API server.
 */
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { refuseInsecureSkipTlsVerify } from '../cluster/index.js';
import { errorMessage } from '../diagnostics/index.js';

export interface LeaderElectorOptions {
  readonly kubeconfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** This candidate's identity in the Lease (pod name). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long steps down. Default 2/3 of the lease duration. */
  readonly renewDeadlineMs?: number | undefined;
  /** Time between attempts. Default 1/5 of the lease duration. */
  readonly retryPeriodMs?: number | undefined;
  readonly logger?: Logger | undefined;
  readonly onStartedLeading?: (() => void) | undefined;
  readonly onStoppedLeading?: (() => void) | undefined;
}

/** What we last saw in the Lease and when (our clock): the base of the expiry test. */
interface Observed {
  readonly holder: string;
  readonly renewTime: string;
  readonly at: number;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private lastRenew = 0;
  private observed: Observed | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Fires when the renew deadline passes without a renewal. */
  private deadline: NodeJS.Timeout | undefined;
  private running = false;
  private attempt: Promise<void> = Promise.resolve();
  private waiters: Array<() => void> = [];

  constructor(private readonly options: LeaderElectorOptions) {
    refuseInsecureSkipTlsVerify(options.kubeconfig);
    this.api = options.kubeconfig.makeApiClient(CoordinationV1Api);
    this.renewDeadlineMs = options.renewDeadlineMs ?? Math.floor((options.leaseDurationMs * 2) / 3);
    this.retryPeriodMs = options.retryPeriodMs ?? Math.max(200, Math.floor(options.leaseDurationMs / 5));
    if (this.renewDeadlineMs >= options.leaseDurationMs) throw new Error('the renew deadline must be shorter than the lease duration');
  }

  /** Judged by the clock, not by the last attempt: that attempt may still be waiting for the server. */
  get isLeader(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.renewDeadlineMs;
  }

  get identity(): string {
    return this.options.identity;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Resolves once this candidate leads (immediately if it does). */
  whenLeading(): Promise<void> {
    if (this.isLeader) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Stops campaigning. A leader gives the Lease up so another replica takes
   * over at once, unless `release` is false: then work of ours may still be
   * in flight, and the Lease must run out on its own before anyone else leads.
   */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.attempt;
    // After the await: the last attempt may have armed it again.
    clearTimeout(this.deadline);
    if (!this.leading) return;
    // A release, not a loss: onStoppedLeading (which exits the process) is for losing the Lease.
    this.leading = false;
    if (options.release === false) {
      this.options.logger?.warn(
        { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity, leaseDurationMs: this.options.leaseDurationMs },
        'keeping the leader Lease: it expires on its own',
      );
      return;
    }
    this.options.logger?.info({ lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity }, 'releasing the leader Lease');
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      lease.spec.holderIdentity = undefined;
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = new V1MicroTime();
      await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease });
    } catch (e) {
      this.options.logger?.warn({ err: errorText(e) }, 'could not release the leader Lease; it expires on its own');
    }
  }

  private tick(): void {
    if (!this.running) return;
    // The renewTime we write is about now; others measure expiry from when they see it, never earlier.
    // Counting our deadline from before the request keeps it inside theirs however slow the answer.
    const startedAt = Date.now();
    this.attempt = this.tryAcquireOrRenew()
      .then((held) => this.afterAttempt(held, startedAt))
      .catch((e: unknown) => {
        this.options.logger?.warn({ err: errorText(e) }, 'leader election attempt failed');
        this.afterAttempt(false, startedAt);
      })
      .finally(() => {
        if (this.running) this.timer = setTimeout(() => this.tick(), this.retryPeriodMs);
      });
  }

  private afterAttempt(held: boolean, startedAt: number): void {
    const now = Date.now();
    // A write that took longer than the deadline proves nothing about now: the next attempt has to.
    if (held && now - startedAt < this.renewDeadlineMs) {
      this.lastRenew = startedAt;
      this.armDeadline();
      if (!this.leading) this.setLeading(true);
    } else if (this.leading && now - this.lastRenew >= this.renewDeadlineMs) {
      this.missedRenewDeadline();
    } else if (this.leading && this.observed && this.observed.holder !== this.options.identity) {
      this.setLeading(false);
    }
  }

  /** A renewal may hang until its request times out, after the deadline: the timer does not wait for it. */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.onDeadline(), Math.max(0, this.lastRenew + this.renewDeadlineMs - Date.now()));
  }

  private onDeadline(): void {
    if (!this.leading) return;
    // Timers may fire a millisecond early by Date.now(): wait the rest rather than keep leading unchecked.
    if (Date.now() - this.lastRenew < this.renewDeadlineMs) this.armDeadline();
    else this.missedRenewDeadline();
  }

  private missedRenewDeadline(): void {
    clearTimeout(this.deadline);
    if (!this.running) {
      // Stopping already (SIGTERM while a renewal hangs): no loss to report and nothing to release;
      // the Lease is left to expire, as no renewal proved it ours in time.
      this.leading = false;
      this.options.logger?.warn({ lease: this.options.name }, 'stopping: the renew deadline passed, so the leader Lease is left to expire');
      return;
    }
    this.options.logger?.error({ lease: this.options.name, renewDeadlineMs: this.renewDeadlineMs }, 'lost the leader Lease: could not renew it in time');
    this.setLeading(false);
  }

  private setLeading(value: boolean): void {
    if (this.leading === value) return;
    this.leading = value;
    this.options.logger?.info({ lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity, leading: value }, value ? 'became the leader' : 'stopped leading');
    if (value) {
      for (const w of this.waiters.splice(0)) w();
      this.options.onStartedLeading?.();
    } else {
      this.options.onStoppedLeading?.();
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await withTimeout(this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace }), this.retryPeriodMs * 2);
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  }

  /** One round: true when we hold the Lease after it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new V1MicroTime();
    const seconds = Math.ceil(this.options.leaseDurationMs / 1000);
    const lease = await this.read();
    if (!lease) {
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec: { holderIdentity: this.options.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      };
      return this.write(() => this.api.createNamespacedLease({ namespace: this.options.namespace, body }));
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const durationMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
    if (holder !== '' && holder !== this.options.identity && this.observed.at + durationMs > Date.now()) return false;
    const taking = holder !== this.options.identity;
    lease.spec = {
      ...spec,
      holderIdentity: this.options.identity,
      leaseDurationSeconds: seconds,
      renewTime: now,
      acquireTime: taking ? now : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && holder !== '' ? 1 : 0),
    };
    // resourceVersion from the read rides along: a concurrent writer makes this a 409.
    return this.write(() => this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease }));
  }

  private async write(call: () => Promise<V1Lease>): Promise<boolean> {
    try {
      const written = await withTimeout(call(), this.retryPeriodMs * 2);
      this.observed = { holder: this.options.identity, renewTime: new Date(written.spec?.renewTime ?? Date.now()).toISOString(), at: Date.now() };
      return true;
    } catch (e) {
      if (e instanceof ApiException && (e.code === 409 || e.code === 422)) return false;
      throw e;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the API server did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorText(e: unknown): string {
  if (e instanceof ApiException) return `HTTP ${e.code}`;
  return errorMessage(e);
}
