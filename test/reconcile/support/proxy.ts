/**
 * A TCP proxy on 127.0.0.1 in front of a real server (the Git server, the
 * API server), so a test can make it unreachable mid-run and bring it back:
 * `cut()` resets every open connection and every new one; `stall()` keeps
 * them all open but lets nothing through (a server that stopped answering:
 * requests hang until their own timeout); `restore()` lets traffic through
 * again. `onConnection` counts connections (to cut mid-apply).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  readonly port: number;
  /** Connections accepted so far (cut ones included). */
  readonly connections: number;
  cut(): void;
  stall(): void;
  restore(): void;
  /** Calls `fn` for each accepted connection, before it is forwarded. */
  onConnection(fn: ((n: number) => void) | undefined): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
  const open = new Set<Socket>();
  const pairs = new Set<{ readonly client: Socket; readonly upstream: Socket }>();
  let down = false;
  let stalled = false;
  let count = 0;
  let hook: ((n: number) => void) | undefined;
  const server: Server = createServer((client) => {
    count++;
    hook?.(count);
    if (down) {
      client.resetAndDestroy();
      return;
    }
    if (stalled) {
      // Accepted, never answered: not even the TLS handshake completes.
      open.add(client);
      client.on('error', () => client.destroy()).on('close', () => open.delete(client));
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    open.add(client);
    open.add(upstream);
    pairs.add(pair);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return count;
    },
    cut() {
      down = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    stall() {
      stalled = true;
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    restore() {
      down = false;
      if (!stalled) return;
      stalled = false;
      // Connections accepted while stalled were never forwarded: reset them, their clients retry.
      const forwarded = new Set([...pairs].flatMap(({ client, upstream }) => [client, upstream]));
      for (const s of open) if (!forwarded.has(s)) s.resetAndDestroy();
      for (const { client, upstream } of pairs) {
        client.pipe(upstream);
        upstream.pipe(client);
      }
    },
    onConnection(fn) {
      hook = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
