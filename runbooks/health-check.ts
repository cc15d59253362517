import type { StepContext } from '../src/engine/runbook.js';

/**
 * Fetches a health URL on the host (its loopback is not ours): curl, or wget where curl is absent.
 * Both argv shapes are in deploy/opsbot-guard's allow-list.
 */
export async function healthCheck(ctx: Pick<StepContext<unknown>, 'exec'>, url: string, seconds: number): Promise<{ ok: boolean; detail: string }> {
  const curl = await ctx.exec(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(seconds), url], { timeoutMs: (seconds + 5) * 1000 });
  if (curl.exitCode !== 127) {
    const code = curl.stdout.trim();
    return { ok: curl.exitCode === 0 && /^2\d\d$/.test(code), detail: curl.exitCode === 0 ? `HTTP ${code}` : `curl exit ${curl.exitCode}: ${curl.stderr.trim()}` };
  }
  const wget = await ctx.exec(['wget', '-q', '-O', '/dev/null', '-T', String(seconds), url], { timeoutMs: (seconds + 5) * 1000 });
  return { ok: wget.exitCode === 0, detail: wget.exitCode === 0 ? 'HTTP 2xx' : `wget exit ${wget.exitCode}` };
}
