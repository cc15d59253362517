import { createHash, randomBytes } from 'node:crypto';
import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import type { Logger } from 'pino';

/**
 * Whether the same request may succeed later: a 5xx past discord.js's own three retries, a
 * timeout or a dropped connection. A 4xx (DiscordAPIError) would fail again, so it is not.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof DiscordAPIError) return false;
  if (err instanceof HTTPError) return err.status >= 500;
  if (err instanceof RateLimitError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return err.name === 'AbortError' || (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|UND_ERR_)/.test(code));
}

/**
 * What makes a new channel message post once: a send can reach Discord and its answer be lost (a
 * proxy timeout, a dropped connection), and every attempt to post it, {@link deliver}'s and
 * discord.js's own retries, carries this one nonce, which Discord enforces: a repeat gets the
 * message already posted instead of a second one. A key makes the nonce the same in another
 * process too (the same alert posted again by a restarted bot). Spread it into `channel.send`.
 */
export function postOnce(key?: string): { nonce: string; enforceNonce: true } {
  return { nonce: createHash('sha256').update(key ?? randomBytes(16)).digest('base64url').slice(0, 25), enforceNonce: true };
}

export interface DeliverOptions {
  log: Logger;
  /** For the log: what is being sent, e.g. `{ runId }`. */
  fields: Record<string, unknown>;
  /** Give up after this long (default 2 min; an interaction token lasts 15). */
  budgetMs?: number;
}

/**
 * Sends a message about work that already happened (a run's result), retrying transient
 * failures with backoff, so that a Discord hiccup delays the message instead of losing it.
 * `send` only talks to Discord: retrying it never runs a step again.
 */
export async function deliver<T>(send: () => Promise<T>, opts: DeliverOptions): Promise<T> {
  const deadline = Date.now() + (opts.budgetMs ?? 120_000);
  let delay = 500;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > deadline) throw err;
      opts.log.warn({ ...opts.fields, err, attempt, retryInMs: delay }, 'Discord did not take a message; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  }
}

/**
 * {@link deliver} through the interaction, then, if that route stays broken, through the channel
 * (a different route and rate-limit bucket). Returns the message that now shows the result.
 */
export async function deliverWithFallback<T>(primary: () => Promise<T>, fallback: (() => Promise<T>) | undefined, opts: DeliverOptions): Promise<T> {
  try {
    return await deliver(primary, { ...opts, budgetMs: opts.budgetMs ?? 30_000 });
  } catch (err) {
    if (!fallback || !isTransient(err)) throw err;
    opts.log.error({ ...opts.fields, err }, 'could not edit the interaction reply; sending the result through the channel');
    return deliver(fallback, opts);
  }
}
