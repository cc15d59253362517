import { z } from 'zod';
import { SERVICE_NAME } from '../src/engine/engine.js';

/** A compose service name, syntax only; the engine then checks it against the host's services. */
export const serviceName = z
  .string()
  .max(63, 'is too long for a compose service name')
  .regex(SERVICE_NAME, 'must be a compose service name (letters, digits, `_`, `.`, `-`; no spaces, quotes, slashes or shell characters)');

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?Z?)?$/;

/** Whether a date/time names a real instant: Date.parse rolls 2026-02-30 over to March 2 and would read it silently. */
function isCalendarDate(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return true; // an age, or already refused by the pattern
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return y >= 1970 && t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
}

/** Docker's `since`: a relative age (30s, 10m, 2h, 1d) or an ISO date/time in UTC. */
export const since = z
  .string()
  .regex(/^(\d{1,6}[smhd]|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?)$/, 'must be an age like 10m, 2h, 1d or a date like 2026-11-23T09:00Z')
  .refine(isCalendarDate, 'is not a real date and time (UTC): month 01–12, a day that month has, hours 00–23, minutes and seconds 00–59');

export function sinceToUnix(value: string, now = Date.now()): number {
  const rel = /^(\d+)([smhd])$/.exec(value);
  if (rel) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(now / 1000) - Number(rel[1]) * unit;
  }
  // Always UTC, as the option says: without a zone Date.parse would read the bot machine's local time.
  const t = Date.parse(value.length === 10 ? `${value}T00:00Z` : value.endsWith('Z') ? value : `${value}Z`);
  if (Number.isNaN(t)) throw new Error(`invalid date ${value}`);
  return Math.floor(t / 1000);
}

export function formatAge(fromIso: string | null, now = Date.now()): string {
  if (fromIso === null) return '—';
  let s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}
