/**
 * A real Git smart-HTTP server for tests: git's own `git http-backend` run as
 * a CGI behind node:http on 127.0.0.1. Receive-pack is enabled; basic auth is
 * optional. Test hooks let a suite hold pushes so that races are deterministic.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitHttpServerOptions {
  /** Folder holding the repositories; `/<name>` in a URL maps to `<root>/<name>`. */
  readonly root: string;
  /** When set, every request must carry these credentials (HTTP basic). */
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  /** Serve HTTPS with this PEM key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string } | undefined;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly service: string | undefined;
  readonly status: number;
  readonly authenticated: boolean;
}

export interface GitHttpServer {
  readonly port: number;
  /** `http(s)://127.0.0.1:<port>/<repo>`, without credentials. */
  url(repo: string): string;
  /** The same URL with credentials in it, for the system git client. */
  urlWithCredentials(repo: string, username: string, password: string): string;
  /** Every request answered so far (no headers, so no credentials). */
  readonly requests: readonly RequestRecord[];
  /**
   * Holds the next `count` receive-pack POSTs until all of them have arrived,
   * then lets them through together: the pushers computed their commits on
   * the same tip, so all but one must be rejected.
   */
  holdPushes(count: number): void;
  /** Runs `action` when the next receive-pack POST arrives, before the backend sees it (one shot). */
  onNextPush(action: () => Promise<void>): void;
  close(): Promise<void>;
}

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: RequestRecord[] = [];
  const children = new Set<ChildProcess>();
  const gate = new PushGate();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, options, requests, children, gate).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createServer(handler);
  const scheme = options.tls ? 'https' : 'http';
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (repo) => `${scheme}://127.0.0.1:${port}/${repo}`,
    urlWithCredentials: (repo, username, password) =>
      `${scheme}://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${repo}`,
    requests,
    holdPushes: (count) => gate.arm(count),
    onNextPush: (action) => gate.before(action),
    close: () => closeServer(server, children),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: GitHttpServerOptions,
  requests: RequestRecord[],
  children: Set<ChildProcess>,
  gate: PushGate,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const service = serviceOf(url);
  const user = authenticate(req, options.auth);
  const record = (status: number) =>
    requests.push({ method: req.method ?? 'GET', path: url.pathname, service, status, authenticated: user !== undefined });
  if (options.auth && user === undefined) {
    record(401);
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
    res.end('authentication required\n');
    return;
  }
  if (req.method === 'POST' && service === 'git-receive-pack') await gate.pass();
  const status = await runBackend(req, res, url, options.root, user ?? 'anonymous', children);
  record(status);
}

function serviceOf(url: URL): string | undefined {
  const query = url.searchParams.get('service');
  if (query) return query;
  const last = url.pathname.split('/').pop();
  return last?.startsWith('git-') ? last : undefined;
}

function authenticate(req: IncomingMessage, auth: GitHttpServerOptions['auth']): string | undefined {
  if (!auth) return undefined;
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [username, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return colon >= 0 && username === auth.username && password === auth.password ? username : undefined;
}

/** Runs one CGI request through git-http-backend and relays its answer; resolves with the HTTP status. */
async function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  root: string,
  user: string,
  children: Set<ChildProcess>,
): Promise<number> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    REMOTE_USER: user,
    REMOTE_ADDR: '127.0.0.1',
    // Receive-pack is off for anonymous users by default; tests push without auth too.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: root,
  };
  const optional: Record<string, string | undefined> = {
    CONTENT_TYPE: req.headers['content-type'],
    CONTENT_LENGTH: req.headers['content-length'],
    HTTP_CONTENT_ENCODING: req.headers['content-encoding'],
    GIT_PROTOCOL: req.headers['git-protocol'] as string | undefined,
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) env[key] = value;

  const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.stderr.resume();
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // the backend may exit before reading a refused body

  return new Promise<number>((resolve, reject) => {
    let head = Buffer.alloc(0);
    let status: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (status !== undefined) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const split = headerEnd(head);
      if (!split) return;
      const { headers, code } = parseCgiHeaders(head.subarray(0, split.at).toString('latin1'));
      status = code;
      res.writeHead(code, headers);
      res.write(head.subarray(split.at + split.length));
    });
    child.stdout.on('end', () => {
      if (status === undefined) {
        res.writeHead(502);
        status = 502;
      }
      res.end();
      resolve(status);
    });
    child.on('error', reject);
  });
}

