/**
 * A TCP proxy on 127.0.0.1 in front of a real server (the Git server, the
 * API server), so a test can make it unreachable mid-run and bring it back:
 * `cut()` resets every open connection and every new one; `restore()` lets
 * traffic through again. `onConnection` counts connections (to cut mid-apply).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  readonly port: number;
  /** Connections accepted so far (cut ones included). */
  readonly connections: number;
  cut(): void;
  restore(): void;
  /** Calls `fn` for each accepted connection, before it is forwarded. */
  onConnection(fn: ((n: number) => void) | undefined): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
  const open = new Set<Socket>();
  let down = false;
  let count = 0;
  let hook: ((n: number) => void) | undefined;
  const server: Server = createServer((client) => {
    count++;
    hook?.(count);
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
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
    restore() {
      down = false;
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
