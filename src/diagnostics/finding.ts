import { codeInfo } from './codes.js';
import type { Finding, Place, RelatedFinding, ResourceRef, Severity } from './types.js';

interface FindingExtras {
  readonly resource?: ResourceRef | undefined;
  readonly hint?: string | undefined;
  readonly related?: readonly RelatedFinding[] | undefined;
  readonly severity?: Severity | undefined;
}

/** Builds a finding whose severity defaults to the code's registered one. */
export function finding(code: string, message: string, at: Place, extras: FindingExtras = {}): Finding {
  const info = codeInfo(code);
  if (!info) throw new Error(`unregistered diagnostic code ${code}`);
  return {
    severity: extras.severity ?? info.severity,
    code,
    message,
    at,
    ...(extras.resource ? { resource: extras.resource } : {}),
    ...(extras.hint ? { hint: extras.hint } : {}),
    ...(extras.related?.length ? { related: extras.related } : {}),
  };
}

/** The message of something thrown, whatever was thrown. */
export function errorMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // fetch (the Kubernetes client's transport) says only "fetch failed" and
  // keeps the reason (a refused connection, a bad certificate) in `cause`.
  const cause = e.cause instanceof Error && !e.message.includes(e.cause.message) ? `: ${errorMessage(e.cause)}` : '';
  return `${e.message}${cause}`;
}
