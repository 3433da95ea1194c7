/**
 * The validators the AgBOM tests use: the official CycloneDX schemas through
 * @cyclonedx/cyclonedx-library's strict JSON validator; for SPDX 3.0.1, the
 * SPDX project's own Go library (spdx/tools-golang, through spdx3-check/,
 * built from the Go module proxy) which reads the JSON-LD with the SPDX
 * context and runs the validations generated from the model's SHACL shapes,
 * and our own JSON Schema of the subset the renderer emits
 * (spdx-3.0.1-subset.schema.json: no npm or Debian package ships the SPDX 3
 * schema, and the library ignores properties it does not know), to which the
 * tests add the AI and Dataset profile rules of checkSpdxProfiles;
 * fast-xml-parser for XML well-formedness; and the NIST IR 8060 rules as
 * NIST's own swidval Schematron states them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

const CDX = { '1.6': Spec.Version.v1dot6, '1.7': Spec.Version.v1dot7 } as const;
const cdxValidators = new Map<string, Validation.JsonStrictValidator>();

/** Null when valid; the validator's errors otherwise. */
export async function validateCycloneDx(text: string, version: '1.6' | '1.7'): Promise<unknown> {
  let v = cdxValidators.get(version);
  if (!v) cdxValidators.set(version, (v = new Validation.JsonStrictValidator(CDX[version])));
  return v.validate(text);
}

/** Our schema of the SPDX 3.0.1 JSON-LD subset the renderer emits (not the SPDX project's schema). */
export const SPDX_SUBSET_SCHEMA = new URL('./spdx-3.0.1-subset.schema.json', import.meta.url);
let spdxValidator: ValidateFunction | undefined;

