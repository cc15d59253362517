import { pino, type Logger } from 'pino';
import { redact } from './engine/redact.js';

export type { Logger };

/**
 * One logger for the process. Every string that reaches a log line passes through the same
 * redaction as the output shown in Discord, so a secret printed by a host never lands in a log.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'opsbot' },
      redact: { paths: ['token', '*.token', 'DISCORD_TOKEN', '*.password', '*.privateKey'], censor: '[redacted]' },
      hooks: {
        streamWrite: (line) => redact(line),
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
