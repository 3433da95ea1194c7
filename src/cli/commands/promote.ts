import { Option } from 'commander';
import { configOption, outputOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

const FORMATS = ['text', 'json', 'yaml'] as const;

/** Flags both Git-change commands share: where the change is made and how it is written. */
function changeOptions(): Option[] {
  return [
    new Option('-n, --namespace <namespace>', 'the namespace of the record, when its name is not unique'),
    new Option('--base <revision>', 'the commit the change is made on').default('HEAD'),
    new Option('--branch <name>', 'the branch to create (default: derived from the change)'),
    new Option('--force', 'replace the branch when it exists'),
    new Option('--dry-run', 'check everything and show the change; write nothing'),
  ];
}

export const definePromote: DefineCommand = (cmd, wire) => {
  cmd.argument('<kind/name>', 'the agent to promote, as agent/NAME or agent/NAMESPACE/NAME');
  cmd.addOption(new Option('--from <environment>', 'the Environment the version runs in').makeOptionMandatory());
  cmd.addOption(new Option('--to <environment>', 'the Environment to promote it to').makeOptionMandatory());
  for (const o of changeOptions()) cmd.addOption(o);
  cmd
    .addOption(new Option('--status-branch <branch>', 'the branch holding recorded Eval results (local, else origin/BRANCH)').default('joch/status'))
    .addOption(outputOption(FORMATS, 'text'))
    .addOption(configOption())
    .addHelpText(
      'after',
      `\nWrites one commit on a new branch, never to a cluster; the working tree, index and HEAD are not touched.\nExit codes: 0 written (or planned with --dry-run, or nothing to change), 1 a release gate refused it, 2 usage.\n${examples(
        'joch promote agent/support-triage --from staging --to prod',
        'joch promote agent/support-platform/support-triage --from staging --to prod --dry-run',
        'git push origin joch/promote/support-triage-prod-<version>',
      )}`,
    )
    .action(wire(() => import('../promote.js')));
};

export const defineRollback: DefineCommand = (cmd, wire) => {
  cmd.argument('<kind/name>', 'deployment/NAME, or agent/NAME with --env');
  cmd.addOption(new Option('--to-version <n>', 'the Deployment revision to restore (1 is the oldest; see the list with --dry-run)').makeOptionMandatory());
  cmd.addOption(new Option('--env <environment>', 'with agent/NAME: the Environment whose Deployment is rolled back'));
  for (const o of changeOptions()) cmd.addOption(o);
  cmd
    .addOption(new Option('--status-branch <branch>', 'the branch whose history records which revisions ran (local, else origin/BRANCH)').default('joch/status'))
    .addOption(outputOption(FORMATS, 'text'))
    .addOption(configOption())
    .addHelpText(
      'after',
      `\nWrites one commit on a new branch that restores the Deployment record as of revision N. A revision that pins a version (joch.dev/version, joch.dev/source-revision) runs it by the pin and leaves the agent record alone; one without a pin restores the agent record as of its commit too.\nExit codes: 0 written (or planned with --dry-run), 1 the repository with the rollback has errors, 2 usage.\n${examples(
        'joch rollback deployment/support-triage-prod --to-version 2',
        'joch rollback agent/support-triage --env prod --to-version 1 --dry-run',
      )}`,
    )
    .action(wire(() => import('../rollback.js')));
};
