import { Argument } from 'commander';
import { clusterOptions, outputOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

export const defineVersion: DefineCommand = (cmd, wire) => {
  for (const o of clusterOptions()) cmd.addOption(o);
  cmd
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText('after', `\nThe client version and commit; with --kubeconfig or --context, the server's version too.\n${examples('joch version', 'joch version --context kind-joch -o json')}`)
    .action(wire(() => import('../version-command.js')));
};

export const defineCompletion: DefineCommand = (cmd, wire) => {
  cmd
    .addArgument(new Argument('<shell>', 'the shell to complete for').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      examples('joch completion bash > /etc/bash_completion.d/joch', 'joch completion zsh > "${fpath[1]}/_joch"', 'joch completion fish > ~/.config/fish/completions/joch.fish'),
    )
    .action(wire(() => import('../completion.js')));
};

export const defineAction: DefineCommand = (cmd, wire) => {
  cmd.addHelpText('after', '\nInside a workflow step; reads the INPUT_* and GITHUB_* variables (see action.yml).\n').action(wire(() => import('../action.js')));
};