function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { headers: Record<string, string>; code: number } {
  const headers: Record<string, string> = {};
  let code = 200;
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') code = Number.parseInt(value, 10) || 200;
    else headers[name] = value;
  }
  return { headers, code };
}

class PushGate {
  private waiting: Array<() => void> = [];
  private expected = 0;
  private action: (() => Promise<void>) | undefined;

  before(action: () => Promise<void>): void {
    this.action = action;
  }

  arm(count: number): void {
    this.expected = count;
    this.waiting = [];
  }

  async pass(): Promise<void> {
    const action = this.action;
    this.action = undefined;
    if (action) await action();
    if (this.expected <= 0) return;
    const released = new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.waiting.length >= this.expected) {
      const all = this.waiting;
      this.expected = 0;
      this.waiting = [];
      for (const release of all) release();
    }
    return released;
  }
}

async function closeServer(server: Server, children: Set<ChildProcess>): Promise<void> {
  for (const child of children) child.kill();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const execFileAsync = promisify(execFile);

/**
 * Runs the system git (tests only). Always asynchronous: the server answering
 * it lives in this same process, so a synchronous call would deadlock.
 */
export async function runGit(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await execFileAsync('git', [...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

/** A bare repository served by the test server, and a working clone of it to make commits in. */
export class RepoFixture {
  private constructor(
    readonly name: string,
    readonly bare: string,
    readonly work: string,
  ) {}

  /** Creates `<root>/<name>` (bare, branch `main`) and a working copy beside it. */
  static async create(root: string, name: string): Promise<RepoFixture> {
    const bare = path.join(root, name);
    const work = path.join(root, `${name}.work`);
    await runGit(root, ['init', '-q', '--bare', '-b', 'main', bare]);
    await runGit(root, ['init', '-q', '-b', 'main', work]);
    await runGit(work, ['config', 'user.name', 'Test Author']);
    await runGit(work, ['config', 'user.email', 'author@example.com']);
    await runGit(work, ['config', 'commit.gpgsign', 'false']);
    await runGit(work, ['remote', 'add', 'origin', bare]);
    return new RepoFixture(name, bare, work);
  }

  /** Writes (string) or deletes (null) files in the working copy. */
  async write(files: Readonly<Record<string, string | null>>): Promise<void> {
    for (const [rel, content] of Object.entries(files)) {
      const abs = path.join(this.work, rel);
      if (content === null) {
        await rm(abs, { force: true, recursive: true });
      } else {
        await mkdir(path.dirname(abs), { recursive: true });
        await writeFile(abs, content);
      }
    }
  }

  async symlink(rel: string, target: string): Promise<void> {
    const abs = path.join(this.work, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await symlink(target, abs);
  }

  /** Stages everything and commits; returns the new commit id. */
  async commit(message: string, extraArgs: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
    await runGit(this.work, ['add', '-A']);
    await runGit(this.work, ['commit', '-q', '--allow-empty', '-m', message, ...extraArgs], env);
    return runGit(this.work, ['rev-parse', 'HEAD']);
  }

  async push(ref = 'main', force = false): Promise<void> {
    await runGit(this.work, ['push', '-q', ...(force ? ['--force'] : []), 'origin', ref]);
  }

  /** Writes, commits and pushes in one go; returns the commit id. */
  async commitAndPush(files: Readonly<Record<string, string | null>>, message = 'change', ref = 'main'): Promise<string> {
    await this.write(files);
    const oid = await this.commit(message);
    await this.push(`HEAD:refs/heads/${ref}`);
    return oid;
  }

  git(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    return runGit(this.work, args, env);
  }

  /** Runs git in the served bare repository (what the server holds). */
  served(args: readonly string[]): Promise<string> {
    return runGit(this.bare, args);
  }
}
