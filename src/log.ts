import { pino, stdSerializers, type Logger } from 'pino';
import { redact } from './engine/redact.js';

export type { Logger };

const MAX_DEPTH = 8;

/**
 * A copy of a log field with every string redacted: messages, stacks and `cause` chains of
 * errors (serialized first), host stdout/stderr, argv arrays. Done on the values, before they are
 * serialized: in the JSON line a quote inside a string is escaped (`DB_PASSWORD=\"hunter2\"`),
 * which the text rules would read differently.
 */
export function redactFields(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > MAX_DEPTH) return '[omitted]';
  seen.add(value);
  if (value instanceof Error) return redactFields(stdSerializers.errWithCause(value), depth + 1, seen);
  if (Array.isArray(value)) {
    const each = value.map((v) => redactFields(v, depth + 1, seen));
    // An argv hides a secret in the element after its flag (`--requirepass`, `mysql … -pX`): read
    // as one command line, and logged as one when that hides more.
    if (value.length > 1 && value.every((v) => typeof v === 'string')) {
      const line = redact(value.join(' '));
      if (line !== each.join(' ')) return line;
    }
    return each;
  }
  if (Buffer.isBuffer(value)) return redact(value.toString('utf8'));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactFields(v, depth + 1, seen);
  return out;
}

/**
 * One logger for the process. Every field and message passes through the same redaction as the
 * output shown in Discord before it is serialized, and the finished line once more as a second
 * net, so a secret printed by a host never lands in a log.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'opsbot' },
      redact: { paths: ['token', '*.token', 'DISCORD_TOKEN', '*.password', '*.privateKey'], censor: '[redacted]' },
      serializers: { err: (err: unknown) => redactFields(err) },
      formatters: { log: (object) => redactFields(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>);
        },
        streamWrite: (line) => redact(line),
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
