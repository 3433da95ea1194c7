/**
 * Enveloped JSF signatures (JSON Signature Format 0.82, the one CycloneDX
 * embeds). Per JSF, the signed data is the JCS (RFC 8785) canonical form of
 * the whole object with the `signature` object in place minus its `value`;
 * the value is the base64url signature of those UTF-8 bytes. Ed25519 by
 * default; ES256 when the key is a P-256 key.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';

export type JsfAlgorithm = 'Ed25519' | 'ES256';

export interface JsfSignatureObject {
  readonly algorithm: JsfAlgorithm | string;
  readonly keyId?: string | undefined;
  readonly publicKey?: Readonly<Record<string, string>> | undefined;
  readonly value?: string | undefined;
}

export interface SignOptions {
  /** Application name of the key, for example the Joch Secret that holds it. */
  readonly keyId?: string | undefined;
  /** Embed the public key (default): anyone can check integrity, and a trusted key proves origin. */
  readonly embedPublicKey?: boolean | undefined;
}

function algorithmOf(key: KeyObject): JsfAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType ?? 'unknown'}: use an Ed25519 or P-256 key`);
}

function toPrivateKey(key: KeyObject | string): KeyObject {
  return typeof key === 'string' ? createPrivateKey(key) : key;
}

function toPublicKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') return key.type === 'private' ? createPublicKey(key) : key;
  return createPublicKey(key);
}

function jwkOf(key: KeyObject): Record<string, string> {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  return jwk.kty === 'OKP' ? { kty: 'OKP', crv: jwk.crv!, x: jwk.x! } : { kty: 'EC', crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
}

/** The bytes JSF signs: the canonical document with the signature object but without its value. */
export function signingInput(doc: Readonly<Record<string, unknown>>, signature: JsfSignatureObject): Buffer {
  const { value: _value, ...withoutValue } = signature;
  const text = canonicalize({ ...doc, signature: withoutValue });
  if (text === undefined) throw new Error('the document cannot be canonicalized');
  return Buffer.from(text, 'utf8');
}

function rawSign(alg: JsfAlgorithm, data: Buffer, key: KeyObject): Buffer {
  return alg === 'Ed25519' ? sign(null, data, key) : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

function rawVerify(alg: string, data: Buffer, key: KeyObject, sig: Buffer): boolean {
  if (alg === 'Ed25519') return verify(null, data, key, sig);
  if (alg === 'ES256') return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  return false;
}

/** Returns a copy of the document with an enveloped JSF signature under `signature` (replacing any). */
export function signJsf<T extends Readonly<Record<string, unknown>>>(doc: T, key: KeyObject | string, options: SignOptions = {}): T & { signature: JsfSignatureObject } {
  const privateKey = toPrivateKey(key);
  const algorithm = algorithmOf(privateKey);
  const { signature: _old, ...unsigned } = doc as Record<string, unknown>;
  const signature: JsfSignatureObject = {
    algorithm,
    ...(options.keyId ? { keyId: options.keyId } : {}),
    ...(options.embedPublicKey === false ? {} : { publicKey: jwkOf(createPublicKey(privateKey)) }),
  };
  const value = rawSign(algorithm, signingInput(unsigned, signature), privateKey).toString('base64url');
  return { ...(unsigned as T), signature: { ...signature, value } };
}

export interface VerifyResult {
  readonly valid: boolean;
  /** Whether the key that verified it was given by the caller rather than read from the document. */
  readonly trusted: boolean;
  readonly algorithm?: string | undefined;
  readonly keyId?: string | undefined;
  readonly reason?: string | undefined;
}

function isSignature(v: unknown): v is JsfSignatureObject {
  return Boolean(v && typeof v === 'object' && typeof (v as JsfSignatureObject).algorithm === 'string');
}

/**
 * Verifies an enveloped JSF signature. With `trustedKey`, the document must
 * be signed by that key (an embedded key that differs fails); without it,
 * the embedded key is used and the result is integrity only (`trusted: false`).
 */
export function verifyJsf(doc: unknown, trustedKey?: KeyObject | string): VerifyResult {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { valid: false, trusted: false, reason: 'not a JSON object' };
  const { signature, ...unsigned } = doc as Record<string, unknown>;
  if (!isSignature(signature)) return { valid: false, trusted: false, reason: 'no JSF signature object under "signature"' };
  const meta = { algorithm: signature.algorithm, keyId: signature.keyId };
  if (typeof signature.value !== 'string' || !signature.value) return { valid: false, trusted: false, ...meta, reason: 'the signature has no value' };
  if (signature.algorithm !== 'Ed25519' && signature.algorithm !== 'ES256') {
    return { valid: false, trusted: false, ...meta, reason: `unsupported algorithm ${signature.algorithm}` };
  }
  let key: KeyObject;
  try {
    const embedded = signature.publicKey ? createPublicKey({ key: signature.publicKey, format: 'jwk' }) : undefined;
    if (trustedKey) {
      key = toPublicKey(trustedKey);
      if (embedded && !embedded.equals(key)) return { valid: false, trusted: true, ...meta, reason: 'signed with a key other than the trusted one' };
    } else if (embedded) key = embedded;
    else return { valid: false, trusted: false, ...meta, reason: 'no public key: pass the signer key' };
  } catch (e) {
    return { valid: false, trusted: Boolean(trustedKey), ...meta, reason: `unusable key: ${(e as Error).message}` };
  }
  const ok = rawVerify(signature.algorithm, signingInput(unsigned, signature), key, Buffer.from(signature.value, 'base64url'));
  return ok
    ? { valid: true, trusted: Boolean(trustedKey), ...meta }
    : { valid: false, trusted: Boolean(trustedKey), ...meta, reason: 'the signature does not match the document' };
}
