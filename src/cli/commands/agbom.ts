import { Option } from 'commander';
import { configOption, filenameOption } from '../flags.js';
import { examples, type DefineCommand } from './types.js';

export const defineAgbom: DefineCommand = (cmd, wire) => {
  cmd
    .argument('[args...]', 'AGENT [PATH...] | export [PATH...] | ls [PATH...] | diff BEFORE AFTER | diff --from REV [--to REV] [PATH] | verify FILE')
    .addOption(filenameOption())
    .addOption(new Option('--format <format>', 'document format of AGENT and export: cyclonedx, spdx, swid (export takes a comma-separated list)'))
    .addOption(new Option('-o, --output <format>', 'output format: ls table|wide|json|yaml|name, diff text|json|markdown, verify text|json'))
    .option('--output-file <file>', 'AGENT: write the document to this file instead of stdout (was -o FILE)')
    .addOption(new Option('--spec-version <version>', 'CycloneDX specification version').choices(['1.6', '1.7']).default('1.6'))
    .option('--out-dir <dir>', 'export: the folder to write into')
    .option('--state <file>', 'generation state file: generations increase only when an inventory changes')
    .option('--write-state', 'write the updated generation state back to --state')
    .option('--sign-key <key.pem>', 'AGENT: sign the CycloneDX document (JSF) with this private key')
    .option('--key-id <id>', 'AGENT: the key id recorded in the signature')
    .option('--key <public.pem>', 'verify: the public key the signature must verify with')
    .option('--agent <name>', 'diff: only this agent')
    .option('--high-risk', 'ls: only agents with risks (exit 1 when there are any)')
    .option('--organization <name>', 'SWID: the software creator')
    .option('--regid <regid>', 'SWID: the creator registration id')
    .option('--from <revision>', 'diff: the earlier Git revision (HEAD~5, a short SHA, a tag or a branch)')
    .option('--to <revision>', 'diff: the later Git revision (default: the working tree)')
    .addOption(configOption())
    .addHelpText(
      'after',
      examples(
        'joch agbom support-triage --format spdx',
        'joch agbom ls -o json',
        'joch agbom diff --from HEAD~5',
        'joch agbom export --out-dir agbom/ --format cyclonedx,spdx',
        'joch agbom verify signed.cdx.json --key public.pem',
      ),
    )
    .action(wire(() => import('../agbom.js')));
};
