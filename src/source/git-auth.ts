/**
 * Credentials for HTTPS remotes. Secrets are read at each use (a mounted
 * Kubernetes Secret rotates in place) and turned into a request header; they
 * are never put in a URL, a log event or a message.
 */
import { readFile } from 'node:fs/promises';
import { invalidOptions } from './git-errors.js';

/** Where a secret comes from. A Kubernetes Secret is read by the caller and passed as `value`. */
export type SecretSource =
  | { readonly value: string }
  | { readonly file: string }
  | { readonly env: string };

export type GitAuth =
  /** A token sent as HTTP basic (the username is ignored by most forges) or as a bearer token. */
  | {
      readonly kind: 'token';
      readonly token: SecretSource;
      readonly scheme?: 'basic' | 'bearer' | undefined;
      /** Basic scheme only; default `x-access-token`. */
      readonly username?: string | undefined;
    }
  | { readonly kind: 'basic'; readonly username: string; readonly password: SecretSource };

export interface ResolvedAuth {
  readonly headers: Readonly<Record<string, string>>;
  /** The raw secret values, for redaction. */
  readonly secrets: readonly string[];
}

export const NO_AUTH: ResolvedAuth = { headers: {}, secrets: [] };

export async function resolveAuth(auth: GitAuth | undefined): Promise<ResolvedAuth> {
  if (!auth) return NO_AUTH;
  if (auth.kind === 'basic') {
    const password = await readSecret(auth.password);
    return { headers: { Authorization: basicHeader(auth.username, password) }, secrets: [password] };
  }
  const token = await readSecret(auth.token);
  const header = auth.scheme === 'bearer' ? `Bearer ${token}` : basicHeader(auth.username ?? 'x-access-token', token);
  return { headers: { Authorization: header }, secrets: [token] };
}

async function readSecret(source: SecretSource): Promise<string> {
  if ('value' in source) return source.value;
  if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined || value === '') throw invalidOptions(`the environment variable ${source.env} holding the Git credential is not set`);
    return value;
  }
  try {
    // Secret files mounted from Kubernetes often end with a newline nobody meant.
    return (await readFile(source.file, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw invalidOptions(`cannot read the Git credential file ${source.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * Splits `https://user:secret@host/repo` into a clean URL and basic credentials,
 * so a URL pasted with credentials still never reaches a log or the cache config.
 */
export function splitUserinfo(url: string): { url: string; auth?: GitAuth } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  if (!parsed.username && !parsed.password) return { url };
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const clean = parsed.toString();
  if (!password) return { url: clean, auth: { kind: 'token', token: { value: username } } };
  return { url: clean, auth: { kind: 'basic', username, password: { value: password } } };
}
