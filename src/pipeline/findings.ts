/**
 * The last step every driver shares before findings become diagnostics:
 * joch.yaml's severity overrides, then dropping policy denials that only echo
 * a reference error still reported at the same place.
 */
import { applySeverityOverrides, type LoadedConfig } from '../config/index.js';
import type { Diagnostic, Finding } from '../diagnostics/index.js';
import { Locator } from '../manifests/index.js';

export function settleFindings(findings: readonly Finding[], loaded: LoadedConfig): Finding[] {
  return withoutEchoes(applySeverityOverrides(findings, loaded));
}

/**
 * Settled findings to positioned diagnostics over the manifests and
 * joch.yaml. One Locator per run, so a file with findings from several stages
 * is parsed for positions once.
 */
export function findingResolver(texts: ReadonlyMap<string, string>, loaded: LoadedConfig): (findings: readonly Finding[]) => Diagnostic[] {
  const locate = findingLocator(texts, loaded);
  return (findings) => locate(settleFindings(findings, loaded));
}

/** The positioning half of `findingResolver`, for findings already settled: one diagnostic per finding, in order. */
export function findingLocator(texts: ReadonlyMap<string, string>, loaded: LoadedConfig): (settled: readonly Finding[]) => Diagnostic[] {
  const all = new Map(texts);
  if (loaded.file && loaded.text !== undefined) all.set(loaded.file, loaded.text);
  const locator = new Locator((file) => all.get(file));
  return (settled) => locator.resolve(settled);
}

function pointerKey(at: Finding['at']): string {
  return 'path' in at ? `${at.file}#${at.doc}#${at.path.join('.')}` : `${at.file}:${at.line}:${at.column}`;
}

/**
 * The policy stage denies an agent whose reference does not resolve (JOCH710,
 * fail closed). Where the reference pass reports that very reference as an
 * error, the denial says the same thing twice at the same place: keep the
 * reference error, which has the "did you mean". Only an error may stand in
 * for the denial: it runs after the overrides, so turning the reference
 * finding down or off brings the locked denial back.
 */
function withoutEchoes(findings: readonly Finding[]): Finding[] {
  const reported = new Set(
    findings.filter((f) => (f.code === 'JOCH501' || f.code === 'JOCH504') && f.severity === 'error').map((f) => pointerKey(f.at)),
  );
  return findings.filter((f) => f.code !== 'JOCH710' || !reported.has(pointerKey(f.at)));
}
