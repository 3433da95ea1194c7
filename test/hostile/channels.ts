/**
 * Every output channel of the command line over one repository: validate in
 * each format, explain, compile to files and to stdout, and each AgBOM
 * format. The hostile-input tests run a planted file through all of them
 * and look at the exit code and every byte written.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { cli, type CliResult } from '../support/repo.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const FLEET = path.join(ROOT, 'examples/fleet');

/** A copy of the example fleet, plus `files` (paths relative to the fleet root), in a temporary folder removed after the test. */
export function fleetWith(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'joch-hostile-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  cpSync(FLEET, root, { recursive: true });
  mkdirSync(path.join(root, '.git'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

export interface ChannelRun extends CliResult {
  readonly channel: string;
  /** stdout, stderr and every file the command wrote. */
  readonly output: string;
}

const AGENT = ['support-triage', '-n', 'support-platform'];

/** Runs every channel in `root`; each run's files go to a folder of their own. */
export async function everyChannel(root: string): Promise<ChannelRun[]> {
  const out = path.join(root, '.out');
  const runs: Array<[string, string[], string | undefined]> = [
    ['validate text', ['validate'], undefined],
    ['validate json', ['validate', '-o', 'json'], undefined],
    ['validate github', ['validate', '-o', 'github'], undefined],
    ['validate sarif', ['validate', '-o', 'sarif'], undefined],
    ['explain', ['explain', ...AGENT], undefined],
    ['explain json', ['explain', ...AGENT, '-o', 'json'], undefined],
    ['compile files', ['compile', '--output-dir', path.join(out, 'compile')], path.join(out, 'compile')],
    ['compile stdout', ['compile', '--stdout'], undefined],
    ['compile json', ['compile', '--stdout', '-o', 'json'], undefined],
    ['agbom cyclonedx', ['agbom', 'support-triage', '--format', 'cyclonedx'], undefined],
    ['agbom spdx', ['agbom', 'support-triage', '--format', 'spdx'], undefined],
    ['agbom swid', ['agbom', 'support-triage', '--format', 'swid'], undefined],
    ['agbom export', ['agbom', 'export', '--out-dir', path.join(out, 'agbom'), '--format', 'cyclonedx,spdx,swid'], path.join(out, 'agbom')],
  ];
  const results: ChannelRun[] = [];
  for (const [channel, argv, dir] of runs) {
    const r = await cli(argv, root, { env: { SOURCE_DATE_EPOCH: '0' } });
    results.push({ channel, ...r, output: `${r.stdout}\n${r.stderr}\n${dir ? readTree(dir) : ''}` });
  }
  return results;
}

/** Every file under a folder, as `path\ncontent` blocks (the names are output too). */
function readTree(dir: string): string {
  let text = '';
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const abs = path.join(d, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else text += `${abs}\n${readFileSync(abs, 'utf8')}\n`;
    }
  };
  walk(dir);
  return text;
}
