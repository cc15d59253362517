import { z } from 'zod';
import { SERVICE_NAME } from '../src/engine/engine.js';

/** A compose service name, syntax only; the engine then checks it against the host's services. */
export const serviceName = z
  .string()
  .max(63, 'is too long for a compose service name')
  .regex(SERVICE_NAME, 'must be a compose service name (letters, digits, `_`, `.`, `-`; no spaces, quotes, slashes or shell characters)');

/** Docker's `since`: a relative age (30s, 10m, 2h, 1d) or an ISO date/time. */
export const since = z
  .string()
  .regex(/^(\d{1,6}[smhd]|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?)$/, 'must be an age like 10m, 2h, 1d or a date like 2026-11-23T09:00Z');

export function sinceToUnix(value: string, now = Date.now()): number {
  const rel = /^(\d+)([smhd])$/.exec(value);
  if (rel) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(now / 1000) - Number(rel[1]) * unit;
  }
  const t = Date.parse(value.length === 10 ? `${value}T00:00Z` : value);
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
