/**
 * The secrets pass and the guarantee that goes with it: a credential in a
 * manifest is an error, and its value never reaches any output.
 *
 * The credentials are assembled at run time so that no scanner mistakes this
 * file for a leak.
 */
import { describe, expect, it } from 'vitest';
import { OUTPUT_FORMATS } from '../../src/diagnostics/index.js';
import type { Check } from '../../src/schema/index.js';
import { at, cli, only, tmpRepo, validate, yml, type JsonReport } from '../support/repo.js';

const NO_CHECKS: ReadonlySet<Check> = new Set<Check>();

const SECRETS = {
  openai: ['an OpenAI API key', `sk-proj-${'A1b2C3d4'.repeat(4)}`],
  anthropic: ['an Anthropic API key', `sk-ant-api03-${'Zy9_'.repeat(6)}`],
  github: ['a GitHub token', `ghp_${'a1B2'.repeat(9)}`],
  slack: ['a Slack token', `xoxb-${'1234567890'}-${'abcdefghij'}`],
  aws: ['an AWS access key id', `AKIA${'IOSFODNN7EXAMPLE'}`],
  jwt: ['a JSON Web Token', ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'].join('.')],
  bearer: ['a bearer token', `Bearer ${'abcDEF123456ghiJKL789'}`],
} as const;

const PRIVATE_KEY = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu', '-----END RSA PRIVATE KEY-----'];

/** A valid Policy whose rule i has the description `values[i]`, at line 9 + 3i, column 20. */
function policyWithDescriptions(values: readonly string[]): string {
  const rules = values.flatMap((v) => ['    - when: {tool.sideEffect: external_write}', '      action: deny', `      description: "${v}"`]);
  return ['apiVersion: joch.dev/v1alpha1', 'kind: Policy', 'metadata:', '  name: p', 'spec:', '  rules:', ...rules, ''].join('\n');
}

describe('detectors', () => {
  it('recognises each credential format by its shape (JOCH601), without repeating it', async () => {
    const entries = Object.values(SECRETS);
    const repo = tmpRepo({ 'p.yaml': policyWithDescriptions(entries.map(([, v]) => v)) });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual(
      entries.map(([what], i) => `JOCH601 p.yaml:${9 + 3 * i}:20 spec.rules[${i}].description holds what looks like ${what}; manifests must not contain credentials`),
    );
    for (const d of run.diagnostics) {
      expect(d.severity).toBe('error');
      expect(d.hint).toBe('move the value into your secret store and reference it with a Joch Secret (spec.source) and a secretRef');
    }
  });

  it('recognises a private key block, in a block scalar', async () => {
    const repo = tmpRepo({
      'p.yaml': ['apiVersion: joch.dev/v1alpha1', 'kind: Policy', 'metadata:', '  name: p', 'spec:', '  description: |', ...PRIVATE_KEY.map((l) => `    ${l}`), '  rules: []', ''].join('\n'),
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    const d = only(run.diagnostics, 'JOCH601');
    expect(at(d)).toBe('JOCH601 p.yaml:6:16');
    expect(d.message).toBe('spec.description holds what looks like a private key; manifests must not contain credentials');
  });

  it('recognises a credential by its key, and not a placeholder or a short value', async () => {
    const repo = tmpRepo({
      'c.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Secret
        metadata:
          name: s
        spec:
          source:
            type: kubernetes
            name: creds
          password: hunter2hunter2
          clientSecret: "\${CLIENT_SECRET}"
          apiKey: <redacted>
          token: "********"
          db_password: changeme
          pwd: short
          tokenUrl: https://auth.example.com/token
          dbPassword: hunter3hunter3
          fromSecret: billing-credentials
          existingSecret: billing-credentials
      `,
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH601 c.yaml:9:13 spec.password holds what looks like a credential (the key is "password"); manifests must not contain credentials',
      'JOCH601 c.yaml:16:15 spec.dbPassword holds what looks like a credential (the key is "dbPassword"); manifests must not contain credentials',
    ]);
  });

  it('recognises a credential held as the value of an entry named like one', async () => {
    const repo = tmpRepo({
      'e.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Secret
        metadata:
          name: s
        spec:
          source:
            type: kubernetes
            name: creds
          env:
            - name: DB_PASSWORD
              value: hunter3hunter3
            - name: LOG_LEVEL
              value: debugging-everything
            - {name: STRIPE_API_KEY, value: "\${STRIPE_API_KEY}"}
      `,
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH601 e.yaml:11:14 spec.env[0].value holds what looks like a credential (the key is "DB_PASSWORD"); manifests must not contain credentials',
    ]);
  });

  it('recognises a URL with a password or with a token in its query (JOCH602)', async () => {
    const repo = tmpRepo({
      'u.yaml': yml`
        apiVersion: tools.joch.dev/v1alpha1
        kind: MCPServer
        metadata:
          name: m
        spec:
          transport: streamable_http
          endpoint:
            url: https://bot:pa55w0rd-x@mcp.example.com/github
          description: see https://api.example.com/v1?access_token=abc123def456&x=1
          notes: https://user@example.com/ and https://example.com/?page=2
      `,
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH602 u.yaml:8:10 spec.endpoint.url holds what looks like a URL with a password; manifests must not contain credentials',
      'JOCH602 u.yaml:9:16 spec.description holds what looks like a URL with a token in its query; manifests must not contain credentials',
    ]);
    expect(run.diagnostics[0]?.hint).toBe('remove the credential from the URL and reference a Joch Secret (secretRef) instead');
  });

  it('does not flag properties named like credentials in a tool\'s inputSchema, but flags a credential value there', async () => {
    const repo = tmpRepo({
      't.yaml': yml`
        apiVersion: tools.joch.dev/v1alpha1
        kind: Tool
        metadata:
          name: login
          namespace: team
        spec:
          type: function
          inputSchema:
            type: object
            properties:
              password: {type: string, description: the user's password}
              token:
                type: string
              apiKey: {type: string, default: ${SECRETS.openai[1]}}
          outputSchema:
            properties:
              secret: {type: string}
      `,
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map(at)).toEqual(['JOCH601 t.yaml:14:39']);
  });

  it('recognises a credential held as a number, and never repeats the number', async () => {
    const repo = tmpRepo({
      'n.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Secret
        metadata:
          name: s
        spec:
          source:
            type: kubernetes
            name: creds
          api_key: 98765432101234567
          auth: {access_token: 4242424242424242, user: bob}
          pin_codes:
            - 12345678
          token: .inf
          pwd: 1234
          replicas: 1234567890
      `,
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH601 n.yaml:9:12 spec.api_key holds what looks like a credential (the key is "api_key"); manifests must not contain credentials',
      'JOCH601 n.yaml:10:24 spec.auth.access_token holds what looks like a credential (the key is "access_token"); manifests must not contain credentials',
    ]);
    // Nor any rounding of it: a large number loses digits on the way in.
    for (const d of run.diagnostics) expect(JSON.stringify(d)).not.toMatch(/\d{8}/);
  });

  it('recognises a credential in a flow mapping and in a block scalar, literal or folded', async () => {
    const repo = tmpRepo({
      'm.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Secret
        metadata:
          name: s
        spec:
          source: {type: kubernetes, name: creds}
          auth: {password: hunter2hunter2, user: bob}
          password: |
            correct horse
            battery staple
          client_secret: >-
            folded over
            two lines
          notes: |
            rotate monthly
      `,
    });
    const run = await validate(repo, { checks: NO_CHECKS });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.path ?? ''}`)).toEqual([
      'JOCH601 m.yaml:7:20 spec.auth.password',
      'JOCH601 m.yaml:8:13 spec.password',
      'JOCH601 m.yaml:11:18 spec.client_secret',
    ]);
    // The finding spans the whole block scalar, so its code frame hides every line of it.
    expect(run.diagnostics[1]).toMatchObject({ line: 8, endLine: 11 });
  });

  it('runs even when only the schema check is asked for', async () => {
    const repo = tmpRepo({ 'p.yaml': policyWithDescriptions([SECRETS.github[1]]) });
    const run = await validate(repo, { checks: new Set<Check>(['schema']) });
    expect(run.diagnostics.map(at)).toEqual(['JOCH601 p.yaml:9:20']);
  });
});

describe('a secret value never reaches the output', () => {
  const values = [...Object.values(SECRETS).map(([, v]) => v), 'hunter2hunter2', 'pa55w0rd-x', PRIVATE_KEY[1] as string];

  /** A repository where credentials sit next to every other kind of finding. */
  function leakyRepo() {
    return tmpRepo({
      // An unknown field whose value is a credential: two findings on one line.
      'a-unknown.yaml': policyWithDescriptions([SECRETS.anthropic[1]]).replace('  rules:', `  apiKey: ${SECRETS.openai[1]}\n  rules:`),
      // A credential next to a YAML syntax error: the document never loads.
      'b-syntax.yaml': yml`
        apiVersion: joch.dev/v1alpha1
        kind: Policy
        metadata:
          name: broken
        spec:
          token: ${SECRETS.github[1]}
          rules: x: y
          password: hunter2hunter2
      `,
      // A reference named with a credential, a key-named one, a URL and a private key.
      'c-refs.yaml': yml`
        apiVersion: joch.dev/v1alpha1
        kind: Agent
        metadata:
          name: a
          namespace: team
        spec:
          framework:
            adapterRef: {name: ${SECRETS.slack[1]}}
          tools:
            - name: ${SECRETS.aws[1]}
          description: ${SECRETS.jwt[1]} and ${SECRETS.bearer[1]}
          password: hunter2hunter2
          endpoint: https://bot:pa55w0rd-x@example.com/
          key: |
            ${PRIVATE_KEY.join('\n            ')}
      `,
      // Not a Joch resource: never checked for secrets, but its lines may be shown.
      'd-k8s.yaml': yml`
        apiVersion: v1
        kind: Secret
        stringData:
          password: hunter2hunter2
          token: ${SECRETS.github[1]}
      `,
    });
  }

  const variants: [string, string[], { isTTY?: boolean }][] = [];
  for (const format of OUTPUT_FORMATS) {
    variants.push([`${format}`, ['--format', format], {}]);
    variants.push([`${format}, --checks schema`, ['--format', format, '--checks', 'schema'], {}]);
  }
  variants.push(['text in colour', ['--color'], { isTTY: true }]);
  variants.push(['text, --quiet', ['--quiet'], {}]);

  it.each(variants)('%s', async (_name, args, options) => {
    const repo = leakyRepo();
    const r = await cli(['validate', ...args], repo.root, options);
    expect(r.code).toBe(1);
    // The findings are there (so the test shows something), and no value is.
    expect(r.stdout).toContain('JOCH601');
    expect(r.stdout).toContain('JOCH101');
    for (const v of values) {
      expect(r.stdout).not.toContain(v);
      expect(r.stderr).not.toContain(v);
    }
  });

  it('reports every credential of the repository (so the outputs above had them to hide)', async () => {
    const repo = leakyRepo();
    const r = await cli(['validate', '--format', 'json'], repo.root);
    const report = JSON.parse(r.stdout) as JsonReport;
    const secrets = report.diagnostics.filter((d) => d.code === 'JOCH601' || d.code === 'JOCH602').map((d) => `${d.code} ${d.file}:${d.line}:${d.column}`);
    expect(secrets).toEqual([
      'JOCH601 a-unknown.yaml:6:11',
      'JOCH601 a-unknown.yaml:10:20',
      'JOCH601 c-refs.yaml:8:24',
      'JOCH601 c-refs.yaml:10:13',
      'JOCH601 c-refs.yaml:11:16',
      'JOCH601 c-refs.yaml:12:13',
      'JOCH602 c-refs.yaml:13:13',
      'JOCH601 c-refs.yaml:14:8',
    ]);
    // Findings that quote a name show it masked.
    const unresolved = report.diagnostics.find((d) => d.code === 'JOCH501' && d.line === 10);
    expect(unresolved?.message).toBe(`Tool "${'*'.repeat(SECRETS.aws[1].length)}" not found in namespace team`);
  });

  it('masks the credential in a code frame without moving the caret', async () => {
    const repo = leakyRepo();
    const r = await cli(['validate', 'a-unknown.yaml'], repo.root);
    const stars = '*'.repeat(SECRETS.openai[1].length);
    expect(r.stdout).toContain(`a-unknown.yaml:6:3 error JOCH303 unknown field "apiKey" in spec  [Policy default/p]\n    5 | spec:\n  > 6 |   apiKey: ${stars}\n      |   ^^^^^^\n`);
    expect(r.stdout).toContain(`  > 6 |   apiKey: ${stars}\n      |           ${'^'.repeat(stars.length)}\n`);
  });
});

describe('a secret in a flow mapping, a block scalar or a number never reaches the output', () => {
  const VALUES = {
    flow: `flow-${'pa55'.repeat(3)}`,
    literal: `literal ${'pa55'.repeat(3)}`,
    folded: `folded ${'pa55'.repeat(3)}`,
    number: String(98765432101234567n),
    flowNumber: String(4242424242424242n),
  };

  /** Every shape, in a document that loads (so the secrets pass reports it) and next to a syntax error (so nothing does). */
  function shapesRepo() {
    return tmpRepo({
      's.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Secret
        metadata:
          name: s
        spec:
          source: {type: kubernetes, name: creds}
          auth: {password: ${VALUES.flow}, user: bob}
          api_key: ${VALUES.number}
          numeric: {access_token: ${VALUES.flowNumber}}
          password: |
            ${VALUES.literal}
          client_secret: >-
            ${VALUES.folded}
      `,
      'x-broken.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Secret
        metadata:
          name: broken
        spec:
          auth: {password: ${VALUES.flow}, user: bob}
          source: x: y
          numeric: {access_token: ${VALUES.flowNumber}}
      `,
    });
  }

  const variants: [string, string[], { isTTY?: boolean }][] = OUTPUT_FORMATS.map((f) => [f, ['--format', f], {}]);
  variants.push(['text in colour', ['--color'], { isTTY: true }]);

  it.each(variants)('%s', async (_name, args, options) => {
    const repo = shapesRepo();
    const r = await cli(['validate', ...args], repo.root, options);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('JOCH601');
    expect(r.stdout).toContain('JOCH101');
    for (const v of Object.values(VALUES)) {
      expect(r.stdout).not.toContain(v);
      expect(r.stderr).not.toContain(v);
    }
  });

  it('reports each of them, and frames the lines that hold them (so the outputs above had them to hide)', async () => {
    const repo = shapesRepo();
    const report = JSON.parse((await cli(['validate', '--format', 'json'], repo.root)).stdout) as JsonReport;
    expect(report.diagnostics.filter((d) => d.code === 'JOCH601').map((d) => `${d.file}:${d.line} ${d.path}`)).toEqual([
      's.yaml:7 spec.auth.password',
      's.yaml:8 spec.api_key',
      's.yaml:9 spec.numeric.access_token',
      's.yaml:10 spec.password',
      's.yaml:12 spec.client_secret',
    ]);
    const text = (await cli(['validate'], repo.root)).stdout;
    const stars = (v: string) => '*'.repeat(v.length);
    expect(text).toContain(`  > 7 |   auth: {password: ${stars(VALUES.flow)}, user: bob}`);
    // The broken file: its lines are masked by the renderer alone, by shape: keys and punctuation stay, every value goes.
    expect(text).toContain(`x-broken.yaml:7:11 error JOCH101 Nested mappings are not allowed in compact mappings\n    6 |   auth: {password: ${stars(VALUES.flow)}, user: ***}\n`);
    expect(text).toContain(`    8 |   numeric: {access_token: ${stars(VALUES.flowNumber)}}\n  hint: a nested mapping must start on its own line below its key\n`);
  });
});
