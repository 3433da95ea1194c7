/**
 * The renderers' own redaction of source text, the last line of defence for
 * credentials the secrets pass never sees (a document that does not load, a
 * file that is not a Joch resource).
 */
import { describe, expect, it } from 'vitest';
import { formatDiagnostics, OUTPUT_FORMATS, type Diagnostic, type OutputFormat, type Summary } from '../../src/diagnostics/index.js';
import { redactSourceLine, redactSourceLines } from '../../src/diagnostics/redact.js';

const stars = (n: number) => '*'.repeat(n);

describe('redactSourceLine: flow mappings', () => {
  it.each([
    ['auth: {password: hunter2hunter2, user: bob}', `auth: {password: ${stars(14)}, user: bob}`],
    ['- {token: "zq7"}', `- {token: ${stars(5)}}`],
    [`{"api_key":"s3cr3t-value", 'user': bob}`, `{"api_key":${stars(14)}, 'user': bob}`],
    [`spec: {auth: {client_secret: 'it''s hidden'}, replicas: 2}`, `spec: {auth: {client_secret: ${stars(14)}}, replicas: 2}`],
    ['tokens: [{token: abcdefgh}, {token: ijklmnop}]', `tokens: [{token: ${stars(8)}}, {token: ${stars(8)}}]`],
    ['creds: {password: hunter2hunter2}  # rotated monthly', `creds: {password: ${stars(14)}}  # rotated monthly`],
    ['numeric: {api_key: 98765432101234567}', `numeric: {api_key: ${stars(17)}}`],
    ['tagged: {password: !!str hunter2hunter2}', `tagged: {password: !!str ${stars(14)}}`],
  ])('%s', (line, shown) => {
    expect(redactSourceLine(line)).toBe(shown);
  });

  it('leaves placeholders, nested collections and other keys alone', () => {
    for (const line of [
      'db: {password: "${DB_PASSWORD}", token: <redacted>, secret: "", api_key: ****}',
      'auth: {password: {fromSecret: db}, user: bob}',
      'endpoint: {url: https://example.com/a?b=c, tokenUrl: https://auth.example.com/token}',
      'description: "{not: a mapping}"',
    ]) {
      expect(redactSourceLine(line)).toBe(line);
    }
  });
});

describe('redactSourceLine: one key per line', () => {
  it('knows a credential key in camelCase, and a key that only names a Secret', () => {
    expect(redactSourceLine('dbPassword: hunter2')).toBe(`dbPassword: ${stars(7)}`);
    expect(redactSourceLine('  authToken: "abc"')).toBe(`  authToken: ${stars(5)}`);
    expect(redactSourceLine('{stripeApiKey: sk-1}')).toBe(`{stripeApiKey: ${stars(4)}}`);
    for (const line of ['fromSecret: billing', 'existingSecret: billing', 'tokenLimitPerRun: 2000', 'maxTokens: 4096']) expect(redactSourceLine(line)).toBe(line);
  });

  it('masks a value behind a tag or an anchor, and keeps the tag or anchor', () => {
    expect(redactSourceLine('password: !!str hunter2hunter2')).toBe(`password: !!str ${stars(14)}`);
    expect(redactSourceLine('- token: &tok abcdefgh12')).toBe(`- token: &tok ${stars(10)}`);
  });

  it('masks a quoted value to its closing quote, a # inside it included, and keeps the comment after it', () => {
    expect(redactSourceLine('password: "abc #def" # old')).toBe(`password: ${stars(10)} # old`);
    expect(redactSourceLine(`password: 'it''s # x' # old`)).toBe(`password: ${stars(11)} # old`);
  });

  it('masks a number under a credential key', () => {
    expect(redactSourceLine('  api_key: 98765432101234567')).toBe(`  api_key: ${stars(17)}`);
  });
});

// Long runs of spaces once made the key and value patterns try every split of
// the run (seconds per line at a few hundred kilobytes): these finish within
// the test's time limit only if the patterns stay linear.
describe('redactSourceLine: long lines', () => {
  const run = ' '.repeat(200_000);
  it.each([
    ['a flow key with a run of spaces', `spec: {a${run}b`, `spec: {a${run}b`],
    ['a block key with a run of spaces', `a${run}b`, `a${run}b`],
    ['a flow value with a run of spaces', `{password: a${run}b}`, `{password: ${'*'.repeat(run.length + 2)}}`],
    ['a block value with a run of spaces', `password: a${run}b`, `password: ${'*'.repeat(run.length + 2)}`],
    ['a flow value with a no-break space', '{password: hunter\u00a0two}', `{password: ${'*'.repeat(10)}}`],
  ])('%s', (_what, line, safe) => {
    expect(redactSourceLine(line)).toBe(safe);
  });
});

