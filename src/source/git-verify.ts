/**
 * OpenPGP commit signatures, like Flux's `verify` on a GitRepository: the
 * commit's `gpgsig` must be a valid detached signature over the commit
 * payload (the commit object without that header) by one of the trusted keys.
 */
import * as openpgp from 'openpgp';
import type { UnverifiedCommit } from './git-errors.js';
import { errorMessage } from '../diagnostics/index.js';

export interface VerifiedCommit {
  readonly verified: true;
  /** The signing (sub)key's ID, hex. */
  readonly keyId: string;
  /** Fingerprint of the trusted primary key the signature chains to. */
  readonly fingerprint: string;
  readonly userIds: readonly string[];
}

export type CommitVerification = VerifiedCommit | UnverifiedCommit;

/** A parsed keyring of trusted public keys; parse once, verify many commits. */
export class TrustedKeys {
  private constructor(readonly keys: readonly openpgp.Key[]) {}

  /** Accepts any number of armored public keys, each block possibly holding several keys. */
  static async fromArmored(armored: readonly string[]): Promise<TrustedKeys> {
    const keys: openpgp.Key[] = [];
    for (const block of armored) keys.push(...(await openpgp.readKeys({ armoredKeys: block })));
    return new TrustedKeys(keys.map((k) => (k.isPrivate() ? k.toPublic() : k)));
  }

  /** The trusted key holding a (sub)key with one of these IDs. */
  find(keyIds: readonly string[]): openpgp.Key | undefined {
    return this.keys.find((key) => key.getKeyIDs().some((id) => keyIds.includes(id.toHex())));
  }
}

export interface SignedPayload {
  /** The commit's `gpgsig` header, if any. */
  readonly gpgsig?: string | undefined;
  /** The commit object without its signature (isomorphic-git's `readCommit().payload`). */
  readonly payload: string;
}

export async function verifyCommitSignature(commit: SignedPayload, trusted: TrustedKeys): Promise<CommitVerification> {
  const sig = commit.gpgsig?.trim();
  if (!sig) return unverified('unsigned', [], 'the commit is not signed');
  if (!sig.startsWith('-----BEGIN PGP SIGNATURE-----')) {
    const kind = sig.startsWith('-----BEGIN SSH SIGNATURE-----') ? 'an SSH' : 'a non-OpenPGP';
    return unverified('unsupported-signature', [], `the commit carries ${kind} signature; only OpenPGP is supported`);
  }
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: sig });
  } catch (e) {
    return unverified('bad-signature', [], `the signature cannot be parsed: ${errorMessage(e)}`);
  }
  const keyIds = signature.getSigningKeyIDs().map((id) => id.toHex());
  const key = trusted.find(keyIds);
  if (!key) return unverified('untrusted-key', keyIds, `signed by key ${keyIds.join(', ') || '(unknown)'}, which is not trusted`);
  try {
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(commit.payload) });
    const result = await openpgp.verify({ message, signature, verificationKeys: [key], format: 'binary' });
    const first = result.signatures[0];
    if (!first) return unverified('bad-signature', keyIds, 'the signature packet holds no signature');
    await first.verified;
    return { verified: true, keyId: first.keyID.toHex(), fingerprint: key.getFingerprint(), userIds: key.getUserIDs() };
  } catch (e) {
    return unverified('bad-signature', keyIds, `the signature does not match the commit: ${errorMessage(e)}`);
  }
}

function unverified(reason: UnverifiedCommit['reason'], keyIds: readonly string[], detail: string): UnverifiedCommit {
  return { verified: false, reason, keyIds, detail };
}


/** Produces an armored detached signature over a commit payload. */
export type CommitSigner = (payload: string) => Promise<string>;

/** A signer from an armored OpenPGP private key (decrypted with `passphrase` when it is protected). */
export async function openpgpSigner(armoredPrivateKey: string, passphrase?: string): Promise<CommitSigner> {
  let key = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
  if (!key.isDecrypted()) {
    if (passphrase === undefined) throw new Error('the signing key is protected and no passphrase was given');
    key = await openpgp.decryptKey({ privateKey: key, passphrase });
  }
  const signingKey = key;
  return async (payload) => {
    const message = await openpgp.createMessage({ binary: new TextEncoder().encode(payload) });
    return openpgp.sign({ message, signingKeys: signingKey, detached: true, format: 'armored' });
  };
}
