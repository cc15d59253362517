import { randomBytes } from 'node:crypto';

/** Discord's epoch (2015-01-01T00:00:00.000Z), the zero point of every snowflake's timestamp. */
export const DISCORD_EPOCH = 1_420_070_400_000;

let lastMs = 0;
let increment = 0;

/**
 * A new snowflake: 42 bits of milliseconds since the Discord epoch, worker 1 / process 0, and a
 * 12-bit increment. Strictly increasing within the process, so ids sort like Discord's.
 */
export function snowflake(at: number = Date.now()): string {
  let ms = Math.max(at, lastMs);
  if (ms === lastMs) {
    increment += 1;
    if (increment > 0xfff) {
      ms += 1;
      increment = 0;
    }
  } else {
    increment = 0;
  }
  lastMs = ms;
  const value = (BigInt(ms - DISCORD_EPOCH) << 22n) | (1n << 17n) | BigInt(increment);
  return value.toString();
}

/** The creation time (ms since the Unix epoch) encoded in a snowflake. */
export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** A bot token shaped like Discord's: base64(user id) . 6 chars . 38 chars. */
export function botToken(botId: string): string {
  const id = Buffer.from(botId).toString('base64').replace(/=+$/, '');
  return `${id}.${randomToken(6).slice(0, 6)}.${randomToken(30).slice(0, 38)}`;
}

/** An interaction token shaped like Discord's (`aW50ZXJhY3Rpb246…`, base64 of "interaction:…"). */
export function interactionToken(interactionId: string): string {
  return Buffer.from(`interaction:${interactionId}:${randomToken(96)}`).toString('base64url');
}

/** A session id like the gateway's (32 hex characters). */
export function sessionId(): string {
  return randomBytes(16).toString('hex');
}
