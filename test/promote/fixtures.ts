/**
 * Real Git repositories for the promote tests: the example fleet committed
 * with the git binary, results recorded on the status branch as the sync
 * loop writes them, and the Approval record a release gate asks for.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

export const FLEET = path.resolve(import.meta.dirname, '../../examples/fleet');
export const ENV = { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' };

export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', input }).trim();
}

/** The example fleet as a Git repository of its own, one commit on main. */
export function fleetRepo(): string {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'joch-promote-')));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  cpSync(FLEET, root, { recursive: true });
  git(root, ['init', '-q', '-b', 'main']);
  git(root, ['config', 'user.name', 'Dev']);
  git(root, ['config', 'user.email', 'dev@example.com']);
  git(root, ['add', '-A']);
  git(root, ['commit', '-qm', 'fleet']);
  return root;
}

export function commitAll(root: string, message: string): void {
  git(root, ['add', '-A']);
  git(root, ['commit', '-qm', message]);
}

/** Commits files on a branch without touching the working tree, as the sync loop's status writer does. */
export function commitOnBranch(root: string, branch: string, files: Record<string, string>): void {
  const index = path.join(mkdtempSync(path.join(tmpdir(), 'joch-index-')), 'index');
  const env = { ...ENV, GIT_INDEX_FILE: index };
  const parent = (() => {
    try {
      return git(root, ['rev-parse', '--verify', '-q', `refs/heads/${branch}`]);
    } catch {
      return undefined;
    }
  })();
  const run = (args: string[], input?: string) => execFileSync('git', args, { cwd: root, env, encoding: 'utf8', input }).trim();
  if (parent) run(['read-tree', parent]);
  for (const [p, text] of Object.entries(files)) run(['update-index', '--add', '--cacheinfo', `100644,${run(['hash-object', '-w', '--stdin'], text)},${p}`]);
  const tree = run(['write-tree']);
  const commit = run(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', 'eval results [skip ci]']);
  run(['update-ref', `refs/heads/${branch}`, commit]);
  rmSync(path.dirname(index), { recursive: true, force: true });
}


export function passGates(root: string, version: string, scores = 'task_success: 0.91\n      cost_per_case: 0.22\n      pii_leakage: 0.0'): void {
  commitOnBranch(root, 'joch/status', {
    'evals/support-platform/support-triage-quality.yaml': `results:\n  - version: ${version}\n    scores:\n      ${scores}\n`,
  });
  writeFileSync(
    path.join(root, `support-platform/approval-${version.slice(7, 19)}.yaml`),
    [
      'apiVersion: runtime.joch.dev/v1alpha1',
      'kind: Approval',
      'metadata:',
      `  name: promote-support-triage-prod-${version.slice(7, 19)}`,
      '  namespace: support-platform',
      '  labels:',
      '    joch.dev/agent: support-triage',
      '    joch.dev/environment: prod',
      '  annotations:',
      `    joch.dev/version: "${version}"`,
      'spec:',
      '  action:',
      '    type: promotion',
      '  routing:',
      '    approvers: [release-manager]',
      '',
    ].join('\n'),
  );
  commitAll(root, `approve support-triage ${version.slice(7, 19)} for prod`);
}

