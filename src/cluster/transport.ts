/**
 * A small HTTP client for the Kubernetes API built on the KubeConfig's own
 * TLS and auth settings. We issue requests ourselves rather than through
 * KubernetesObjectApi because we need: per-call counters, one keep-alive
 * connection pool sized to our concurrency, apply-patch with dryRun/force on
 * any resource path (including /status), and the raw Status body of errors.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiCounters, ErrorCause, KubeObject } from './types.js';

/**
 * TLS verification stays on: a kubeconfig that turns it off is refused rather
 * than silently honoured. Exported so that every API client built from a
 * kubeconfig refuses it the same way.
 */
export function refuseInsecureSkipTlsVerify(kc: KubeConfig): void {
  const cluster = kc.getCurrentCluster();
  if (cluster?.skipTLSVerify) {
    throw new Error(`kubeconfig cluster ${cluster.name} sets insecure-skip-tls-verify; refusing to connect without TLS verification`);
  }
}

export function newCounters(): ApiCounters {
  return { discovery: 0, reads: 0, lists: 0, dryRuns: 0, writes: 0, deletes: 0, retries: 0 };
}

/** A non-2xx answer from the API server, with its Status body when it sent one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string | undefined,
    readonly causes: ErrorCause[],
    readonly method: string,
    readonly path: string,
    /** The server's `details.retryAfterSeconds` (a 429 while a new CRD's cache fills, API priority and fairness). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The request never got an HTTP answer (connection refused, reset, timeout). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly code: string,
    readonly server: string,
  ) {
    super(message);
  }
}

export type CounterName = Exclude<keyof ApiCounters, 'retries'>;

export interface RequestSpec {
  method: 'GET' | 'PATCH' | 'DELETE' | 'PUT' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  counter: CounterName;
}

/** One line of a watch stream. `object` is a Status for ERROR events. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number };
}

export interface ClientSettings {
  concurrency: number;
  requestTimeoutMs: number;
  attempts: number;
}

const RETRY_STATUS = new Set([429, 503, 504]);
const AUTH_REFRESH_MS = 30_000;

export class KubeClient {
  readonly counters: ApiCounters = newCounters();
  readonly server: string;
  private readonly basePath: string;
  private readonly host: string;
  private readonly port: number;
  private readonly agent: Agent;
  private authHeaders: Record<string, string> = {};
  private outage: TransportError | undefined;
  private authAt = 0;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly settings: ClientSettings,
    tls: RequestOptions,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server);
    this.server = cluster.server;
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port ? Number(url.port) : 443;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: settings.concurrency,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      pfx: tls.pfx,
      passphrase: tls.passphrase,
      servername: tls.servername ?? (isIp(this.host) ? undefined : this.host),
      rejectUnauthorized: true,
    });
  }

  static async create(kc: KubeConfig, settings: ClientSettings): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    if (!cluster.server.startsWith('https://')) {
      throw new Error(`refusing to talk to ${cluster.server}: only https API servers are supported`);
    }
    refuseInsecureSkipTlsVerify(kc);
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    const client = new KubeClient(kc, settings, tls);
    client.captureAuth(tls);
    return client;
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends a request, retrying network errors and 429/503/504; throws ApiError or TransportError. */
  async request<T>(spec: RequestSpec): Promise<T> {
    // Once the server proved unreachable, fail fast: a run with thousands of
    // queued requests must not retry each one against a dead server.
    if (this.outage) throw this.outage;
    this.counters[spec.counter]++;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(spec);
      } catch (err) {
        const retryable =
          err instanceof TransportError || (err instanceof ApiError && RETRY_STATUS.has(err.status));
        if (err instanceof TransportError && attempt >= this.settings.attempts) this.outage ??= err;
        if (!retryable || attempt >= this.settings.attempts) throw err;
        this.counters.retries++;
        await sleep(retryDelayMs(err, attempt));
      }
    }
  }

  /**
   * A watch: GET with `watch=1`, read as newline-delimited JSON events until
   * the server ends it (its `timeoutSeconds`), `signal` aborts it (resolves),
   * or the connection fails (TransportError). A non-2xx answer is an ApiError
   * (410 Gone: the resourceVersion is too old, list again). Not retried here,
   * and no request timeout: the caller reconnects.
   */
  async watch(path: string, query: Record<string, string | undefined>, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { ...(await this.headers()), Accept: 'application/json' };
    const fullPath = this.basePath + path + queryString({ ...query, watch: '1' });
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      // Not `signal` in the request options: a renewed watch must not leave a listener on it each time.
      const stop = () => req.destroy();
      signal.addEventListener('abort', stop, { once: true });
      const settle = <T>(done: (v: T) => void) => (v: T) => {
        signal.removeEventListener('abort', stop);
        done(v);
      };
      resolve = settle(resolve);
      reject = settle(reject);
      const req = httpsRequest({ host: this.host, port: this.port, method: 'GET', path: fullPath, headers, agent: this.agent }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        let pending = '';
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (status < 200 || status >= 300) return void chunks.push(c);
          pending += c.toString('utf8');
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            // Thrown inside a stream handler this would escape every caller: end the watch with it instead.
            try {
              onEvent(JSON.parse(line) as WatchEvent);
            } catch (e) {
              req.destroy();
              return reject(new Error(`unreadable watch event from ${this.server}: ${e instanceof Error ? e.message : String(e)}`));
            }
          }
        });
        res.on('end', () => {
          if (status >= 200 && status < 300) resolve();
          else reject(toApiError(status, Buffer.concat(chunks).toString('utf8'), 'GET', path));
        });
        res.on('error', (e: NodeJS.ErrnoException) => (signal.aborted ? resolve() : reject(this.transportError(e))));
      });
      req.on('error', (e: NodeJS.ErrnoException) => (signal.aborted ? resolve() : reject(this.transportError(e))));
      req.end();
    });
  }

  private captureAuth(opts: RequestOptions): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (typeof v === 'string') headers[k] = v;
      else if (typeof v === 'number') headers[k] = String(v);
    }
    if (opts.auth) headers['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    this.authHeaders = headers;
    this.authAt = Date.now();
  }

  // Tokens from exec plugins and token files rotate; re-read them now and
  // then instead of on every request (applyToHTTPSOptions reads files).
  private async headers(): Promise<Record<string, string>> {
    if (Date.now() - this.authAt > AUTH_REFRESH_MS) {
      const opts: RequestOptions = {};
      await this.kc.applyToHTTPSOptions(opts);
      this.captureAuth(opts);
    }
    return this.authHeaders;
  }

  private async once<T>(spec: RequestSpec): Promise<T> {
    const headers: Record<string, string> = { ...(await this.headers()), Accept: spec.accept ?? 'application/json' };
    let payload: Buffer | undefined;
    if (spec.body !== undefined) {
      payload = Buffer.from(JSON.stringify(spec.body));
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const path = this.basePath + spec.path + queryString(spec.query);
    const { status, body } = await this.send(spec.method, path, headers, payload);
    if (status >= 200 && status < 300) return (body.length ? JSON.parse(body) : {}) as T;
    throw toApiError(status, body, spec.method, spec.path);
  }

  private send(
    method: string,
    path: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: this.host, port: this.port, method, path, headers, agent: this.agent, timeout: this.settings.requestTimeoutMs },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e: NodeJS.ErrnoException) => reject(this.transportError(e)));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(this.transportError(e)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  private transportError(e: NodeJS.ErrnoException): Error {
    // TLS failures are configuration errors, not outages: never retried.
    if (/certificate|self.signed|CERT_|ERR_TLS/i.test(`${e.code ?? ''} ${e.message}`)) {
      return new Error(`TLS verification of ${this.server} failed: ${e.message}`);
    }
    const code = e.code ?? 'ECONNRESET';
    return new TransportError(`cannot reach the API server at ${this.server}: ${code} (${e.message})`, code, this.server);
  }
}

