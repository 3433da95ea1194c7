import { Option } from 'commander';
import { configOption, noCacheOption, FINDINGS_FORMATS, filenameOption, formatAlias, outputOption, placementOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

/** What `-o DIR` (the older spelling) should be written as now. */
export function compileOutputMisuse(value: string): string {
  return `"${value}" is not an output format: -o selects the format of the findings (${FINDINGS_FORMATS.join(', ')}); write the compiled files with --output-dir ${value}`;
}

export const defineCompile: DefineCommand = (cmd, wire) => {
  cmd
    .argument('[paths...]', 'files or folders of manifests')
    .addOption(filenameOption())
    .option('--output-dir <dir>', 'write the compiled objects, agent manifests and AgBOMs into this folder (was -o DIR); one folder per cluster when joch.yaml maps clusters')
    .option('--stdout', 'print the objects as one YAML stream instead (findings go to stderr)')
    .option('--single-file', 'with --output-dir: one file of objects instead of one per object')
    .addOption(new Option('--crds <mode>', 'the CustomResourceDefinitions: include them, emit only them, or skip them').choices(['include', 'only', 'skip']).default('include'))
    .addOption(placementOption())
    .option('--without-policy', 'compile even when policy denies (for inspection; never for apply)')
    .option('--no-agbom', 'with --output-dir: do not write the AgBOMs')
    .addOption(outputOption(FINDINGS_FORMATS, 'text', compileOutputMisuse))
    .addOption(formatAlias(FINDINGS_FORMATS))
    .addOption(configOption())
    .addOption(noCacheOption())
    .addHelpText(
      'after',
      examples('joch compile --output-dir rendered/', 'joch compile --stdout | kubectl apply --server-side -f -', 'joch compile --stdout --crds only', 'joch compile --cluster prod-eu --stdout'),
    )
    .action(wire(() => import('../compile.js')));
};
