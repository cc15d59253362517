import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStagingSshSessions, restoreStaging, stagingDaemonPid, stopStagingDaemon } from '../staging/staging.js';
import { prometheusConfig, startPrometheus, type PrometheusDaemon } from '../support/prometheus.js';
import { useBot } from './suite.js';
import { ask, isEphemeral, textOf } from './util.js';

interface Health {
  status: number;
  body: { status: string; problems?: Array<{ check: string; host?: string; reason: string }> };
}

async function healthz(url: string): Promise<Health> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as Health['body'] };
}

/** Polls /healthz until `check` accepts it (the bot notices a dropped link or gateway within seconds). */
async function healthUntil(url: string, check: (h: Health) => boolean, timeoutMs = 20_000): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let last = await healthz(url);
  while (!check(last) && Date.now() < deadline) {
    await sleep(200);
    last = await healthz(url);
  }
  return last;
}

describe('the bot\'s /metrics, scraped by a real Prometheus', () => {
  const h = useBot();
  let prom: PrometheusDaemon;
  beforeAll(async () => {
    prom = await startPrometheus({ config: prometheusConfig({ target: `127.0.0.1:${h.app.http.port}` }) });
  });
  afterAll(async () => {
    await prom?.stop();
  });

  it('counts three /ps and one refused /ps, and Prometheus reads back what the bot did', async () => {
    await prom.waitFor('up{job="opsbot"}', (r) => r[0]?.value === 1);
    const before = async (q: string) => (await prom.query(q))[0]?.value ?? 0;
    const okBefore = await before('opsbot_interactions_total{command="ps",outcome="ok"}');
    const refusedBefore = await before('opsbot_interactions_total{command="ps",outcome="refused"}');
    const acksBefore = await before('opsbot_interaction_ack_seconds_count{kind="command"}');
    const runsBefore = await before('opsbot_runbook_runs_total{runbook="ps",outcome="succeeded"}');

    for (let n = 0; n < 3; n++) expect(textOf(await ask(h, 'ps'))).toContain('all 5 services running');
    const refused = await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'general' }).waitForReply();
    expect(isEphemeral(refused)).toBe(true);

    await prom.waitFor('opsbot_interactions_total{command="ps",outcome="ok"}', (r) => r[0]?.value === okBefore + 3);
    await prom.waitFor('opsbot_interactions_total{command="ps",outcome="refused"}', (r) => r[0]?.value === refusedBefore + 1);
    // Each answered command was acknowledged once (the refusal is a reply, not a deferral).
    await prom.waitFor('opsbot_interaction_ack_seconds_count{kind="command"}', (r) => r[0]?.value === acksBefore + 3);
    await prom.waitFor('opsbot_runbook_runs_total{runbook="ps",outcome="succeeded"}', (r) => r[0]?.value === runsBefore + 3);
    // The same figures as the bot serves them itself.
    const text = await (await fetch(`${h.app.http.url}/metrics`)).text();
    expect(text).toContain(`opsbot_interactions_total{command="ps",outcome="ok"} ${okBefore + 3}`);

    const connected = await prom.waitFor('opsbot_ssh_connected{host="staging"}', (r) => r.length === 1);
    expect(connected[0]?.value).toBe(1);
    const gw = await prom.waitFor('opsbot_discord_gateway_connected', (r) => r.length === 1);
    expect(gw[0]?.value).toBe(1);
    // Default Node process metrics come along.
    const rss = await prom.query('process_resident_memory_bytes{job="opsbot"}');
    expect(rss[0]?.value).toBeGreaterThan(10 * 1024 * 1024);
    // No run ids or user ids as labels: every interaction series has just command and outcome.
    for (const r of await prom.query('opsbot_interactions_total')) {
      expect(Object.keys(r.metric).sort()).toEqual(['__name__', 'command', 'instance', 'job', 'outcome']);
    }
  });

  it('every query of the Grafana dashboard is valid PromQL that Prometheus answers', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/opsbot.json', import.meta.url), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr.replaceAll('$job', 'opsbot').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m'));
    for (const e of exprs) await expect(prom.query(e), e).resolves.toBeInstanceOf(Array);
    const up = await prom.query(exprs.find((e) => e.startsWith('opsbot_discord_gateway_connected'))!);
    expect(up[0]?.value).toBe(1);
  });
});

describe('/healthz', () => {
  const h = useBot();
  afterAll(async () => {
    // Whatever happened, the staging sshd runs again for everyone after us.
    if (stagingDaemonPid('sshd') === undefined) await restoreStaging();
  });

  it('is 200 when the gateway, the database and the host are fine', async () => {
    await ask(h, 'ps');
    const ok = await healthz(h.app.http.url);
    expect(ok).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('is 503 naming the host while its sshd is down, and 200 again once it is back', async () => {
    // The pooled link goes first (the listener's children), then the listener: nothing can reconnect.
    expect(killStagingSshSessions()).toBeGreaterThan(0);
    await stopStagingDaemon('sshd');
    try {
      const down = await healthUntil(h.app.http.url, (x) => x.status === 503);
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('unhealthy');
      expect(down.body.problems).toEqual([{ check: 'host', host: 'staging', reason: expect.stringMatching(/Cannot connect to host "staging" \(deploy@127\.0\.0\.1:\d+\):.*ECONNREFUSED/) }]);
    } finally {
      await restoreStaging();
    }
    const back = await healthUntil(h.app.http.url, (x) => x.status === 200);
    expect(back.status).toBe(200);
  }, 120_000);

  it('is 503 naming the gateway during a gateway outage, and 200 after it', async () => {
    const outage = h.double.gatewayOutage(4000);
    const down = await healthUntil(h.app.http.url, (x) => x.status === 503, 4000);
    expect(down.status).toBe(503);
    expect(down.body.problems).toEqual([{ check: 'gateway', reason: expect.stringContaining('Discord gateway') }]);
    await outage;
    await h.double.waitForConnected({ timeoutMs: 30_000 });
    const back = await healthUntil(h.app.http.url, (x) => x.status === 200, 30_000);
    expect(back.status).toBe(200);
  }, 60_000);
});
