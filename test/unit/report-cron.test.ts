import { afterEach, describe, expect, it, vi } from 'vitest';
import { cronJob, cronTime, isCronExpression, isTimeZone } from '../../src/report/cron.js';
import { missedFire } from '../../src/report/schedule.js';

/** The next `n` fire times after `from`, as ISO strings. */
function next(expression: string, timeZone: string, from: string, n = 3): string[] {
  const time = cronTime(expression, timeZone);
  const out: string[] = [];
  let at: Date | null = new Date(from);
  for (let i = 0; i < n && at; i++) {
    at = time.nextRun(at);
    if (at) out.push(at.toISOString());
  }
  return out;
}

describe('report schedule expressions (croner, in the dialect the `cron` package read)', () => {
  afterEach(() => void vi.restoreAllMocks());

  it('reads five fields, six with seconds first, names, `1/5` steps and the `cron` package nicknames', () => {
    const from = '2026-12-04T08:59:59Z'; // a Friday
    expect(next('0 9 * * *', 'UTC', from)).toEqual(['2026-12-04T09:00:00.000Z', '2026-12-05T09:00:00.000Z', '2026-12-06T09:00:00.000Z']);
    expect(next('30 0 9 * * *', 'UTC', from, 1)).toEqual(['2026-12-04T09:00:30.000Z']);
    expect(next('0 9 * * MON-FRI', 'UTC', from)).toEqual(['2026-12-04T09:00:00.000Z', '2026-12-07T09:00:00.000Z', '2026-12-08T09:00:00.000Z']);
    expect(next('0 9 * * 7', 'UTC', from, 1)).toEqual(['2026-12-06T09:00:00.000Z']); // 7 is Sunday, as 0
    expect(next('1/20 9 * * *', 'UTC', from)).toEqual(['2026-12-04T09:01:00.000Z', '2026-12-04T09:21:00.000Z', '2026-12-04T09:41:00.000Z']);
    expect(next('@weekdays', 'UTC', from, 2)).toEqual(['2026-12-07T00:00:00.000Z', '2026-12-08T00:00:00.000Z']);
    expect(next('@WEEKENDS', 'UTC', from, 2)).toEqual(['2026-12-05T00:00:00.000Z', '2026-12-06T00:00:00.000Z']);
    // Day of month and day of week both restricted: either one fires (Vixie cron, as the `cron` package did).
    expect(next('0 9 13 * 5', 'UTC', '2026-12-05T00:00:00Z')).toEqual(['2026-12-11T09:00:00.000Z', '2026-12-13T09:00:00.000Z', '2026-12-18T09:00:00.000Z']);
  });

  it('refuses bad values, seven fields, `?` (croner would put the start time there) and a schedule that never fires', () => {
    expect(isCronExpression('0 9 * * *')).toBe(true);
    for (const bad of ['0 99 * * * *', '0 9 32 * *', '* * * * * * *', '0 9 ? * *', '0 0 30 2 *', 'every day', '']) expect(isCronExpression(bad), bad).toBe(false);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });

  it('a UTC schedule is computed without Intl (its first DateTimeFormat pages in ~6 MB of ICU); a named zone uses it', () => {
    // Both: croner keeps one formatter per zone, so a zone it saw before makes no new one, but it
    // still formats with it for every date it converts.
    const Real = Intl.DateTimeFormat;
    const made = vi.spyOn(Intl, 'DateTimeFormat').mockImplementation(function (this: unknown, ...args: ConstructorParameters<typeof Real>) {
      return new Real(...args);
    } as typeof Real);
    const used = vi.spyOn(Real.prototype, 'formatToParts');
    expect(isTimeZone('UTC')).toBe(true);
    expect(isCronExpression('0 9 * * *')).toBe(true);
    expect(missedFire('0 9 * * *', 'UTC', Date.parse('2026-12-01T10:00:00Z'), Date.parse('2026-12-04T10:00:00Z'))).toBe(Date.parse('2026-12-04T09:00:00Z'));
    const job = cronJob('0 9 * * *', 'UTC', () => undefined, () => undefined);
    expect(job.nextRun()?.getUTCHours()).toBe(9);
    job.stop();
    expect(made).not.toHaveBeenCalled();
    expect(used).not.toHaveBeenCalled();
    // 09:00 in New York is 14:00 UTC in winter.
    expect(next('0 9 * * *', 'America/New_York', '2026-12-04T00:00:00Z', 1)).toEqual(['2026-12-04T14:00:00.000Z']);
    expect(made).toHaveBeenCalled();
    expect(used).toHaveBeenCalled();
  });

  it('a running job calls back at its fire time and reports what the callback throws', async () => {
    const errors: unknown[] = [];
    const ticks: number[] = [];
    const job = cronJob(
      '* * * * * *',
      'UTC',
      (self) => {
        ticks.push(self.currentRun()?.getTime() ?? Number.NaN);
        throw new Error('tick failed');
      },
      (err) => errors.push(err),
    );
    try {
      await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 3000 });
    } finally {
      job.stop();
    }
    expect(ticks[0]).toBeGreaterThan(Date.now() - 3000);
    expect(String(errors[0])).toMatch(/tick failed/);
  });
});
