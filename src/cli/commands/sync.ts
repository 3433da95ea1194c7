import { Option } from 'commander';
import { SYNC_FLAGS } from '../../reconcile/flags.js';
import { examples, type DefineCommand } from './types.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The flags come from SYNC_FLAGS, shared with the JOCH_SYNC_* variables, so the two never disagree. */
export const defineSync: DefineCommand = (cmd, wire) => {
  for (const [name, [env, type, description]] of Object.entries(SYNC_FLAGS)) {
    const help = `${description} [${env}]`;
    if (type === 'boolean') cmd.addOption(new Option(`--${name}`, help));
    else if (type === 'strings') cmd.addOption(new Option(`--${name} <value>`, help).argParser(collect));
    else cmd.addOption(new Option(`--${name} <${type === 'string' ? 'value' : type}>`, help));
  }
  cmd
    .addHelpText(
      'after',
      [
        '',
        'With no options: the Git repository of the current folder, rendered manifests on joch/rendered, status on joch/status.',
        '--commit takes a revision as Git users write it (HEAD~2, a short SHA, a tag) for a local repository.',
        'At a terminal the logs are human-readable lines; otherwise JSON (pino).',
        examples('joch sync --once', 'joch sync --kubeconfig ~/.kube/config --interval 30s', 'joch sync --once --commit HEAD~1 --target folder --output rendered/'),
      ].join('\n'),
    )
    .action(wire(() => import('../sync.js')));
};
