/**
 * The second line of defence: nothing joch emits (a compiled object, a
 * CompiledAgentManifest, an AgBOM) may carry a value the secrets pass would
 * flag, whatever path it took to get there. The validate stage should have
 * refused such a value already; if a stage copies one anyway (a field the
 * pass does not know, a value assembled from parts), emission refuses with a
 * located error at the Joch record it came from, and the value is never
 * quoted.
 */
import { finding, formatPath, type Finding, type PathSegment, type SourcePointer } from '../diagnostics/index.js';
import { forEachCredential } from './secrets.js';

/** One document about to be emitted and the Joch record it came from, when one stands behind it. */
export interface Emission {
  /** What the document is, for the message: `Deployment support-platform/support-triage-prod`. */
  readonly what: string;
  readonly value: unknown;
  readonly origin: SourcePointer | undefined;
  /** Where a document with no origin is reported (the configuration file, the repository root). */
  readonly fallback?: { readonly file: string } | undefined;
}

/** A JOCH603 error for each emitted document that carries a credential (one per document: the first found). */
export function emissionFindings(emissions: Iterable<Emission>): Finding[] {
  const out: Finding[] = [];
  for (const e of emissions) {
    const leak = firstCredential(e.value);
    if (!leak) continue;
    const message = `${e.what} would carry what looks like ${leak.what} at ${formatPath(leak.path)}; nothing was emitted`;
    const hint = 'a credential reached the output although validation did not flag its source: move it into your secret store and reference it with a secretRef';
    const at = e.origin ?? { file: e.fallback?.file ?? '.', line: 1, column: 1 };
    out.push(finding('JOCH603', message, at, { hint }));
  }
  return out;
}

/** The first credential in a document, with its path inside the document. */
function firstCredential(value: unknown): { what: string; path: PathSegment[] } | undefined {
  let found: { what: string; path: PathSegment[] } | undefined;
  forEachCredential(value, (c, path, part) => {
    found ??= { what: part === 'key' ? `${c.what} as a key` : c.what, path: [...path] };
  });
  return found;
}
