import type { Logger } from 'pino';
import type { ReportStore } from '../store/reports.js';
import { cronJob, cronTime } from './cron.js';

export interface ReportSchedule {
  /** Stops the timer and waits (bounded) for a report in progress. */
  stop(): Promise<void>;
  /** The catch-up report of this start, if one was due (for tests and the log). */
  readonly catchUp: Promise<void>;
}

/**
 * The newest fire time of `schedule` after `after` and at or before `now`, or undefined when none
 * fell in between (the bot was not down over a fire time).
 */
export function missedFire(schedule: string, timeZone: string, after: number, now: number): number | undefined {
  const time = cronTime(schedule, timeZone);
  let missed: number | undefined;
  let from = new Date(after);
  // Bounded: a schedule firing every second over a long downtime still posts one late report.
  for (let i = 0; i < 10_000; i++) {
    const next = time.nextRun(from)?.getTime();
    if (next === undefined || next > now) break;
    missed = next;
    from = new Date(next);
  }
  return missed;
}

/**
 * Runs `report` on the cron schedule (croner, in the configured time zone; see ./cron.ts) and
 * records each fire time. At start, a fire time missed while the bot was down is reported once,
 * marked late. The fire time is recorded before the report runs: a report that fails (or a crash
 * while posting) is not posted twice.
 */
export function startReportSchedule(opts: {
  schedule: string;
  timeZone: string;
  reports: ReportStore;
  report: (firedAt: number, late: boolean) => Promise<void>;
  log: Logger;
  now?: () => number;
}): ReportSchedule {
  const now = opts.now ?? Date.now;
  let inFlight: Promise<void> | undefined;
  const fire = (at: number, late: boolean): Promise<void> => {
    if (inFlight) {
      opts.log.warn({ at, late }, 'the previous report is still running; this fire time is skipped');
      return inFlight;
    }
    try {
      opts.reports.setLastFire(at);
    } catch (err) {
      opts.log.error({ err }, 'could not record the report fire time; reporting anyway');
    }
    inFlight = opts.report(at, late).catch((err: unknown) => opts.log.error({ err, at, late }, 'scheduled report failed'));
    return inFlight.finally(() => {
      inFlight = undefined;
    });
  };

  let catchUp: Promise<void> = Promise.resolve();
  const started = now();
  const last = opts.reports.lastFire();
  if (last === undefined) {
    // First start with this database: only fire times from now on count as missed later.
    opts.reports.setLastFire(started);
  } else {
    const missed = missedFire(opts.schedule, opts.timeZone, last, started);
    if (missed !== undefined) {
      opts.log.info({ missed: new Date(missed).toISOString() }, 'a scheduled report was missed while the bot was down; posting it now, late');
      catchUp = fire(missed, true);
    }
  }

  const job = cronJob(
    opts.schedule,
    opts.timeZone,
    (self) => {
      // When the tick ran (croner's currentRun, what the `cron` package's lastDate() gave).
      const at = self.currentRun()?.getTime() ?? now();
      void fire(at, false);
    },
    (err) => opts.log.error({ err }, 'report schedule tick failed'),
  );
  opts.log.info({ schedule: opts.schedule, timeZone: opts.timeZone, next: job.nextRun()?.toISOString() }, 'report schedule started');

  return {
    catchUp,
    async stop() {
      job.stop();
      if (inFlight) await Promise.race([inFlight, new Promise((r) => setTimeout(r, 30_000).unref())]);
    },
  };
}
