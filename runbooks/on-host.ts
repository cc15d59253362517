import type { StepContext } from '../src/engine/runbook.js';

/**
 * GETs a URL on the host (its loopback is not ours) with curl and returns the body. Only the API
 * paths deploy/opsbot-guard allows come back (Prometheus' alerts/rules/query, Traefik's
 * /api/http/* and /metrics): a body is data the bot reads, so arbitrary URLs are not.
 */
export async function getOnHost(ctx: Pick<StepContext<unknown>, 'exec'>, url: string, seconds = 10): Promise<{ ok: true; body: string } | { ok: false; detail: string }> {
  const res = await ctx.exec(['curl', '-sS', '--max-time', String(seconds), url], { timeoutMs: (seconds + 5) * 1000 });
  if (res.exitCode === 127) return { ok: false, detail: 'curl is not installed on the host' };
  if (res.exitCode !== 0) return { ok: false, detail: `${url} did not answer (curl exit ${res.exitCode}${res.stderr.trim() ? `: ${res.stderr.trim().slice(0, 200)}` : ''})` };
  return { ok: true, body: res.stdout };
}

/** JSON of a host-side GET, or why not. */
export async function getJsonOnHost(ctx: Pick<StepContext<unknown>, 'exec'>, url: string): Promise<{ ok: true; json: unknown } | { ok: false; detail: string }> {
  const res = await getOnHost(ctx, url);
  if (!res.ok) return res;
  try {
    return { ok: true, json: JSON.parse(res.body) as unknown };
  } catch {
    return { ok: false, detail: `${url} did not return JSON` };
  }
}

/** Percent-encodes all but RFC 3986's unreserved characters: the only shape the guard lets through in a query string. */
export const strictEncode = (s: string): string => Array.from(new TextEncoder().encode(s), (b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

export const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
