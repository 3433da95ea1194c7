import { examples, type DefineCommand } from './types.js';

/** Each file `joch init` writes and what it is for; the help prints this table. */
export const INIT_FILES: readonly (readonly [string, string])[] = [
  ['joch.yaml', 'the project settings: the default namespace and the folders joch reads'],
  ['.jochignore', 'paths joch never reads (gitignore syntax): fixtures, rendered output'],
  ['platform/adapters.yaml', 'FrameworkAdapter: the runtime the agent runs in (cluster-wide)'],
  ['platform/models.yaml', 'Model and its credential Secret: a provider model the fleet may use (cluster-wide)'],
  ['platform/environments.yaml', 'Environment: staging and prod'],
  ['<team>/agents/assistant.yaml', 'Agent: the agent, with its adapter, model route, tool, policy and budgets'],
  ['<team>/tools/kb-search.yaml', 'Tool and its credential Secret: a read-only tool the agent may call'],
  ['<team>/model-routes.yaml', 'ModelRoute: which model serves the agent'],
  ['<team>/policies.yaml', 'Policy: the team rules the agent runs under'],
  ['<team>/budgets.yaml', 'Budget: a spending limit for the team'],
  ['<team>/deployments.yaml', 'Deployment: the agent in staging and in prod'],
  ['.vscode/settings.json', 'editor settings: schema validation and completion for Joch YAML'],
  ['.joch/schemas/', "this joch version's JSON Schemas, which .vscode/settings.json maps the YAML files to (as `joch schemas` writes them)"],
  ['.github/workflows/joch.yaml', 'GitHub workflow: validate and review pull requests, AgBOM diff in the comment'],
];

export const defineInit: DefineCommand = (cmd, wire) => {
  const width = Math.max(...INIT_FILES.map(([f]) => f.length));
  cmd
    .argument('[dir]', 'the folder to scaffold (default: the current folder)', '.')
    .option('--team <name>', 'the team namespace of the first agent', 'support')
    .option('--force', 'write into a folder that already has files (existing files are kept)')
    .addHelpText(
      'after',
      [
        '',
        'Files written:',
        ...INIT_FILES.map(([f, what]) => `  ${f.padEnd(width)}  ${what}`),
        '',
        'What it writes validates and compiles clean; commit it and run joch sync --once for a rendered-manifests branch.',
        examples('joch init my-fleet', 'cd my-fleet && git init && git add -A && git commit -m "first fleet" && joch sync --once'),
      ].join('\n'),
    )
    .action(wire(() => import('../init.js')));
};
