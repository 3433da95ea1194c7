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
