/**
 * docs/CLI.md, generated from the command definitions (the same ones that
 * print the help), so the reference cannot drift from the code: a test fails
 * when the file is stale, and `npm run docs:cli` rewrites it.
 */
import type { Command, Option } from 'commander';
import { buildProgram, EXIT_CODES } from './main.js';

export function renderReference(): string {
  const program = buildProgram({ cwd: '.', env: {}, stdout: () => undefined, stderr: () => undefined, isTTY: false });
  const out: string[] = [
    '# joch command reference',
    '',
    '<!-- Generated from src/cli/commands/ by `npm run docs:cli`; a test fails when it is stale. Do not edit by hand. -->',
    '',
    'The flags follow kubectl, flux and argocd: `-f` names files, `-o` chooses the output format, `-n`/`-A` the namespaces, `--context` the kubeconfig context.',
    'Every command takes `--help`; `joch completion bash|zsh|fish` prints a completion script.',
    '',
    '## Global flags',
    '',
    ...optionTable(visible(program).filter((o) => o.long !== '--version')),
    '',
    '## Exit codes',
    '',
    '| code | meaning |',
    '| --- | --- |',
    ...EXIT_CODES.map((e) => `| ${e.code} | ${e.meaning} |`),
    '',
    '## Commands',
    '',
    '| command | what it does |',
    '| --- | --- |',
    ...commands(program).map((c) => `| [\`${title(c)}\`](#${anchor(c)}) | ${escape(c.summary() || c.description())} |`),
    '',
  ];
  for (const c of commands(program)) {
    out.push(`### ${title(c)}`, '', escape(c.description()), '', '```', `${title(c)} ${c.usage()}`, '```', '');
    if (c.registeredArguments.length) {
      out.push('| argument | description |', '| --- | --- |');
      for (const a of c.registeredArguments) out.push(`| \`${a.name()}${a.variadic ? '...' : ''}\`${a.required ? '' : ' (optional)'} | ${escape(a.description)}${a.argChoices ? `: ${a.argChoices.join(', ')}` : ''} |`);
      out.push('');
    }
    if (visible(c).length) out.push(...optionTable(visible(c)), '');
    const after = helpAfter(c);
    if (after) out.push('```', after, '```', '');
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function commands(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (cmd: Command) => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      out.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return out;
}

function title(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

function anchor(c: Command): string {
  return title(c).toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

function visible(c: Command): Option[] {
  return c.options.filter((o) => !o.hidden);
}

function optionTable(options: readonly Option[]): string[] {
  return [
    '| flag | description | default |',
    '| --- | --- | --- |',
    ...options.map((o) => {
      const choices = o.argChoices ? ` (${o.argChoices.join(', ')})` : '';
      const fallback = o.defaultValue === undefined || o.negate ? '' : `\`${String(o.defaultValue)}\``;
      return `| \`${o.flags}\` | ${escape(o.description)}${choices} | ${fallback} |`;
    }),
  ];
}

/** The text a definition adds after its help (examples, exit codes), as the help prints it. */
function helpAfter(c: Command): string {
  let text = '';
  (c as unknown as NodeJS.EventEmitter).emit('afterHelp', { error: false, command: c, write: (s: string) => (text += s) });
  return text.trim();
}

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
