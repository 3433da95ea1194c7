/** Turns API failures into ClusterErrors that name the object and its manifest. */
import { ApiError, TransportError } from './transport.js';
import type { ClusterError, ClusterErrorCode, ClusterPhase, ErrorCause, ObjectRef, Origin } from './types.js';
import { errorMessage } from '../diagnostics/index.js';

export interface Subject {
  ref?: ObjectRef;
  origin?: Origin;
}

const IMMUTABLE = /field is immutable|is immutable|may not change once set|cannot change|updates to .* are forbidden|may not be changed|pod updates may not change/i;
const TYPED_PATCH = /failed to create typed patch object/i;

export function isImmutableError(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.status !== 422) return false;
  const messages = err.causes.length ? err.causes.map((c) => c.message) : [err.message];
  return messages.every((m) => IMMUTABLE.test(m));
}

/** Conflicting managers named in a 409 from server-side apply. */
export function conflictManagers(err: ApiError): string[] {
  const names = new Set<string>();
  for (const text of [err.message, ...err.causes.map((c) => c.message)]) {
    for (const m of text.matchAll(/conflicts? with "([^"]+)"/g)) if (m[1]) names.add(m[1]);
  }
  return [...names];
}

export function toClusterError(err: unknown, phase: ClusterPhase, subject: Subject): ClusterError {
  const base = { phase, ...(subject.ref ? { ref: subject.ref } : {}), ...(subject.origin ? { origin: subject.origin } : {}) };
  if (err instanceof TransportError) {
    return { ...base, code: 'unreachable', message: err.message };
  }
  if (!(err instanceof ApiError)) {
    return { ...base, code: 'server', message: errorMessage(err) };
  }
  const causes = err.causes.length ? err.causes : undefined;
  const common = { ...base, httpStatus: err.status, ...(causes ? { causes } : {}) };
  if (err.status === 409 && err.reason === 'Conflict' && conflictManagers(err).length > 0) {
    const managers = conflictManagers(err);
    const fields = err.causes.map((c) => c.field).filter((f): f is string => !!f);
    return {
      ...common,
      code: 'conflict',
      managers,
      message: `field${fields.length === 1 ? '' : 's'} ${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} owned by ${managers.map((m) => `"${m}"`).join(', ')}; apply with force to take ${fields.length === 1 ? 'it' : 'them'} over`,
    };
  }
  if (err.status === 422 && isImmutableError(err)) {
    return { ...common, code: 'immutable', message: `immutable field changed: ${err.message}; use recreate to delete and re-create the object` };
  }
  if (err.status === 500 && TYPED_PATCH.test(err.message)) {
    // The apiserver reports a value of the wrong type for the schema as a
    // 500 while building the typed patch, not as a 422.
    return { ...common, code: 'schema', causes: typedPatchCauses(err.message), message: `does not match the schema: ${err.message}` };
  }
  return { ...common, code: codeForStatus(err.status), message: err.message };
}

function codeForStatus(status: number): ClusterErrorCode {
  switch (status) {
    case 400:
    case 422:
      return 'invalid';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    default:
      return 'server';
  }
}

/** `failed to create typed patch object (g/v, Kind=X): .spec.size: expected numeric…` → a cause per field. */
function typedPatchCauses(message: string): ErrorCause[] {
  const tail = message.replace(/^.*?failed to create typed patch object(?:\s*\([^)]*\))?:\s*/i, '');
  const m = /^(\.[^:\s]+):\s*(.*)$/s.exec(tail);
  return m && m[1] ? [{ field: m[1], reason: 'FieldValueTypeInvalid', message: m[2] ?? tail }] : [{ message: tail }];
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** `file:line:column: Kind ns/name: message`, the way the CLI prints it. */
export function formatClusterError(e: ClusterError): string {
  const where = e.origin ? `${e.origin.file}:${e.origin.line}:${e.origin.column}: ` : '';
  const what = e.ref ? `${describeRef(e.ref)}: ` : '';
  const causes = (e.causes ?? [])
    .filter((c) => c.field && !e.message.includes(c.field))
    .map((c) => `\n    ${c.field}: ${c.message}`)
    .join('');
  return `${where}${what}${e.message} [${e.code}${e.httpStatus ? ` ${e.httpStatus}` : ''}]${causes}`;
}

/** The order a run goes through its phases: an error of an earlier phase is the cause of later ones. */
const PHASE_ORDER: readonly ClusterPhase[] = ['input', 'discovery', 'inventory', 'preflight', 'apply', 'prune', 'health', 'status'];

/**
 * Errors as lines for a person: the earliest phase first (the cause comes
 * before what followed from it), and at most `perGroup` lines for errors of
 * the same code in the same phase, then one line counting the rest, so one
 * cause repeated over a fleet reads as one problem.
 */
export function summarizeErrors(errors: readonly ClusterError[], perGroup = 3): string[] {
  const groups = new Map<string, ClusterError[]>();
  const ranked = [...errors].sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase));
  for (const e of ranked) {
    const key = `${e.phase}/${e.code}`;
    const group = groups.get(key);
    if (group) group.push(e);
    else groups.set(key, [e]);
  }
  const lines: string[] = [];
  for (const [key, group] of groups) {
    for (const e of group.slice(0, perGroup)) lines.push(formatClusterError(e));
    const rest = group.length - perGroup;
    if (rest > 0) lines.push(`... and ${rest} more ${key.replace('/', ' ')} error${rest === 1 ? '' : 's'} like these`);
  }
  return lines;
}
