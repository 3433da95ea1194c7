/**
 * A stand-in for the few GitHub REST endpoints the Action calls, at the HTTP
 * boundary (the real API cannot be reached from the test machines). It
 * behaves as GitHub does where the Action depends on it: comments are
 * written as the token's identity, listed 100 per page, refused over 65,536
 * characters (422), and GET /user answers only a person's token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
}

export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly auth: string | undefined;
  readonly body: string;
}

export interface Identity {
  readonly login: string;
  readonly type: 'Bot' | 'User';
  /** Whether GET /user answers for this token (a person's token does; an installation token does not). */
  readonly canReadUser: boolean;
}

export const ACTIONS_BOT: Identity = { login: 'github-actions[bot]', type: 'Bot', canReadUser: false };

export interface GitHubStandIn {
  readonly url: string;
  readonly requests: ApiRequest[];
  readonly comments: StoredComment[];
  /** Tokens and who they are. */
  readonly tokens: Map<string, Identity>;
  /** Answers the next writes (POST/PATCH) with this status and message, `count` times. */
  failWrites(status: number, message: string, count?: number): void;
  commentsOn(issue: number): StoredComment[];
  close(): Promise<void>;
}

const MAX_BODY = 65_536;

export async function startGitHubStandIn(): Promise<GitHubStandIn> {
  const requests: ApiRequest[] = [];
  const comments: StoredComment[] = [];
  const tokens = new Map<string, Identity>();
  let failure: { status: number; message: string; count: number } | undefined;
  let nextId = 1000;

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const who = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!who) return reply(401, { message: 'Bad credentials' });
      const url = new URL(req.url ?? '/', 'http://x');
      const method = req.method ?? 'GET';
      if (method === 'GET' && url.pathname === '/user') {
        return who.canReadUser ? reply(200, { login: who.login, type: who.type }) : reply(403, { message: 'Resource not accessible by integration' });
      }
      if ((method === 'POST' || method === 'PATCH') && failure && failure.count > 0) {
        failure.count--;
        return reply(failure.status, { message: failure.message });
      }
      const list = /^\/repos\/acme\/agents\/issues\/(\d+)\/comments$/.exec(url.pathname);
      if (list && method === 'GET') {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const all = comments.filter((c) => c.issue === Number(list[1]));
        return reply(200, all.slice((page - 1) * perPage, page * perPage));
      }
      const text = method === 'POST' || method === 'PATCH' ? (JSON.parse(body) as { body: string }).body : '';
      if (text.length > MAX_BODY) {
        return reply(422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }] });
      }
      if (list && method === 'POST') {
        const c: StoredComment = { id: nextId++, issue: Number(list[1]), body: text, user: { login: who.login, type: who.type } };
        comments.push(c);
        return reply(201, c);
      }
      const one = /^\/repos\/acme\/agents\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (one && method === 'PATCH') {
        const c = comments.find((x) => x.id === Number(one[1]));
        if (!c) return reply(404, { message: 'Not Found' });
        if (c.user.login !== who.login) return reply(403, { message: 'Must have admin rights to Repository.' });
        c.body = text;
        return reply(200, c);
      }
      return reply(404, { message: 'Not Found' });
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    comments,
    tokens,
    failWrites: (status, message, count = 1) => (failure = { status, message, count }),
    commentsOn: (issue) => comments.filter((c) => c.issue === issue),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
