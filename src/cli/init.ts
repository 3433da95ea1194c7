/**
 * `joch init [DIR]`: a repository to start from, copied from templates/init.
 * `__team__` in a path and `{{team}}` in a file become the team namespace.
 * Existing files are never overwritten.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, type CommandContext, type CommandInput } from './context.js';

const TEMPLATE = fileURLToPath(new URL('../../templates/init/', import.meta.url));
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const dir = path.resolve(ctx.cwd, input.args[0] ?? '.');
  const team = String(input.opts.team ?? 'support');
  if (!DNS_LABEL.test(team)) throw new UsageError(`--team "${team}" must be a Kubernetes namespace name (lowercase letters, digits and -)`);
  if (team === 'platform') throw new UsageError('--team platform would share the namespace of the cluster-wide records; choose another name');
  const occupied = existsSync(dir) && readdirSync(dir).some((f) => f !== '.git');
  if (occupied && input.opts.force !== true) throw new UsageError(`${input.args[0] ?? '.'} is not empty; pass --force to add the scaffold beside what is there (existing files are kept)`);
  const written: string[] = [];
  const kept: string[] = [];
  for (const rel of templateFiles(TEMPLATE)) {
    const target = path.join(dir, rel.split('__team__').join(team));
    const shown = path.relative(ctx.cwd, target) || target;
    if (existsSync(target)) {
      kept.push(shown);
      continue;
    }
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(path.join(TEMPLATE, rel), 'utf8').split('{{team}}').join(team));
    written.push(shown);
  }
  const quiet = input.opts.quiet === true;
  if (!quiet) {
    for (const f of written) ctx.stdout(`created ${f}\n`);
    for (const f of kept) ctx.stdout(`kept    ${f} (already there)\n`);
  }
  // The editor's schemas are this joch version's own, copied in as `joch schemas` does.
  const editor = await (await import('./schemas.js')).run({ args: [dir], opts: {} }, quiet ? { ...ctx, stdout: () => undefined } : ctx);
  if (editor !== 0) return editor;
  if (!quiet) {
    const cd = path.relative(ctx.cwd, dir);
    ctx.stdout(
      [
        '',
        'Next:',
        ...(cd ? [`  cd ${cd}`] : []),
        '  joch validate                 # schemas, references, secrets, policy',
        '  joch get agents               # what the repository holds',
        '  joch compile --stdout | less  # the Kubernetes objects',
        '  git init && git add -A && git commit -m "first fleet"',
        '  joch sync --once              # rendered manifests on the joch/rendered branch',
        '',
      ].join('\n'),
    );
  }
  return 0;
}

/** The template's files, relative and sorted, so that init writes in the same order every time. */
function templateFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out;
}
