/**
 * The few GitHub REST calls the Action makes: who the token is, its own
 * review comment on the pull request, and creating, updating or marking that
 * comment stale. One comment per pull request: it starts with a hidden marker
 * and is written by the token's own identity, so reruns update it whatever
 * the token (GITHUB_TOKEN, an app's, a person's). Anyone can paste the marker
 * into a comment of their own; the Action must neither overwrite that nor
 * fail trying.
 */

export const COMMENT_MARKER = '<!-- joch-review -->';
/** GitHub refuses a comment body longer than this (422). */
export const MAX_COMMENT_CHARS = 65_536;
const STALE_MARK = '<!-- joch-stale -->';

export interface GitHubTarget {
  readonly apiUrl: string;
  readonly token: string;
  readonly repository: string;
  readonly pullRequest: number;
}

interface IssueComment {
  readonly id: number;
  readonly body?: string;
  readonly user?: { readonly login?: string; readonly type?: string } | null;
}

/** A refused call, with GitHub's own message and a hint at the usual cause. */
export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    readonly call: string,
    readonly githubMessage: string,
  ) {
    super(`${call} answered ${status}${githubMessage ? `: ${githubMessage}` : ''}. ${hintFor(status)}`);
  }
}

function hintFor(status: number): string {
  if (status === 401) return 'The github-token input is not a valid token.';
  if (status === 403 || status === 404) {
    return 'The token needs `pull-requests: write` (add it under `permissions:` in the workflow); on a pull request from a fork, GITHUB_TOKEN is read-only, so the review stays in the job summary and the annotations.';
  }
  if (status === 422) return 'GitHub refused the comment body.';
  if (status >= 500) return 'GitHub is unavailable; rerun the job to update the comment.';
  return '';
}

async function call(target: GitHubTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const what = `${method} ${path.replace(/\?.*$/, '')}`;
  let res: Response;
  try {
    res = await fetch(`${target.apiUrl}${path}`, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${target.token}`,
        'x-github-api-version': '2022-11-28',
        'user-agent': 'joch-action',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new GitHubApiError(0, what, `no answer (${(e as Error).message})`);
  }
  if (!res.ok) throw new GitHubApiError(res.status, what, await messageOf(res));
  return res.status === 204 ? undefined : res.json();
}

async function messageOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === 'string' ? m : res.statusText;
  } catch {
    return res.statusText;
  }
}

/**
 * The login the token writes as. A person's token and an app's user token
 * answer GET /user; an installation token (GITHUB_TOKEN included) is refused,
 * and then any bot's comment with the marker counts as ours.
 */
export async function tokenLogin(target: GitHubTarget): Promise<string | undefined> {
  try {
    const me = (await call(target, 'GET', '/user')) as { login?: unknown };
    return typeof me.login === 'string' ? me.login : undefined;
  } catch (e) {
    if (e instanceof GitHubApiError && [401, 403, 404].includes(e.status)) return undefined;
    throw e;
  }
}

function isOurs(c: IssueComment, login: string | undefined): boolean {
  if (c.body?.startsWith(COMMENT_MARKER) !== true) return false;
  return login ? c.user?.login === login : c.user?.type === 'Bot';
}

async function findOurComment(target: GitHubTarget, login: string | undefined): Promise<IssueComment | undefined> {
  const base = `/repos/${target.repository}/issues/${target.pullRequest}/comments`;
  for (let page = 1; ; page++) {
    const comments = (await call(target, 'GET', `${base}?per_page=100&page=${page}`)) as IssueComment[];
    const mine = comments.find((c) => isOurs(c, login));
    if (mine) return mine;
    if (comments.length < 100) return undefined;
  }
}

/** The marker, then the markdown, cut to what GitHub accepts. */
function commentBody(markdown: string, note = '\n\n_…cut to fit GitHub\'s comment limit; the job summary has the whole review._\n'): string {
  const body = `${COMMENT_MARKER}\n${markdown}`;
  if (body.length <= MAX_COMMENT_CHARS) return body;
  const room = MAX_COMMENT_CHARS - note.length;
  const cut = body.lastIndexOf('\n', room);
  return `${body.slice(0, cut > 0 ? cut : room)}${note}`;
}

interface CommentOutcome {
  readonly action: 'created' | 'updated' | 'marked-stale' | 'none';
  readonly id?: number | undefined;
}

/** Creates or updates the Action's comment. */
export async function upsertReviewComment(target: GitHubTarget, markdown: string, login?: string): Promise<CommentOutcome> {
  const body = commentBody(markdown);
  const mine = await findOurComment(target, login);
  if (mine) {
    await call(target, 'PATCH', `/repos/${target.repository}/issues/comments/${mine.id}`, { body });
    return { action: 'updated', id: mine.id };
  }
  const created = (await call(target, 'POST', `/repos/${target.repository}/issues/${target.pullRequest}/comments`, { body })) as { id?: number };
  return { action: 'created', id: created.id };
}

/**
 * Marks the Action's earlier comment as out of date, keeping what it said:
 * a run that could not produce a review must not leave an older, greener one
 * standing as if it were current.
 */
export async function markCommentStale(target: GitHubTarget, why: string, login?: string): Promise<CommentOutcome> {
  const mine = await findOurComment(target, login);
  if (!mine) return { action: 'none' };
  const previous = (mine.body ?? '').slice(COMMENT_MARKER.length).replace(new RegExp(`^\\n${STALE_MARK}[^]*?${STALE_MARK}\\n`), '');
  const banner = `${STALE_MARK}\n> [!WARNING]\n> **Out of date.** ${why}\n${STALE_MARK}\n`;
  await call(target, 'PATCH', `/repos/${target.repository}/issues/comments/${mine.id}`, { body: commentBody(`${banner}${previous.replace(/^\n/, '')}`) });
  return { action: 'marked-stale', id: mine.id };
}
