/**
 * `joch explain AGENT [PATH...] [-n NAMESPACE]`: the agent's effective
 * capabilities and which rule allowed, required approval for or denied each.
 * Exit 0 when nothing is denied and the repository has no error, 1 when
 * something is denied or the repository has errors (a file that could not be
 * read may hold a Policy that was never evaluated, and the sync loop refuses
 * a repository with errors as a whole), 2 for usage errors (including an
 * agent that does not exist).
 */
import { didYouMean, leavesInputUnread, redactText, type Diagnostic } from '../diagnostics/index.js';
import { Locator } from '../manifests/index.js';
import { runValidate } from '../pipeline/index.js';
import { explainAgent, renderExplanation, type AgentEvaluation, type ExplainFormat } from '../policy/index.js';
import { UsageError, type CommandContext, type CommandInput } from './context.js';
import { inputPaths, outputOf } from './flags.js';
import { renderData } from './output.js';

export async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [target, ...operands] = input.args;
  if (!target) throw new UsageError('name the agent to explain');
  const output = outputOf(input.opts);
  const format: ExplainFormat = output === 'json' || output === 'yaml' ? 'json' : 'text';
  const paths = await inputPaths(input.opts, operands, ctx);
  const slash = target.indexOf('/');
  const name = slash > 0 ? target.slice(slash + 1) : target;
  const namespace = (input.opts.namespace as string | undefined) ?? (slash > 0 ? target.slice(0, slash) : undefined);

  const run = await runValidate({ paths, cwd: ctx.cwd, configFile: input.opts.config as string | undefined });
  const evaluation = pickAgent(run.policy?.agents ?? [], name, namespace);
  const locator = new Locator((file) => run.set.texts.get(file));
  // Rule reasons and names come from the repository: mask credentials as every other output does.
  const rendered = redactText(renderExplanation(explainAgent(evaluation, (p) => locator.locate(p)), format));
  ctx.stdout(output === 'yaml' ? renderData('yaml', JSON.parse(rendered) as unknown) : rendered);
  const caveat = repositoryCaveat(run.diagnostics);
  if (caveat) ctx.stderr(`joch explain: ${caveat}; run joch validate for all of them\n`);
  return caveat || evaluation.verdicts.some((v) => v.outcome === 'deny') ? 1 : 0;
}

/** Why the explanation is not the whole truth: files that were not read, or errors that refuse the repository. */
function repositoryCaveat(diagnostics: readonly Diagnostic[]): string | undefined {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const unread = [...new Set(errors.filter((d) => leavesInputUnread(d.code)).map((d) => d.file))];
  if (unread.length) {
    return `${unread.length} file(s) could not be read (${unread.slice(0, 3).join(', ')}${unread.length > 3 ? ', ...' : ''}); a Policy in them was not evaluated, so this explanation may be incomplete`;
  }
  if (errors.length) return `the repository has ${errors.length} error(s) and would be refused as a whole`;
  return undefined;
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
