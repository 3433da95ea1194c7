import { formatAlias, outputOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

const FORMATS = ['text', 'json'] as const;

export const definePolicy: DefineCommand = (cmd, wire) => {
  cmd
    .command('test')
    .summary('Run table-driven policy tests (joch-test.yaml folders)')
    .description('Run every joch-test.yaml under the given files and folders: each test validates its inputs and checks the expected verdicts.')
    .argument('[paths...]', 'files or folders holding joch-test.yaml (default: the current folder)')
    .addOption(outputOption(FORMATS, 'text'))
    .addOption(formatAlias(FORMATS))
    .addHelpText('after', `\nExit codes: 0 every case passes, 1 a case fails, 2 a test cannot run.\n${examples('joch policy test examples/fleet/policy-tests')}`)
    .action(wire(() => import('../policy.js')));
};
