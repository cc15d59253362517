import { Cron, type CronCallback, type CronOptions } from 'croner';

/**
 * The report schedule's cron expressions, read by croner in the dialect the configuration has
 * always documented (it was the `cron` package's): five fields, or six with seconds first;
 * names of months and days; `1/5` steps; the `cron` package's nicknames (croner lacks the last
 * four). A `?` is refused: croner would replace it with the current time at start, so the
 * schedule would depend on when the bot started.
 *
 * Why croner: a UTC schedule (the default) is then plain arithmetic on a fixed offset. The `cron`
 * package computed every fire time with luxon, whose first Intl.DateTimeFormat (even for UTC, even
 * to validate the expression) pages in ~6 MB of ICU code and data from the node binary, one
 * sixth of the bot's idle RSS budget. Another configured zone still goes through Intl, as it must.
 */
const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
  '@minutely': '0 * * * * *',
  '@secondly': '* * * * * *',
  '@weekdays': '0 0 0 * * 1-5',
  '@weekends': '0 0 0 * * 0,6',
};

const UTC = 'UTC';

function pattern(expression: string): string {
  const trimmed = expression.trim();
  if (trimmed.includes('?')) throw new Error('"?" is not allowed in the report schedule');
  return NICKNAMES[trimmed.toLowerCase()] ?? trimmed;
}

function options(timeZone: string): CronOptions {
  return {
    mode: '5-or-6-parts',
    sloppyRanges: true,
    // The same instants as timezone 'UTC', without Intl (see above).
    ...(timeZone === UTC ? { utcOffset: 0 } : { timezone: timeZone }),
  };
}

/** A job that never runs: for computing fire times. Throws on a bad expression or time zone. */
export function cronTime(expression: string, timeZone: string): Cron {
  return new Cron(pattern(expression), { ...options(timeZone), paused: true });
}

/** A running job; `catch` receives what `onTick` throws or rejects with. */
export function cronJob(expression: string, timeZone: string, onTick: CronCallback, onError: (err: unknown) => void): Cron {
  return new Cron(pattern(expression), { ...options(timeZone), catch: (err) => onError(err) }, onTick);
}

/** Parses, and fires at least once: `0 0 30 2 *` (never) is refused here rather than never posting. */
export function isCronExpression(expression: string): boolean {
  try {
    return cronTime(expression, UTC).nextRun() !== null;
  } catch {
    return false;
  }
}

/** An IANA time zone name Intl knows; 'UTC' (the default) is taken as it is, without Intl. */
export function isTimeZone(timeZone: string): boolean {
  if (timeZone === UTC) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
