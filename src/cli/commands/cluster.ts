import { Option } from 'commander';
import { clusterOptions, configOption, filenameOption, formatAlias, outputOption, placementOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

const FORMATS = ['text', 'json', 'yaml'] as const;

function common(): Option[] {
  return [
    filenameOption(),
    ...clusterOptions(),
    placementOption(),
    new Option('--inventory <namespace/name>', 'the ApplySet parent Secret that records what joch applied').default('joch-system/joch-inventory'),
    new Option('--field-manager <name>', 'server-side apply field manager').default('joch'),
    new Option('--no-prune', 'keep objects that joch applied before and the repository no longer has'),
    outputOption(FORMATS, 'text'),
    formatAlias(FORMATS),
    configOption(),
  ];
}

export const defineDiff: DefineCommand = (cmd, wire) => {
  cmd.argument('[paths...]', 'files or folders of manifests');
  for (const o of common()) cmd.addOption(o);
  cmd
    .option('--show-unchanged', 'list the objects that would not change too')
    .addHelpText('after', `\nExit codes: 0 no changes, 1 changes, 2 error (as flux diff and argocd app diff).\n${examples('joch diff', 'joch diff --context staging -o json', 'joch diff --cluster prod-eu')}`)
    .action(wire(async () => ({ run: (await import('../cluster.js')).diff })));
};

export const defineApply: DefineCommand = (cmd, wire) => {
  cmd.argument('[paths...]', 'files or folders of manifests');
  for (const o of common()) cmd.addOption(o);
  cmd
    .option('--force', 'take over fields another field manager owns')
    .option('--recreate', 'delete and recreate objects whose immutable fields changed')
    .addOption(new Option('--max-prune-share <fraction>', 'refuse to prune more than this share of the inventory').default('0.5'))
    .option('--allow-mass-prune', 'prune even beyond --max-prune-share')
    .option('--wait <duration>', 'wait for the applied objects to become healthy, e.g. 90s or 5m')
    .addHelpText('after', examples('joch apply --wait 2m', 'joch apply --kubeconfig kind.kubeconfig --context kind-joch', 'joch apply --cluster staging-eu'))
    .action(wire(async () => ({ run: (await import('../cluster.js')).apply })));
};
