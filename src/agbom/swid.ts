/**
 * The SWID projection (ISO/IEC 19770-2:2015): one primary tag per agent,
 * following the NIST IR 8060 rules for an authoritative tag. The
 * organization that keeps the records in Git both creates the agent and
 * writes the tag, so one Entity holds both roles with the organization's
 * regid. The payload is the set of record files the agent is defined by;
 * every inventoried component is a `Link rel="requires"`. SWID has no
 * place for component properties, services or the dependency graph's
 * shape: those are in the CycloneDX and SPDX projections, as the tag's Meta
 * says.
 */
import path from 'node:path/posix';
import { factValue } from './facts.js';
import { uuidV5 } from './identity.js';
import type { AgBom, InventoryComponent } from './model.js';

export const SWID_NS = 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd';
export const NIST_8060_NS = 'http://csrc.nist.gov/ns/swid/2015-extensions/1.0';
export const SHA256_NS = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const JOCH_SWID_NS = 'https://joch.dev/ns/agbom/swid/1';

// eslint-disable-next-line no-control-regex -- the point is to match control characters
const XML_ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`)
    // XML 1.0 cannot carry the other C0 controls at all, not even escaped.
    .replace(XML_ILLEGAL, '');
}

function attrs(a: Readonly<Record<string, string | number | undefined>>): string {
  return Object.entries(a)
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

export function versionScheme(version: string): string {
  if (/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version)) return 'semver';
  if (/^\d+(\.\d+)*$/.test(version)) return 'multipartnumeric';
  return 'alphanumeric';
}

/** The tag id of a component's (notional) tag: what the agent's `requires` links point at. */
export function componentTagId(bom: AgBom, c: InventoryComponent): string {
  return uuidV5(`${bom.serialNumber}/${c.ref}`);
}

export function renderSwid(bom: AgBom): string {
  const inv = bom.inventory;
  const root = inv.components.find((c) => c.ref === inv.root)!;
  const fact = (name: string) => factValue(root.facts, name);
  const framework = inv.components.find((c) => c.class === 'framework');
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(
    `<SoftwareIdentity${attrs({
      xmlns: SWID_NS,
      'xmlns:n8060': NIST_8060_NS,
      'xmlns:SHA256': SHA256_NS,
      'xmlns:joch': JOCH_SWID_NS,
      'xml:lang': 'en',
      name: root.name,
      tagId: bom.serialNumber.replace(/^urn:uuid:/, ''),
      tagVersion: bom.generation.generation,
      version: root.version,
      versionScheme: versionScheme(root.version),
    })}>`,
  );
  lines.push(`  <Entity${attrs({ name: bom.organization.name, regid: bom.organization.regid, role: 'tagCreator softwareCreator' })}/>`);
  lines.push(
    `  <Meta${attrs({
      product: fact('joch:agent:displayName') ?? root.name,
      colloquialVersion: root.version,
      revision: String(bom.generation.generation),
      edition: (framework && factValue(framework.facts, 'joch:framework:name')) ?? framework?.name ?? 'joch-agent',
      summary: root.description,
      persistentId: bom.serialNumber,
      generator: `joch ${bom.toolVersion}`,
      'joch:owner': inv.owner,
      'joch:agent': inv.agent,
      'joch:inventoryHash': bom.inventoryHash,
      'joch:projection':
        'identity, creator, required components and record files; component properties, services, data flows, policies decisions and the dependency graph are in the CycloneDX and SPDX projections',
    })}/>`,
  );
  for (const c of inv.components) {
    if (c.ref === inv.root) continue;
    lines.push(
      `  <Link${attrs({
        href: `swid:${componentTagId(bom, c)}`,
        rel: 'requires',
        use: 'required',
        'joch:ref': c.ref,
        'joch:class': c.class,
        'joch:name': c.name,
        'joch:version': c.version,
      })}/>`,
    );
  }
  lines.push(...payload(bom));
  lines.push('</SoftwareIdentity>', '');
  return lines.join('\n');
}

function payload(bom: AgBom): string[] {
  const out = [`  <Payload${attrs({ 'n8060:pathSeparator': '/', 'n8060:envVarPrefix': '${', 'n8060:envVarSuffix': '}' })}>`];
  for (const f of bom.evidence) {
    const dir = path.dirname(f.path);
    out.push(
      `    <File${attrs({
        name: path.basename(f.path),
        location: dir === '.' ? undefined : dir,
        size: f.size,
        // A record file's version is the revision it was read at.
        version: bom.source.revision ?? (f.sha256 ? f.sha256.slice(0, 12) : undefined),
        'SHA256:hash': f.sha256,
      })}/>`,
    );
  }
  out.push('  </Payload>');
  return out;
}
