import { describe, expect, it } from 'vitest';
import { since, sinceToUnix } from '../../runbooks/params.js';

describe('the `since` option', () => {
  it.each(['10m', '2h', '1d', '2026-11-23', '2026-11-23T09:00Z', '2024-02-29T23:59:59Z', '2026-11-23T09:00'])('accepts %s', (v) => {
    expect(since.safeParse(v).success).toBe(true);
  });

  it.each(['2026-99-99', '2026-02-30', '2025-02-29', '2026-13-01', '2026-11-00', '2026-11-23T24:00Z', '2026-11-23T23:60Z', '2026-11-23T10:00:61Z', '0001-01-01'])(
    'refuses %s with a clear message, before it can become an internal error',
    (v) => {
      const r = since.safeParse(v);
      expect(r.success).toBe(false);
      expect(r.error?.issues.map((i) => i.message)).toEqual([expect.stringMatching(/is not a real date and time \(UTC\)/)]);
    },
  );

  it('reads a date/time without a zone as UTC, like one with Z', () => {
    expect(sinceToUnix('2026-11-23T09:00')).toBe(Date.UTC(2026, 10, 23, 9, 0) / 1000);
    expect(sinceToUnix('2026-11-23T09:00Z')).toBe(Date.UTC(2026, 10, 23, 9, 0) / 1000);
    expect(sinceToUnix('2026-11-23')).toBe(Date.UTC(2026, 10, 23) / 1000);
  });
});