describe('redactSourceLines: a value held under its name', () => {
  it('masks the value of an entry named like a credential, as environment variables are written', () => {
    const lines = [
      'env:',
      '  - name: DB_PASSWORD',
      '    value: hunter22',
      '  - name: LOG_LEVEL',
      '    value: debug',
      '  - name: apiToken',
      '    # rotated monthly',
      '    valueFrom: {}',
      '    value: "tok-abcdef"',
      'value: not-under-a-name',
    ];
    expect(redactSourceLines(lines)).toEqual([
      'env:',
      '  - name: DB_PASSWORD',
      `    value: ${stars(8)}`,
      '  - name: LOG_LEVEL',
      '    value: debug',
      '  - name: apiToken',
      '    # rotated monthly',
      '    valueFrom: {}',
      `    value: ${stars(12)}`,
      'value: not-under-a-name',
    ]);
    // The excerpt may start at the value: the name above it still decides.
    expect(redactSourceLines(lines, 2, 3)).toEqual([`    value: ${stars(8)}`]);
  });

  it('in a flow mapping, and as a block scalar', () => {
    expect(redactSourceLines(['  - {name: DB_PASSWORD, value: hunter2}', '  - {name: LOG_LEVEL, value: debug}'])).toEqual([
      `  - {name: DB_PASSWORD, value: ${stars(7)}}`,
      '  - {name: LOG_LEVEL, value: debug}',
    ]);
    expect(redactSourceLines(['- name: SIGNING_SECRET', '  value: |', '    first-line', '    second', '- name: MODE', '  value: |', '    open'])).toEqual([
      '- name: SIGNING_SECRET',
      '  value: |',
      `    ${stars(10)}`,
      `    ${stars(6)}`,
      '- name: MODE',
      '  value: |',
      '    open',
    ]);
  });
});

describe('redactSourceLines: values that continue below their key', () => {
  const text = (...lines: string[]) => lines;

  it('masks every line of a block scalar under a credential key, and nothing after it', () => {
    const lines = text(
      'stringData:',
      '  password: |',
      '    correct horse',
      '',
      '      battery staple',
      '  user: bob',
      '  client_secret: >- # folded',
      '    first half',
      '    second half',
      'kind: Secret',
    );
    expect(redactSourceLines(lines)).toEqual([
      'stringData:',
      '  password: |',
      `    ${stars(13)}`,
      '',
      `      ${stars(14)}`,
      '  user: bob',
      '  client_secret: >- # folded',
      `    ${stars(10)}`,
      `    ${stars(11)}`,
      'kind: Secret',
    ]);
  });

  it('recognises every block scalar header: chomping and indentation indicators, tags, list items', () => {
    for (const header of ['|', '>', '|-', '>+', '|2', '>-2', '!!str |', '&pw >-']) {
      expect(redactSourceLines(['- token: ' + header, '    abcdefgh', '  other: x']), header).toEqual(['- token: ' + header, `    ${stars(8)}`, '  other: x']);
    }
  });

  it('decides on the whole file: an excerpt that starts inside a block scalar is masked, though its key is above it', () => {
    const lines = text('spec:', '  private_key: |', '    -----BEGIN-----', '    MIIBOgIBAAJBAKj34Gkx', '    FhD90vcNLYLInFEX', '    -----END-----', '  name: x');
    expect(redactSourceLines(lines, 3, 7)).toEqual([`    ${stars(20)}`, `    ${stars(16)}`, `    ${stars(13)}`, '  name: x']);
    // The same lines, seen without their key, are not known to be secret: hence the whole file.
    expect(lines.slice(3, 7).map(redactSourceLine)).toEqual(lines.slice(3, 7));
  });

  it('masks a scalar that continues on the lines below its key', () => {
    expect(redactSourceLines(['password:', '', '  hunter2hunter2', 'next: 1'])).toEqual(['password:', '', `  ${stars(14)}`, 'next: 1']);
    expect(redactSourceLines(['token: abcd', '  efghijkl', 'next: 1'])).toEqual([`token: ${stars(4)}`, `  ${stars(8)}`, 'next: 1']);
  });

  it('does not mask a nested mapping under a credential key, but its own credential keys', () => {
    expect(redactSourceLines(['credentials:', '  user: bob', '  password: hunter2hunter2', 'next: 1'])).toEqual([
      'credentials:',
      '  user: bob',
      `  password: ${stars(14)}`,
      'next: 1',
    ]);
    expect(redactSourceLines(['credentials:', '  - name: a', '    token: abcdefgh'])).toEqual(['credentials:', '  - name: a', `    token: ${stars(8)}`]);
  });

  it('shows block scalars under other keys', () => {
    const lines = text('description: |', '  hello', '  world', 'script: >', '  echo hi');
    expect(redactSourceLines(lines)).toEqual(lines);
  });

  it('returns the lines asked for, one for one', () => {
    const lines = text('a: 1', 'b: 2', 'c: 3');
    expect(redactSourceLines(lines, 1, 2)).toEqual(['b: 2']);
    expect(redactSourceLines(lines, 2)).toEqual(['c: 3']);
    expect(redactSourceLines(lines, 3)).toEqual([]);
  });
});

