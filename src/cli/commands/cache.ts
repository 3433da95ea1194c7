import { Argument } from 'commander';
import { outputOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

export const defineCache: DefineCommand = (cmd, wire) => {
  cmd
    .addArgument(new Argument('<action>', 'dir: print its folder; stats: entries and size; clear: delete every entry').choices(['dir', 'stats', 'clear']))
    .addOption(outputOption(['text', 'json'], 'text'))
    .addHelpText(
      'after',
      '\nThe cache holds checked files and compiled units by content hash, under JOCH_CACHE_DIR or the OS cache folder; it is safe to delete at any time.\n' +
        examples('joch cache dir', 'joch cache stats -o json', 'joch cache clear'),
    )
    .action(wire(() => import('../cache.js')));
};
