/**
 * The loop's HTTP side: POST /webhook (GitHub push events, HMAC-checked),
 * GET /metrics (Prometheus text), /healthz and /readyz. One server can hold
 * all of them, or the webhook and the metrics can listen on two ports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BotIdentity } from '../source/git.js';
import type { SyncMetrics } from './metrics.js';
import { decidePush, parsePushEvent, verifyGithubSignature, type PushEvent } from './webhook.js';
import { errorMessage } from '../diagnostics/index.js';

const MAX_BODY = 5 * 1024 * 1024;

export interface WebhookRoute {
  /**
   * The HMAC key, asked for at each request. `joch sync` reads its secret once
   * at start and always answers that one: a rotated secret takes effect only
   * after a restart, and there is no rotation window where an old and a new
   * secret are both accepted.
   */
  readonly secret: () => string;
  /** Full refs whose pushes start a cycle, e.g. `refs/heads/main`. */
  readonly refs: readonly string[];
  readonly bot: BotIdentity;
  readonly onPush: (event: PushEvent) => void;
}

export interface SyncServerOptions {
  readonly port: number;
  readonly host: string;
  readonly webhook?: WebhookRoute | undefined;
  readonly metrics?: SyncMetrics | undefined;
  /** /healthz and /readyz; absent: not served. */
  readonly health?: { readonly live: () => boolean; readonly ready: () => boolean } | undefined;
  readonly logger?: Logger | undefined;
}

export interface SyncServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startSyncServer(options: SyncServerOptions): Promise<SyncServer> {
  const server: Server = createServer((req, res) => {
    void route(req, res, options).catch((e: unknown) => {
      options.logger?.error({ err: errorMessage(e), path: req.url }, 'HTTP handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: SyncServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/webhook' && options.webhook) return webhook(req, res, options.webhook, options);
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n');
  if (path === '/metrics' && options.metrics) {
    const text = await options.metrics.text();
    res.writeHead(200, { 'Content-Type': options.metrics.contentType });
    res.end(text);
    return;
  }
  if (path === '/healthz' && options.health) return reply(res, options.health.live() ? 200 : 503, options.health.live() ? 'ok\n' : 'not live\n');
  if (path === '/readyz' && options.health) return reply(res, options.health.ready() ? 200 : 503, options.health.ready() ? 'ok\n' : 'not ready\n');
  return reply(res, 404, 'not found\n');
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

async function webhook(req: IncomingMessage, res: ServerResponse, hook: WebhookRoute, options: SyncServerOptions): Promise<void> {
  const reject = (status: number, reason: string, text: string) => {
    options.metrics?.webhookRejections.inc({ reason });
    options.logger?.warn({ reason, remote: req.socket.remoteAddress }, `webhook rejected: ${text}`);
    reply(res, status, `${text}\n`);
  };
  if (req.method !== 'POST') return reject(405, 'method', 'POST only');
  const body = await readBody(req);
  if (body === undefined) return reject(413, 'too-large', `the body is over ${MAX_BODY} bytes`);
  // The signature is checked before anything in the body is looked at.
  const check = verifyGithubSignature(hook.secret(), body, header(req, 'x-hub-signature-256'));
  if (!check.ok) return reject(401, check.reason, check.reason === 'missing-signature' ? 'no X-Hub-Signature-256 header' : 'the signature does not match');
  const kind = header(req, 'x-github-event');
  if (kind === 'ping') return reply(res, 200, 'pong\n');
  if (kind !== 'push') return reply(res, 202, `ignored: ${kind ?? 'no'} event\n`);
  const event = parsePushEvent(body);
  if (!event) return reject(400, 'bad-payload', 'not a push event payload');
  const decision = decidePush(event, hook.refs, hook.bot);
  if (!decision.trigger) {
    options.logger?.debug({ ref: event.ref, after: event.after }, `webhook push ignored: ${decision.why}`);
    return reply(res, 202, `ignored: ${decision.why}\n`);
  }
  options.logger?.info({ ref: event.ref, after: event.after }, 'webhook push: cycle triggered');
  hook.onPush(event);
  return reply(res, 202, 'triggered\n');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
