/**
 * Just enough of the Dockerfile syntax to check a Dockerfile against the
 * package without a container engine: stages, instructions with their
 * continuation lines joined, COPY sources and flags, exec-form arrays, ENV.
 */

export interface Instruction {
  /** Upper-case: FROM, COPY, RUN... */
  readonly op: string;
  readonly args: string;
  /** 1-based line of the instruction's first line. */
  readonly line: number;
}

export interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface Copy {
  /** The stage copied from (`--from`), undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
}

/** Joins continuation lines and drops comments and blank lines. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (!trimmed && !current)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    current = current ? { ...current, text: `${current.text} ${part}` } : { text: part, line: i + 1 };
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) out.push(current);
  return out;
}

export function parseDockerfile(text: string): { args: ReadonlyMap<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: { name: string | undefined; base: string; instructions: Instruction[] }[] = [];
  for (const { text: l, line } of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const op = (m[1] ?? '').toUpperCase();
    const rest = m[2] ?? '';
    if (op === 'FROM') {
      const [base = '', as, name] = rest.split(/\s+/);
      stages.push({ base: expand(base, args), name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (op === 'ARG') {
        const [k = '', v = ''] = rest.split('=', 2);
        args.set(k, v);
      }
      continue;
    }
    stage.instructions.push({ op, args: rest, line });
  }
  return { args, stages };
}

function expand(s: string, args: ReadonlyMap<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? '');
}

export function copyOf(i: Instruction): Copy {
  const words = i.args.split(/\s+/).filter(Boolean);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
}

/** An exec-form instruction's array: ENTRYPOINT ["node", "x.js"]. */
export function execForm(i: Instruction): string[] {
  const parsed: unknown = JSON.parse(i.args);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`line ${i.line}: ${i.op} is not in exec form`);
  return parsed;
}

/** ENV KEY=value pairs (the form without `=` is deprecated and not read). */
export function envOf(i: Instruction): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of i.args.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * .dockerignore's rules, which are not .gitignore's: patterns are anchored at
 * the context root, `*` stays within one path segment, `**` spans any number,
 * a pattern that matches a folder matches everything in it, and the last
 * matching pattern wins (`!` re-includes).
 */
export function dockerIgnore(text: string): (file: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const include = l.startsWith('!');
      const pattern = (include ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      return { include, re: globToRegExp(pattern) };
    });
  return (file) => {
    const parts = file.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.include;
    return ignored;
  };
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