describe('a secret in the source never reaches any rendering', () => {
  // Assembled at run time so that no scanner mistakes this file for a leak.
  const SECRET = {
    flow: `hunt${'er2'.repeat(4)}`,
    flowShort: 'zq7',
    flowQuoted: `s3cr${'3t'.repeat(5)}`,
    number: String(98765432101234567n),
    flowNumber: String(12345678909876n),
    literal: `correct horse ${'battery'} staple`,
    literalMore: `second ${'line'} of it`,
    folded: `folded ${'secret'} text`,
    deep: `MIIBOgIBAAJBAKj34Gkx${'FhD90vcN'}`,
    deeper: `LYLInFEX6Ppy1tPf${'9Cnzj4p4'}`,
  };

  /** Every shape of credential; the comments give line numbers, at which the findings below point. */
  const source = [
    'apiVersion: v1', // 1
    'kind: Secret', // 2
    'stringData:', // 3
    `  auth: {password: ${SECRET.flow}, user: bob}`, // 4
    `  short: [{token: "${SECRET.flowShort}"}, {"api_key": '${SECRET.flowQuoted}'}]`, // 5
    `  api_key: ${SECRET.number}`, // 6
    `  numeric: {access_token: ${SECRET.flowNumber}}`, // 7
    '  password: |', // 8
    `    ${SECRET.literal}`, // 9
    `    ${SECRET.literalMore}`, // 10
    '  client_secret: >-', // 11
    `    ${SECRET.folded}`, // 12
    '  private_key: |', // 13
    '    -----BEGIN-----', // 14
    `    ${SECRET.deep}`, // 15
    `    ${SECRET.deeper}`, // 16
    '    -----END-----', // 17
    '  user: bob', // 18
    '',
  ].join('\n');

  const summary: Summary = { errors: 1, warnings: 0, infos: 0, files: 1, resources: 1 };
  const at = (line: number): Diagnostic => ({ severity: 'error', code: 'JOCH303', message: `unknown field on line ${line}`, file: 's.yaml', line, column: 3 });

  const render = (format: OutputFormat, line: number, color = false) =>
    formatDiagnostics(format, [at(line)], summary, { sourceText: (f) => (f === 's.yaml' ? source : undefined), color });

  const framed = (out: string, line: number) => expect(out).toMatch(new RegExp(`> +${line} \\|`));

  const expectNoSecret = (out: string) => {
    for (const v of Object.values(SECRET)) expect(out).not.toContain(v);
  };

  // Single-line shapes: a flow mapping, a flow sequence of flow mappings, numbers.
  const lineLocal: [string, number][] = [
    ['a flow mapping', 4],
    ['flow mappings in a flow sequence, quoted', 5],
    ['a number', 6],
    ['a number in a flow mapping', 7],
  ];
  // Block scalars: the key line is in the frame (9, 12), or above it (16: the frame shows 15-17).
  const multiLine: [string, number][] = [
    ['a literal block scalar', 9],
    ['a folded block scalar', 12],
    ['a frame that starts inside a block scalar', 16],
  ];

  const cases = (shapes: [string, number][]) => OUTPUT_FORMATS.flatMap((f) => shapes.map(([name, line]) => [`${name}, ${f}`, f, line] as const));

  it.each(cases(lineLocal))('%s', (_name, format, line) => {
    const out = render(format, line);
    // The finding is there, with its frame in text, so the test shows something.
    expect(out).toContain(`unknown field on line ${line}`);
    if (format === 'text') framed(out, line);
    expectNoSecret(out);
    expectNoSecret(render(format, line, true));
  });

  it.each(cases(multiLine).filter(([, f]) => f !== 'text'))('%s', (_name, format, line) => {
    expectNoSecret(render(format, line));
  });

  // The frame may start below the key of the block scalar: the whole file decides.
  it.each(multiLine)('%s, text', (_name, line) => {
    const out = render('text', line);
    framed(out, line);
    expectNoSecret(out);
  });
});
