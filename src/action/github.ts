/**
 * The few GitHub REST calls the Action makes: find its own review comment on
 * the pull request and update it, or create it. One comment per pull request,
 * found by a hidden marker, so reruns never pile up comments. Only a bot's
 * comment counts: anyone can paste the marker into a comment of their own,
 * and the Action must neither overwrite it nor fail trying.
 */

export const COMMENT_MARKER = '<!-- joch-review -->';

export interface GitHubTarget {
  readonly apiUrl: string;
  readonly token: string;
  readonly repository: string;
  readonly pullRequest: number;
}

interface IssueComment {
  readonly id: number;
  readonly body?: string;
  readonly user?: { readonly type?: string } | null;
}

function isOurComment(c: IssueComment): boolean {
  return c.user?.type === 'Bot' && c.body?.startsWith(COMMENT_MARKER) === true;
}

async function call(target: GitHubTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${target.apiUrl}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${target.token}`,
      'x-github-api-version': '2022-11-28',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`GitHub API ${method} ${path}: ${res.status} ${res.statusText}`);
  return res.status === 204 ? undefined : res.json();
}

/** Creates or updates the Action's comment; returns what it did. */
export async function upsertReviewComment(target: GitHubTarget, markdown: string): Promise<'created' | 'updated'> {
  const body = `${COMMENT_MARKER}\n${markdown}`;
  const base = `/repos/${target.repository}/issues/${target.pullRequest}/comments`;
  for (let page = 1; page <= 10; page++) {
    const comments = (await call(target, 'GET', `${base}?per_page=100&page=${page}`)) as IssueComment[];
    const mine = comments.find(isOurComment);
    if (mine) {
      await call(target, 'PATCH', `/repos/${target.repository}/issues/comments/${mine.id}`, { body });
      return 'updated';
    }
    if (comments.length < 100) break;
  }
  await call(target, 'POST', base, { body });
  return 'created';
}
