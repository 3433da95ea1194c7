/**
 * Credentials planted in a fleet, in every form that used to slip through or
 * be printed: each is a located error (exit 1, never 2), and the value is in
 * no output of any command (validate in every format, explain, compile to
 * files and stdout, every AgBOM format).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonReport } from '../support/repo.js';
import { everyChannel, fleetWith, ROOT } from './channels.js';

const MODELS = 'platform/models.yaml';
const original = readFileSync(path.join(ROOT, 'examples/fleet', MODELS), 'utf8');

/** The fleet's first Model, with `lines` (indented by four) under a new `spec.defaultParameters`. */
function plantedModels(lines: string): string {
  const at = original.indexOf('\nspec:\n') + '\nspec:\n'.length;
  const block = lines
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return `${original.slice(0, at)}  defaultParameters:\n${block}\n${original.slice(at)}`;
}

/** [form, the YAML under defaultParameters, the parts of it that must never be shown]. */
const FORMS: Array<[string, string, string[]]> = [
  ['a passphrase key', 'passphrase: correct-horse-battery', ['correct-horse-battery']],
  ['a pass key', 'pass: hunter2hunter2', ['hunter2hunter2']],
  ['a cookie key', 'cookie: "session=4f2a9c1e7b3d88aa"', ['4f2a9c1e7b3d88aa']],
  ['a Slack webhook URL', 'notify: https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/AbCdEfGhIjKlMnOpQrStUvWx', ['AbCdEfGhIjKlMnOpQrStUvWx']],
  [
    'an Azure connection string',
    'storage: DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net',
    ['Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy'],
  ],
  ['a SendGrid key', 'mailer: SG.aBcDeFgHiJkLmNoPqRsTuV.wXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012', ['aBcDeFgHiJkLmNoPqRsTuV']],
  [
    'a PGP private key block',
    'signing: |\n  -----BEGIN PGP PRIVATE KEY BLOCK-----\n  lQOYBGRkZXZlbG9wZXJzZWNyZXRrZXltYXRlcmlhbA\n  -----END PGP PRIVATE KEY BLOCK-----',
    ['lQOYBGRkZXZlbG9wZXJzZWNyZXRrZXltYXRlcmlhbA'],
  ],
  ['a hex HMAC key', 'hmacKey: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', ['9f86d081884c7d659a2feaa0c55ad015']],
  ['a Password= connection string', 'db: "Server=db.internal;Database=app;User Id=app;Password=S3cr3tP4ss;"', ['S3cr3tP4ss']],
  ['a base64-encoded password', 'auth: dXNlcjpTM2NyM3RQNHNz', ['dXNlcjpTM2NyM3RQNHNz']],
  ['an Authorization: Basic header', 'header: "Authorization: Basic dXNlcjpTM2NyM3RQNHNz"', ['dXNlcjpTM2NyM3RQNHNz']],
  ['a list under a credential key', 'password: [Zq8vL2pW9xR4]', ['Zq8vL2pW9xR4']],
  ['a map under a credential key', 'password: {value: Zq8vL2pW9xR4}', ['Zq8vL2pW9xR4']],
  ['binary under a credential key', 'password: !!binary c2VjcmV0LXBhc3N3b3Jk', ['c2VjcmV0LXBhc3N3b3Jk', 'secret-password']],
  ['a 40-character AWS secret under a neutral key', 'region_hint: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY']],
  ['a token as a mapping key', 'ghp_1234567890abcdefghijABCDEFGHIJ123456: true', ['ghp_1234567890abcdefghijABCDEFGHIJ123456']],
  ['a credential reached through an alias', 'x: &pw Zq8vL2pW9xR4\npassword: *pw', ['Zq8vL2pW9xR4']],
];

describe('a credential planted in a Model', () => {
  it.each(FORMS)('%s is a located error and appears in no output', async (_form, yaml, values) => {
    const root = fleetWith({ [MODELS]: plantedModels(yaml) });
    const runs = await everyChannel(root);
    for (const run of runs) {
      expect(run.code, `${run.channel}: ${run.stderr}`).toBe(1);
      for (const v of values) expect(run.output, `${run.channel} shows ${v}`).not.toContain(v);
    }
    const json = JSON.parse(runs.find((r) => r.channel === 'validate json')?.stdout ?? '') as JsonReport;
    const found = json.diagnostics.filter((d) => /^JOCH60[12]$/.test(d.code));
    expect(found.length).toBeGreaterThan(0);
    // The line is inside the planted block: after `spec:` of the first Model (line 8), within its lines.
    for (const d of found) {
      expect(d.file).toBe(MODELS);
      expect(d.line).toBeGreaterThan(9);
      expect(d.line).toBeLessThanOrEqual(9 + yaml.split('\n').length);
      expect(d.resource).toMatchObject({ kind: 'Model', name: 'gpt-5-thinking' });
    }
  });
});

describe('a file that does not parse', () => {
  it.each([
    ['a JSON-style pair with no space', '{"password":"Zq8vL2pW9xR4", "a": [\n'],
    ['an explicit key', '? password\n: Zq8vL2pW9xR4\nbroken: [\n'],
    ['an escaped key', '"pass\\u0077ord": Zq8vL2pW9xR4\nbroken: [\n'],
    ['a quoted value continued at column 0', 'token: "Zq8vL2pW9xR4\nZq8vL2pW9xR5"\nbroken: [\n'],
  ])('%s: the frame keeps the shape and shows no value', async (_name, text) => {
    const root = fleetWith({ 'platform/broken.yaml': text });
    for (const run of (await everyChannel(root)).filter((r) => r.channel.startsWith('validate'))) {
      expect(run.code, run.channel).toBe(1);
      expect(run.output, run.channel).toContain('platform/broken.yaml');
      expect(run.output, run.channel).not.toContain('Zq8vL2pW9xR');
    }
  });
});

describe('a token as a file name', () => {
  it('is a located error, and the name appears in no output', async () => {
    const token = `ghp_${'Ab12'.repeat(9)}`;
    const root = fleetWith({ [`platform/${token}.yaml`]: 'apiVersion: joch.dev/v1alpha1\nkind: Team\nmetadata:\n  name: leaked\nspec: {}\n' });
    const runs = await everyChannel(root);
    for (const run of runs) {
      expect(run.code, `${run.channel}: ${run.stderr}`).toBe(1);
      expect(run.output, run.channel).not.toContain(token);
    }
    const json = JSON.parse(runs.find((r) => r.channel === 'validate json')?.stdout ?? '') as JsonReport;
    expect(json.diagnostics).toContainEqual(expect.objectContaining({ code: 'JOCH601', line: 1, column: 1, message: expect.stringContaining('file name') }));
  });
});

describe('free-form maps in the AgBOMs', () => {
  it("a Model's defaultParameters reach the AgBOMs as numbers and booleans only", async () => {
    const root = fleetWith({ [MODELS]: plantedModels('temperature: 0.25\nstream: true\nstop: "END-OF-TURN-MARKER"') });
    const runs = (await everyChannel(root)).filter((r) => r.channel.startsWith('agbom'));
    for (const run of runs) {
      expect(run.code, `${run.channel}: ${run.stderr}`).toBe(0);
      expect(run.output, run.channel).not.toContain('END-OF-TURN-MARKER');
    }
    const cdx = runs.find((r) => r.channel === 'agbom cyclonedx')?.stdout ?? '';
    expect(cdx).toContain('"name": "joch:model:arg:temperature"');
    expect(cdx).toContain('"name": "joch:model:arg:stream"');
    expect(cdx).not.toContain('joch:model:arg:stop');
  });
});
