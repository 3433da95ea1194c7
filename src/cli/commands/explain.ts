import { configOption, filenameOption, formatAlias, outputOption } from '../flags.js';
import { Option } from 'commander';
import { examples, type DefineCommand } from './types.js';

const FORMATS = ['text', 'table', 'json', 'yaml'] as const;

export const defineExplain: DefineCommand = (cmd, wire) => {
  cmd
    .argument('<agent>', 'the agent, as NAME or NAMESPACE/NAME')
    .argument('[paths...]', 'files or folders of manifests')
    .addOption(filenameOption())
    .addOption(new Option('-n, --namespace <namespace>', 'the namespace of the agent, when its name is not unique'))
    .addOption(outputOption(FORMATS, 'text'))
    .addOption(formatAlias(FORMATS))
    .addOption(configOption())
    .addHelpText('after', `\nExit codes: 0 nothing denied, 1 a capability is denied or the repository has errors, 2 usage.\n${examples('joch explain support-triage', 'joch explain support-platform/support-triage -o json')}`)
    .action(wire(() => import('../explain.js')));
};
