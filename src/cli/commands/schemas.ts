import { Option } from 'commander';
import { examples, type DefineCommand } from './types.js';

export const defineSchemas: DefineCommand = (cmd, wire) => {
  cmd
    .argument('[root]', 'the repository root (default: the folder of the nearest joch.yaml, else the current folder)')
    .addOption(new Option('--dir <folder>', 'where the schemas go, inside the root').default('.joch/schemas'))
    .addOption(new Option('--settings <editor>', 'which editor settings to write').choices(['vscode', 'none']).default('vscode'))
    .addHelpText(
      'after',
      '\nCopies the JSON Schemas of this joch version into the repository and maps its YAML files to them in\n' +
        '.vscode/settings.json (yaml.schemas, read by the YAML language server): joch.yaml, joch-test.yaml files,\n' +
        'and every other YAML file under joch.yaml\'s paths to the schema that dispatches on kind.\n' +
        'Exit codes: 0 written, 1 the settings file is not plain JSON (left unchanged; what to add is printed).\n' +
        examples('joch schemas', 'joch schemas --settings none', 'joch schemas ../agents --dir tools/schemas'),
    )
    .action(wire(() => import('../schemas.js')));
};
