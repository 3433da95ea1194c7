/**
 * `joch explain AGENT [PATH...] [-n NAMESPACE]`: the agent's effective
 * capabilities and which rule allowed, required approval for or denied each.
 * Exit 0 when nothing is denied, 1 when something is, 2 for usage errors
 * (including an agent that does not exist).
 */
import { didYouMean } from '../diagnostics/index.js';
import { Locator } from '../manifests/index.js';
import { runValidate } from '../pipeline/index.js';
import { explainAgent, renderExplanation, type AgentEvaluation, type ExplainFormat } from '../policy/index.js';
import { parseCommandLine, UsageError, type CommandContext } from './context.js';

const FORMATS: readonly ExplainFormat[] = ['text', 'json'];

export async function run(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  const [target, ...paths] = positionals;
  if (!target) throw new UsageError('name the agent to explain');
  const format = (values.format ?? 'text') as ExplainFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const slash = target.indexOf('/');
  const name = slash > 0 ? target.slice(slash + 1) : target;
  const namespace = values.namespace ?? (slash > 0 ? target.slice(0, slash) : undefined);

  const run = await runValidate({ paths, cwd: ctx.cwd, configFile: values.config });
  const evaluation = pickAgent(run.policy?.agents ?? [], name, namespace);
  const locator = new Locator((file) => run.set.texts.get(file));
  ctx.stdout(renderExplanation(explainAgent(evaluation, (p) => locator.locate(p)), format));
  if (run.summary.errors > 0) ctx.stderr(`joch explain: the repository has ${run.summary.errors} error(s); run joch validate for all of them\n`);
  return evaluation.verdicts.some((v) => v.outcome === 'deny') ? 1 : 0;
}

function pickAgent(agents: readonly AgentEvaluation[], name: string, namespace: string | undefined): AgentEvaluation {
  const named = agents.filter((a) => a.agent.name === name);
  const hits = namespace === undefined ? named : named.filter((a) => a.agent.namespace === namespace);
  if (hits.length === 1) return hits[0] as AgentEvaluation;
  if (hits.length > 1) {
    throw new UsageError(`agent "${name}" exists in namespaces ${hits.map((a) => a.agent.namespace).join(', ')}; choose one with -n`);
  }
  const where = namespace === undefined ? '' : ` in namespace ${namespace}`;
  const elsewhere = named.length ? ` (it exists in ${named.map((a) => a.agent.namespace).join(', ')})` : '';
  const hint = didYouMean(name, agents.map((a) => a.agent.name));
  throw new UsageError(`no agent "${name}"${where}${elsewhere}${hint ? `; ${hint}` : ''}`);
}

const OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  format: { type: 'string', short: 'f' },
  config: { type: 'string', short: 'c' },
} as const;
