import { readFileSync } from 'node:fs';

let packageVersion: string | undefined;

/** The package's version, read once: several outputs of one command carry it. */
export function version(): string {
  packageVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return packageVersion;
}
