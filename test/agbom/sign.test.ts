/** JSF signatures: round trip, tamper detection, trusted keys, and a signed document still valid CycloneDX. */
import { generateKeyPairSync } from 'node:crypto';
import canonicalize from 'canonicalize';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderCycloneDx, signingInput, signJsf, verifyJsf } from '../../src/agbom/index.js';
import { bomOf, EXAMPLE_FLEET, load } from './helpers.js';
import { validateCycloneDx } from './validators.js';

type Doc = Record<string, unknown>;
let unsigned: Doc;
const ed = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

beforeAll(async () => {
  const run = await load(EXAMPLE_FLEET);
  unsigned = renderCycloneDx(bomOf(run, 'support-triage')) as unknown as Doc;
});

describe('JSF signatures', () => {
  it('round-trip with Ed25519 and stay valid CycloneDX 1.6', async () => {
    const signed = signJsf(unsigned, ed.privateKey, { keyId: 'platform/agbom-signing-key' });
    expect(signed.signature).toMatchObject({ algorithm: 'Ed25519', keyId: 'platform/agbom-signing-key', publicKey: { kty: 'OKP', crv: 'Ed25519' } });
    expect(await validateCycloneDx(JSON.stringify(signed), '1.6')).toBeNull();
    expect(verifyJsf(signed)).toMatchObject({ valid: true, trusted: false, algorithm: 'Ed25519' });
    expect(verifyJsf(signed, ed.publicKey)).toMatchObject({ valid: true, trusted: true });
    expect(verifyJsf(JSON.parse(JSON.stringify(signed)) as Doc, ed.publicKey.export({ type: 'spki', format: 'pem' }) as string).valid).toBe(true);
  });

  it('sign the JCS form, so whitespace and key order do not matter, and Ed25519 output is reproducible', () => {
    const signed = signJsf(unsigned, ed.privateKey);
    const reordered = JSON.parse(canonicalize(signed)!) as Doc;
    expect(verifyJsf(reordered, ed.publicKey).valid).toBe(true);
    expect(signJsf(unsigned, ed.privateKey)).toEqual(signed);
    const { value: _v, ...withoutValue } = signed.signature;
    expect(signingInput(unsigned, withoutValue).toString()).toBe(canonicalize({ ...unsigned, signature: withoutValue }));
  });

  it('fail once the document is tampered with', () => {
    const signed = signJsf(unsigned, ed.privateKey);
    const tampered = JSON.parse(JSON.stringify(signed)) as { components: { properties: { name: string; value: string }[] }[] } & Doc;
    const prop = tampered.components.flatMap((c) => c.properties).find((p) => p.name === 'joch:tool:approval' || p.name === 'joch:class')!;
    prop.value = `${prop.value}-tampered`;
    expect(verifyJsf(tampered)).toMatchObject({ valid: false, reason: 'the signature does not match the document' });
    const version = { ...signed, version: 99 };
    expect(verifyJsf(version).valid).toBe(false);
    const sig = signed.signature.value!;
    const flipped = { ...signed, signature: { ...signed.signature, value: `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}` } };
    expect(verifyJsf(flipped).valid).toBe(false);
  });

  it('fail against another trusted key, even when the embedded key verifies', () => {
    const signed = signJsf(unsigned, ed.privateKey);
    expect(verifyJsf(signed, other.publicKey)).toMatchObject({ valid: false, trusted: true, reason: 'signed with a key other than the trusted one' });
    const swapped = signJsf(unsigned, other.privateKey);
    const forged = { ...signed, signature: { ...signed.signature, value: swapped.signature.value } };
    expect(verifyJsf(forged).valid).toBe(false);
  });

  it('support ES256 keys and refuse unsigned documents', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = signJsf(unsigned, ec.privateKey);
    expect(signed.signature.algorithm).toBe('ES256');
    expect(await validateCycloneDx(JSON.stringify(signed), '1.7')).toBeNull();
    expect(verifyJsf(signed, ec.publicKey).valid).toBe(true);
    expect(verifyJsf(unsigned)).toMatchObject({ valid: false, reason: 'no JSF signature object under "signature"' });
    expect(() => signJsf(unsigned, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)).toThrow(/Ed25519 or P-256/);
  });
});
