/**
 * Row 8: Alertmanager webhook → the group's message posted or edited, at 20 alerts/s for 30 s,
 * against the bot child process (bench/run.ts starts it with OPSBOT_ALERTMANAGER_TOKEN).
 */
import type { DiscordDouble } from '../test/discord-double/index.js';
import { alertMessages, amAlert, amWebhook, channelWrites, postWebhook } from '../test/e2e/alerts-util.js';
import { median, ms, percentile, sleep } from './lib.js';

export const ALERTS_PER_SECOND = 20;
export const ALERT_SECONDS = 30;
export const ALERT_GROUPS = 10;

export interface AlertBench {
  rows: { metric: string; measured: string; target: string; ok: boolean | 'info' }[];
  note: string;
}

/**
 * Every 50 ms one new alert joins one of 10 groups (round robin), and its webhook carries the
 * group so far, as Alertmanager sends it. The bot answers a webhook once the group's message
 * shows it (posted or edited in the double), so the answer's latency is the figure.
 */
export async function benchAlerts(double: DiscordDouble, botUrl: string, token: string): Promise<AlertBench> {
  const total = ALERTS_PER_SECOND * ALERT_SECONDS;
  const groups: ReturnType<typeof amAlert>[][] = Array.from({ length: ALERT_GROUPS }, () => []);
  const writesBefore = channelWrites(double).length;
  const latencies: number[] = [];
  const failures: string[] = [];
  const inFlight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / ALERTS_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const g = i % ALERT_GROUPS;
    const job = `bench-${g}`;
    groups[g]!.push(amAlert({ alertname: 'BenchAlert', job, instance: `10.1.${g}.${groups[g]!.length}:9100` }));
    const body = JSON.stringify(amWebhook([...groups[g]!], { alertname: 'BenchAlert', job }));
    const sent = performance.now();
    inFlight.push(
      postWebhook(botUrl, body, { authorization: `Bearer ${token}` }).then(
        (r) => {
          if (r.status === 200) latencies.push(performance.now() - sent);
          else failures.push(`HTTP ${r.status}: ${r.text.slice(0, 100)}`);
        },
        (err: unknown) => void failures.push(String(err)),
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - t0) / 1000;
  const writes = channelWrites(double).slice(writesBefore);
  const msgs = alertMessages(double).filter((m) => /BenchAlert/.test(m.embeds?.[0]?.title ?? ''));
  const perGroup = total / ALERT_GROUPS;
  const complete = msgs.filter((m) => (m.embeds?.[0]?.title ?? '').includes(`(${perGroup} firing)`)).length;
  const p99 = percentile(latencies, 99);
  return {
    rows: [
      { metric: `8. alert webhook → message posted/edited, ${ALERTS_PER_SECOND} alerts/s for ${ALERT_SECONDS} s (bot child): p50 / p99`, measured: `${ms(median(latencies))} / ${ms(p99)}`, target: 'p99 < 500 ms', ok: p99 < 500 && failures.length === 0 },
      { metric: '8. … webhooks answered 200 (message shows them)', measured: `${latencies.length} of ${total}`, target: `${total}`, ok: latencies.length === total },
      { metric: `8. … messages in #alerts (one per group) showing all ${perGroup} alerts`, measured: `${msgs.length} messages, ${complete} complete`, target: `${ALERT_GROUPS}, ${ALERT_GROUPS}`, ok: msgs.length === ALERT_GROUPS && complete === ALERT_GROUPS },
    ],
    note:
      `8. Alerts: ${total} webhooks sent over ${elapsed.toFixed(1)} s (one every ${1000 / ALERTS_PER_SECOND} ms), each adding one alert to one of ${ALERT_GROUPS} groups ` +
      `and carrying the group so far (as Alertmanager's webhook does), POSTed with the bearer token to the bot child's /alerts/alertmanager. The bot answers 200 ` +
      `only once the group's message shows that webhook (its post or edit accepted by the double; webhooks of a group arriving while one is in flight are ` +
      `coalesced into the next edit), so the figure is send → answer. The bot wrote ${writes.filter((w) => w.method === 'POST').length} posts and ` +
      `${writes.filter((w) => w.method === 'PATCH').length} edits for them.${failures.length > 0 ? ` Failures: ${failures.slice(0, 3).join('; ')}.` : ''} ` +
      `The double enforces no rate limit unless told; real Discord allows about 5 writes per 5 s per channel, which discord.js queues: coalescing per group ` +
      `is what keeps that queue short there.`,
  };
}
