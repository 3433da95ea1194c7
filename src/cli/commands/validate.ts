import { configOption, noCacheOption, FINDINGS_FORMATS, filenameOption, formatAlias, outputOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

/** Kept here as plain names so the help needs no pipeline; a test checks them against the pipeline's list. */
export const CHECK_NAMES = ['schema', 'identity', 'references', 'secrets', 'policy'] as const;

export const defineValidate: DefineCommand = (cmd, wire) => {
  cmd
    .argument('[paths...]', 'files or folders of manifests (default: the paths joch.yaml lists, else the current folder)')
    .addOption(filenameOption())
    .addOption(outputOption(FINDINGS_FORMATS, 'text'))
    .addOption(formatAlias(FINDINGS_FORMATS))
    .option('--checks <list>', `comma-separated checks to run (default: all of ${CHECK_NAMES.join(', ')})`)
    .addOption(configOption())
    .option('--timings', 'print how long each stage took, on stderr')
    .addOption(noCacheOption())
    .addHelpText(
      'after',
      examples(
        'joch validate                          # the repository of the current folder',
        'joch validate -f agents/ -f tools.yaml',
        'cat agent.yaml | joch validate -f - --checks schema',
        'joch validate -o sarif > joch.sarif    # for code scanning',
      ),
    )
    .action(wire(() => import('../validate.js')));
};
