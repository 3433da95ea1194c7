import { clusterOptions, configOption, filenameOption, LIST_FORMATS, namespaceOptions, outputOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

const KINDS_HELP = 'a kind in any spelling kubectl accepts: agent, agents, Agent, mcpserver, modelroute, ...';

export const defineGet: DefineCommand = (cmd, wire) => {
  cmd.argument('<kind>', KINDS_HELP).argument('[name]', 'only this resource').addOption(filenameOption());
  for (const o of [...namespaceOptions(), ...clusterOptions()]) cmd.addOption(o);
  cmd
    .addOption(outputOption(LIST_FORMATS, 'table'))
    .addOption(configOption())
    .addHelpText(
      'after',
      [
        '',
        'Reads the repository of the current folder (or -f); with --kubeconfig or --context, the custom resources in the cluster instead.',
        examples('joch get agents', 'joch get tools -n support-platform -o wide', 'joch get agent support-triage -o yaml', 'joch get agents --kubeconfig ~/.kube/config -A'),
      ].join('\n'),
    )
    .action(wire(() => import('../resources.js')));
};

export const defineDescribe: DefineCommand = (cmd, wire) => {
  cmd.argument('<kind/name>', 'the resource, as KIND/NAME or KIND NAME').argument('[name]', 'the name, when KIND is given alone').addOption(filenameOption());
  for (const o of [...namespaceOptions().slice(0, 1), ...clusterOptions()]) cmd.addOption(o);
  cmd
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addOption(configOption())
    .addHelpText(
      'after',
      [
        '',
        'The resolved view of one resource: where it is defined, its spec, what it references and what references it, and for an agent its effective capabilities.',
        examples('joch describe agent/support-triage', 'joch describe tool zendesk.search -n support-platform -o yaml'),
      ].join('\n'),
    )
    .action(wire(async () => ({ run: (await import('../resources.js')).describe })));
};