/** Empty when the document fits our SPDX 3.0.1 subset schema; Ajv's errors otherwise. */
export function validateSpdx(doc: unknown): string[] {
  if (!spdxValidator) {
    // Strict mode: a keyword typo or a type-less constraint in the schema fails here, not silently.
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    spdxValidator = ajv.compile(JSON.parse(readFileSync(SPDX_SUBSET_SCHEMA, 'utf8')) as object);
  }
  return spdxValidator(doc) ? [] : (spdxValidator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

// ---------------------------------------------------------------------------
// SPDX 3.0.1 through the SPDX project's Go library

const SPDX3_BUILD = fileURLToPath(new URL('./build-spdx3-check.sh', import.meta.url));
let spdx3Binary: { path: string } | { reason: string } | undefined;

export function spdx3CheckRequired(): boolean {
  const v = process.env['JOCH_REQUIRE_SPDX3'];
  return v === '1' || v === 'true';
}

/** The checker's path, built on first use (Go and the module proxy needed), or why there is none. */
export function spdx3Check(): { path: string } | { reason: string } {
  if (!spdx3Binary) {
    try {
      spdx3Binary = { path: execFileSync(SPDX3_BUILD, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() };
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr?.trim();
      spdx3Binary = { reason: stderr || (e instanceof Error ? e.message : String(e)) };
    }
  }
  return spdx3Binary;
}

/** Each document's errors as the SPDX library reports them (empty when valid), by the name given. */
export function validateSpdxWithSpdxTools(binary: string, docs: ReadonlyMap<string, unknown>): Map<string, string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'joch-spdx3-'));
  try {
    const files = [...docs].map(([name, doc], i) => {
      const file = path.join(dir, `${i}.spdx.json`);
      writeFileSync(file, JSON.stringify(doc));
      return [file, name] as const;
    });
    const run = spawnSync(binary, files.map(([f]) => f), { encoding: 'utf8' });
    if (run.status !== 0 && run.status !== 1) throw new Error(`spdx3-check exited ${String(run.status)}: ${run.stderr}`);
    const names = new Map(files);
    const out = new Map<string, string[]>();
    for (const line of run.stdout.split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { file: string; errors: string[] };
      out.set(names.get(r.file) ?? r.file, r.errors);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// SWID: well-formedness, then NIST IR 8060 (phase swid.primary.auth of swidval's Schematron)

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
}

export function parseXml(text: string): XmlElement {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg} at line ${valid.err.line}`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, ignoreDeclaration: true });
  const tree = parser.parse(text) as Record<string, unknown>[];
  const toEl = (node: Record<string, unknown>): XmlElement => {
    const name = Object.keys(node).find((k) => k !== ':@')!;
    return {
      name,
      attrs: (node[':@'] as Record<string, string> | undefined) ?? {},
      children: ((node[name] as Record<string, unknown>[]) ?? []).filter((c) => !('#text' in c)).map(toEl),
    };
  };
  const roots = tree.filter((n) => !('#text' in n)).map(toEl);
  if (roots.length !== 1) throw new Error('an XML document has exactly one root element');
  return roots[0]!;
}

const NIST_URI = new RegExp(
  "^([a-z0-9+.-]+):(//((([a-z0-9\\-._~!$&'()*+,;=:]|%[0-9A-F]{2})*)@)?(([a-z0-9\\-._~!$&'()*+,;=]|%[0-9A-F]{2})*)(:(\\d*))?(/([a-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*)?|(/?([a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-F]{2})+([a-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*)?)(\\?(([a-z0-9\\-._~!$&'()*+,;=:/?@]|%[0-9A-F]{2})*))?(#(([a-z0-9\\-._~!$&'()*+,;=:/?@]|%[0-9A-F]{2})*))?$",
);

function descendants(e: XmlElement, name: string): XmlElement[] {
  return e.children.flatMap((c) => [...(c.name === name ? [c] : []), ...descendants(c, name)]);
}

/**
 * The rules of NIST's swidval Schematron (swid-nistir-8060.sch) for a
 * primary, authoritative tag, each by its id; returns the ids that fail.
 */
export function nistIr8060(root: XmlElement): string[] {
  const fail: string[] = [];
  const check = (id: string, ok: boolean) => {
    if (!ok) fail.push(id);
  };
  const a = root.attrs;
  check('ISO-root', root.name === 'SoftwareIdentity' && a.xmlns === 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd');
  check('ISO-name', Boolean(a.name));
  check('ISO-tagId', Boolean(a.tagId));
  const entities = root.children.filter((c) => c.name === 'Entity');
  const roles = (e: XmlElement) => (e.attrs.role ?? '').split(/\s+/);
  const tagCreators = entities.filter((e) => roles(e).includes('tagCreator'));
  check('SWID-1-1', tagCreators.length > 0);
  check('SWID-2-1', new Set(tagCreators.map((e) => e.attrs.regid)).size <= 1);
  check('GEN-2-1', a['xml:lang'] !== undefined);
  check('GEN-2-2', Boolean(a['xml:lang']));
  for (const e of entities) {
    check('GEN-7-1', entities.every((o) => o === e || o.attrs.regid !== e.attrs.regid || o.attrs.role === e.attrs.role));
    check('GEN-4-1', e.attrs.regid !== undefined);
    check('GEN-4-2', Boolean(e.attrs.regid));
    check('GEN-4-3', e.attrs.regid !== 'http://invalid.unavailable');
  }
  for (const l of descendants(root, 'Link')) check('GEN-11-1', !l.attrs.href?.startsWith('swid:') || NIST_URI.test(l.attrs.href));
  const payloads = root.children.filter((c) => c.name === 'Payload' || c.name === 'Evidence');
  for (const p of payloads) {
    check('GEN-22-1', p.attrs['n8060:pathSeparator'] !== undefined);
    check('GEN-22-2', Boolean(p.attrs['n8060:pathSeparator']));
    check('GEN-23-1', p.attrs['n8060:envVarPrefix'] !== undefined);
    check('GEN-23-2', Boolean(p.attrs['n8060:envVarPrefix']));
    check('GEN-24-1', p.attrs['n8060:envVarSuffix'] !== undefined);
    check('GEN-24-2', Boolean(p.attrs['n8060:envVarSuffix']));
    check('PRI-8-1', descendants(p, 'File').length > 0);
  }
  for (const f of descendants(root, 'File')) {
    check('GEN-14-1', f.attrs.size !== undefined);
    check('GEN-14-2', Boolean(f.attrs.size));
    check('GEN-15-1', f.attrs.version !== undefined);
    check('GEN-15-2', Boolean(f.attrs.version));
    const hash = Object.entries(f.attrs).find(([k]) => k.endsWith(':hash'));
    const sha256Prefix = Object.entries(a).find(([k, v]) => k.startsWith('xmlns:') && v === 'http://www.w3.org/2001/04/xmlenc#sha256')?.[0].slice(6);
    check('GEN-16-1', hash !== undefined);
    check('GEN-19-1', Boolean(sha256Prefix) && hash?.[0] === `${sha256Prefix}:hash`);
    check('GEN-19-2', /^[a-f0-9]{64}$/i.test(hash?.[1] ?? ''));
  }
  const authoritative = tagCreators.some((e) => ['aggregator', 'distributor', 'licensor', 'softwareCreator'].some((r) => roles(e).includes(r)));
  check('GEN-8-1', authoritative);
  check('GEN-9-1', entities.some((e) => roles(e).includes('softwareCreator')));
  check('PRI-1-1', a.corpus === undefined || a.corpus === 'false');
  check('PRI-1-2', a.patch === undefined || a.patch === 'false');
  check('PRI-1-3', a.supplemental === undefined || a.supplemental === 'false');
  const metas = root.children.filter((c) => c.name === 'Meta');
  check('PRI-13-1', metas.length > 0);
  for (const m of metas) {
    check('PRI-13-2', m.attrs.product !== undefined);
    check('PRI-13-3', m.attrs.colloquialVersion !== undefined);
    check('PRI-13-4', m.attrs.revision !== undefined);
    check('PRI-13-5', m.attrs.edition !== undefined);
  }
  check('PRI-2-1', a.version !== undefined);
  check('PRI-2-2', a.version === undefined || a.version.length > 0);
  check('PRI-3-1', a.version === undefined || a.versionScheme !== undefined);
  check('PRI-3-2', a.versionScheme === undefined || a.versionScheme.length > 0);
  check('PRI-6-1', root.children.some((c) => c.name === 'Payload'));
  check('PRI-6-2', !root.children.some((c) => c.name === 'Evidence'));
  return [...new Set(fail)];
}