/** Exponential from 150 ms, or what the server asked for (at most 5 s) when longer. */
function retryDelayMs(err: unknown, attempt: number): number {
  const backoff = 150 * 2 ** (attempt - 1);
  const asked = err instanceof ApiError && err.retryAfterSeconds ? Math.min(err.retryAfterSeconds * 1000, 5_000) : 0;
  return Math.max(backoff, asked);
}

function toApiError(status: number, body: string, method: string, path: string): ApiError {
  let message = body.trim() || `HTTP ${status}`;
  let reason: string | undefined;
  let retryAfterSeconds: number | undefined;
  const causes: ErrorCause[] = [];
  try {
    const s = JSON.parse(body) as {
      message?: unknown;
      reason?: unknown;
      details?: { retryAfterSeconds?: unknown; causes?: { field?: unknown; reason?: unknown; message?: unknown }[] };
    };
    if (typeof s.message === 'string') message = s.message;
    if (typeof s.reason === 'string') reason = s.reason;
    if (typeof s.details?.retryAfterSeconds === 'number' && s.details.retryAfterSeconds > 0) retryAfterSeconds = s.details.retryAfterSeconds;
    for (const c of s.details?.causes ?? []) {
      causes.push({
        message: typeof c.message === 'string' ? c.message : '',
        ...(typeof c.field === 'string' ? { field: c.field } : {}),
        ...(typeof c.reason === 'string' ? { reason: c.reason } : {}),
      });
    }
  } catch {
    // not a Status body: keep the raw text
  }
  return new ApiError(status, message, reason, causes, method, path, retryAfterSeconds);
}

function queryString(query: RequestSpec['query']): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
