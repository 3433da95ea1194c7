/**
 * pino JSON logs. Credentials never reach a line: known secret-bearing keys
 * are censored, and every string field goes through the same redaction the
 * diagnostics renderers use (tokens, keys, URL userinfo), plus the exact
 * values of the secrets this process was configured with.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { redactText } from '../diagnostics/redact.js';
import { redact } from '../source/git.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level?: string | undefined;
  /** Secret values known to this process (tokens, passwords, webhook secret). */
  readonly secrets?: () => readonly string[];
  /** Where lines go; default stdout. */
  readonly destination?: DestinationStream | undefined;
}

const CENSORED_KEYS = ['token', 'password', 'secret', 'authorization', 'headers.authorization', '*.token', '*.password', '*.secret', '*.authorization'];

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? (() => []);
  const clean = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(redactText(value), secrets());
    if (Array.isArray(value)) return value.map(clean);
    if (value && typeof value === 'object' && !(value instanceof Error)) {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, clean(v)]));
    }
    return value;
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: 'joch-sync' },
      redact: { paths: CENSORED_KEYS, censor: '***' },
      formatters: { log: (obj) => clean(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          // The message string too: it may quote an error from a server.
          const out = args.map((a) => (typeof a === 'string' ? (clean(a) as string) : a)) as Parameters<typeof method>;
          method.apply(this, out);
        },
      },
    },
    options.destination,
  );
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Readonly<Record<number, string>> = { 10: '\x1b[90m', 20: '\x1b[90m', 30: '\x1b[36m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
/** Fields every line carries, which a person reading a terminal does not need repeated. */
const QUIET_FIELDS = new Set(['level', 'time', 'msg', 'component', 'pid', 'hostname']);

/**
 * Log lines for a person at a terminal: `12:04:05 INFO  status committed
 * commit=59c81c538da7 branch=joch/status`. The lines are the JSON ones pino
 * wrote, already redacted, so nothing secret is reintroduced here.
 */
export function humanDestination(write: (s: string) => void, color: boolean): DestinationStream {
  return {
    write(line: string) {
      write(`${humanLine(line, color)}\n`);
    },
  };
}

export function humanLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([k]) => !QUIET_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/^[0-9a-f]{40}$/.test(v) ? v.slice(0, 12) : /\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  const label = color ? `${LEVEL_COLOURS[level] ?? ''}${name}\x1b[0m` : name;
  return [time, label, String(entry.msg ?? ''), ...fields].filter(Boolean).join(' ');
}
