/**
 * `joch validate` after a change, from the state of the last cached run:
 * whatever the change, the output is byte-identical to an uncached run, and
 * the runs a small change allows skip the unchanged files.
 */
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { cli, tmpDir } from '../support/repo.js';


/** A generated fleet of one team (12 agents, one file per resource) and a cache folder of its own. */
function fleet(): { repo: string; env: Record<string, string> } {
  const repo = tmpDir('joch-incremental-');
  generateFleet(repo, 12);
  return { repo, env: { JOCH_CACHE_DIR: path.join(tmpDir('joch-incremental-cache-'), 'c') } };
}

interface Step {
  /** Whether the cached run was incremental (read from its --timings). */
  readonly incremental: boolean;
}

/** The cached run must print what the uncached one prints, in text (with code frames) and JSON. */
async function same(repo: string, env: Record<string, string>, format: 'json' | 'text' = 'json'): Promise<Step> {
  const uncached = await cli(['validate', '-o', format, '--no-cache'], repo, { env });
  const cached = await cli(['validate', '-o', format, '--timings'], repo, { env: { ...env, CI: '' } });
  expect(cached.stdout).toBe(uncached.stdout);
  expect(cached.code).toBe(uncached.code);
  return { incremental: /incremental: \d+ changed/.test(cached.stderr) };
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  expect(next).not.toBe(text);
  writeFileSync(file, next);
}

const AGENT = 'team-000/agents/agent-00003.yaml';
const TOOL = 'team-000/tools/agent-00003.tool-1.yaml';

describe('validate from the last run state', () => {
  it('reads only the changed file of a one-file change, and says the same as an uncached run', async () => {
    const { repo, env } = fleet();
    expect((await same(repo, env)).incremental).toBe(false); // fills the cache
    expect((await same(repo, env)).incremental).toBe(true); // nothing changed
    for (const n of [1, 2, 3]) {
      edit(path.join(repo, AGENT), /displayName: .*\n/, `displayName: Agent 3 (revision ${n})\n`);
      expect((await same(repo, env, n === 2 ? 'text' : 'json')).incremental).toBe(true);
    }
  });

  it('a change that makes a finding, and the fix that removes it', async () => {
    const { repo, env } = fleet();
    await same(repo, env);
    // An unknown field: a schema finding of the changed file only.
    edit(path.join(repo, AGENT), 'spec:\n', 'spec:\n  colour: blue\n');
    const broken = await cli(['validate', '-o', 'json', '--no-cache'], repo, { env });
    expect(broken.stdout).toContain('JOCH303');
    expect((await same(repo, env, 'text')).incremental).toBe(true);
    edit(path.join(repo, AGENT), 'spec:\n  colour: blue\n', 'spec:\n');
    expect((await same(repo, env)).incremental).toBe(true);
  });

  it('a changed referenced Tool re-decides its agent; a change of decision is a full run', async () => {
    const { repo, env } = fleet();
    await same(repo, env);
    edit(path.join(repo, TOOL), /description: .*\n/, 'description: Tool 1, now with a longer description.\n');
    expect((await same(repo, env)).incremental).toBe(true);
    // A tool that writes outside changes what policy decides for its agent.
    edit(path.join(repo, TOOL), /level: \w+/, 'level: external_write');
    expect((await same(repo, env)).incremental).toBe(false);
    expect((await same(repo, env)).incremental).toBe(true);
  });

  it('a changed reference, a changed Policy, a deleted and a renamed file are full runs with the same output', async () => {
    const { repo, env } = fleet();
    await same(repo, env);
    edit(path.join(repo, AGENT), '- name: agent-00003.tool-2', '- name: agent-00003.tool-9');
    expect((await same(repo, env, 'text')).incremental).toBe(false);
    expect((await same(repo, env)).incremental).toBe(true);
    edit(path.join(repo, 'team-000/policies/cost-cap.yaml'), 'cost.runUsd: ">5"', 'cost.runUsd: ">7"');
    expect((await same(repo, env)).incremental).toBe(false);
    unlinkSync(path.join(repo, TOOL));
    expect((await same(repo, env, 'text')).incremental).toBe(false);
    renameSync(path.join(repo, 'team-000/tools/agent-00003.tool-0.yaml'), path.join(repo, 'team-000/tools/renamed.yaml'));
    expect((await same(repo, env)).incremental).toBe(false);
    expect((await same(repo, env)).incremental).toBe(true);
  });

  it('a new file, a new folder and a changed ignore file change the list of files: full runs with the same output', async () => {
    const { repo, env } = fleet();
    await same(repo, env);
    const copy = readFileSync(path.join(repo, TOOL), 'utf8').replace('name: agent-00003.tool-1', 'name: agent-00003.tool-extra');
    writeFileSync(path.join(repo, 'team-000/tools/extra.yaml'), copy);
    expect((await same(repo, env)).incremental).toBe(false);
    mkdirSync(path.join(repo, 'team-000/tools/more'));
    writeFileSync(path.join(repo, 'team-000/tools/more/extra.yaml'), copy);
    expect((await same(repo, env, 'text')).incremental).toBe(false);
    expect((await same(repo, env)).incremental).toBe(true);
    writeFileSync(path.join(repo, '.jochignore'), 'team-000/tools/more/\n');
    expect((await same(repo, env)).incremental).toBe(false);
    expect((await same(repo, env)).incremental).toBe(true);
  });

  it('a file touched but unchanged, and a file rewritten with the same size and mtime', async () => {
    const { repo, env } = fleet();
    await same(repo, env);
    const file = path.join(repo, AGENT);
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect((await same(repo, env)).incremental).toBe(true);
    // Same length, same mtime, as for a change within one clock tick: the ctime tells, and a file stamped that recently is read again anyway.
    const other = path.join(repo, 'team-000/agents/agent-00004.yaml');
    // A whole second, so that setting it again gives the very same mtime.
    const second = Math.floor(Date.now() / 1000) - 100;
    utimesSync(other, second, second);
    await same(repo, env);
    const before = statSync(other);
    edit(other, 'Handles incoming', 'handles incoming');
    utimesSync(other, second, second);
    expect(statSync(other).size).toBe(before.size);
    expect(statSync(other).mtimeMs).toBe(before.mtimeMs);
    expect((await same(repo, env)).incremental).toBe(true);
  });

  it('a label change is a full run: selectors and the identity check read labels', async () => {
    const { repo, env } = fleet();
    await same(repo, env);
    edit(path.join(repo, AGENT), 'tier: "0"', 'tier: "not a valid label value!"');
    expect((await same(repo, env, 'text')).incremental).toBe(false);
  });
});
