/**
 * Revisions as Git users write them, resolved in a real repository: refs,
 * tags (annotated ones peeled), short ids, `~N` and `^N`; and the commands
 * that take a revision (`agbom diff --from`, `sync --commit`).
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveRevision } from '../../src/source/revision.js';
import { cli } from '../support/repo.js';

const author = { name: 'Test', email: 'test@example.com', timestamp: 1_700_000_000, timezoneOffset: 0 };

async function repoWithHistory(): Promise<{ dir: string; commits: string[] }> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'joch-rev-')));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  await git.init({ fs, dir, defaultBranch: 'main' });
  const commits: string[] = [];
  for (let i = 0; i < 4; i++) {
    fs.writeFileSync(path.join(dir, 'file.txt'), `version ${i}\n`);
    await git.add({ fs, dir, filepath: 'file.txt' });
    commits.push(await git.commit({ fs, dir, message: `commit ${i}`, author: { ...author, timestamp: author.timestamp + i } }));
  }
  await git.tag({ fs, dir, ref: 'v1.0.0', object: commits[1] });
  await git.annotatedTag({ fs, dir, ref: 'v2.0.0', object: commits[2], message: 'release 2', tagger: author });
  return { dir, commits };
}

describe('resolveRevision', () => {
  it.each([
    ['HEAD', 3],
    ['main', 3],
    ['HEAD~1', 2],
    ['HEAD~3', 0],
    ['HEAD^', 2],
    ['HEAD^^', 1],
    ['main~2', 1],
    ['v1.0.0', 1],
    ['v2.0.0', 2],
    ['v2.0.0~1', 1],
    ['refs/tags/v2.0.0', 2],
  ])('%s', async (rev, index) => {
    const { dir, commits } = await repoWithHistory();
    expect(await resolveRevision(dir, rev)).toEqual({ ok: true, commit: commits[index] });
  });

  it('short and full commit ids, with suffixes', async () => {
    const { dir, commits } = await repoWithHistory();
    const [c0, , c2] = commits as [string, string, string, string];
    expect(await resolveRevision(dir, c2.slice(0, 7))).toEqual({ ok: true, commit: c2 });
    expect(await resolveRevision(dir, `${c2.slice(0, 7)}~2`)).toEqual({ ok: true, commit: c0 });
    expect(await resolveRevision(dir, c0)).toEqual({ ok: true, commit: c0 });
  });

  it('says why a revision does not resolve', async () => {
    const { dir, commits } = await repoWithHistory();
    expect(await resolveRevision(dir, 'HEAD~9')).toMatchObject({ ok: false, reason: expect.stringMatching(/has no ancestor 1 generations back|has no ancestor/) });
    expect(await resolveRevision(dir, 'HEAD^2')).toMatchObject({ ok: false, reason: expect.stringContaining(`${commits[3]?.slice(0, 12)} has no parent 2`) });
    expect(await resolveRevision(dir, 'nope')).toMatchObject({ ok: false, reason: expect.stringContaining('"nope" is not a commit, branch or tag') });
    expect(await resolveRevision(dir, 'HEAD~x')).toMatchObject({ ok: false, reason: expect.stringContaining('is not a revision') });
  });
});

describe('commands that take a revision', () => {
  it('joch init, commit twice, then agbom diff --from HEAD~1 and sync --once --commit with a short id', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'joch-rev-cli-')));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    expect((await cli(['init', '-q'], dir)).code).toBe(0);
    await git.init({ fs, dir, defaultBranch: 'main' });
    const commitAll = async (message: string) => {
      await git.add({ fs, dir, filepath: '.' });
      return git.commit({ fs, dir, message, author });
    };
    const first = await commitAll('first fleet');
    const agent = path.join(dir, 'support/agents/assistant.yaml');
    fs.writeFileSync(agent, fs.readFileSync(agent, 'utf8').replace('ghcr.io/example/assistant:0.1.0', 'ghcr.io/example/assistant:0.2.0'));
    await commitAll('assistant 0.2.0');

    const diff = await cli(['agbom', 'diff', '--from', 'HEAD~1', '--to', 'HEAD', '-o', 'json'], dir);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('assistant:0.2.0');

    const sync = await cli(['sync', '--once', '--commit', first.slice(0, 8)], dir);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(new RegExp(`^joch sync: applied ${first.slice(0, 12)} `));
    const rendered = await git.resolveRef({ fs, dir, ref: 'joch/rendered' });
    const files = await git.listFiles({ fs, dir, ref: rendered });
    expect(files.some((f) => f.startsWith('objects/support/'))).toBe(true);
    // The rendered branch holds the image of the commit asked for, not of HEAD.
    const all = await Promise.all(files.filter((f) => f.includes('assistant')).map(async (f) => Buffer.from((await git.readBlob({ fs, dir, oid: rendered, filepath: f })).blob).toString('utf8')));
    expect(all.join('\n')).toContain('assistant:0.1.0');
    expect(all.join('\n')).not.toContain('assistant:0.2.0');
  });
});
