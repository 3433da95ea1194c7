/**
 * Whatever a command threw, as one line and a hint: a user never sees a
 * stack trace unless they ask for it with --debug.
 */
import { errorMessage, redactText } from '../diagnostics/index.js';
import { UsageError } from './context.js';

export interface DescribedError {
  readonly message: string;
  readonly hint?: string;
}

/** No cluster to talk to: raised before any request, so the user learns how to point joch at one. */
export class NoClusterError extends Error {}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export const CLUSTER_HINT = 'pass --kubeconfig FILE (and --context NAME), set KUBECONFIG, or create a local cluster (for example `kind create cluster`) and retry';

export function describeError(e: unknown, where: string): DescribedError {
  if (e instanceof UsageError) return { message: firstLine(e.message), hint: `see \`${where} --help\`` };
  if (e instanceof NoClusterError) return { message: e.message, hint: CLUSTER_HINT };
  const code = networkCode(e);
  // The cluster stage refuses a kubeconfig it will not use (no TLS verification, say): a setting to change, not a bug.
  if (!code && /kubeconfig/i.test(errorMessage(e))) return { message: firstLine(redactText(errorMessage(e))), hint: CLUSTER_HINT };
  if (code) return { message: `cannot reach the Kubernetes API server (${code}): ${firstLine(redactText(errorMessage(e)))}`, hint: `is the cluster running? ${CLUSTER_HINT}` };
  return { message: `internal error: ${firstLine(redactText(errorMessage(e)))}`, hint: 'run again with --debug for the stack trace, and report it if it persists' };
}

/** The system error code of a failed connection, looked for along `cause` (fetch wraps them). */
function networkCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
