import { createHash } from 'node:crypto';
import { request } from 'node:http';
import type { DiscordDouble, DoubleMessage } from '../discord-double/index.js';

/** One alert as Alertmanager sends it (webhook v4). */
export interface AmAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export function amAlert(labels: Record<string, string>, over: Partial<AmAlert> = {}): AmAlert {
  const fingerprint = Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',');
  return {
    status: 'firing',
    labels,
    annotations: { summary: `${labels.alertname ?? 'alert'} fired` },
    startsAt: '2026-11-29T22:00:00.000000001Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=probe_success+%3D%3D+0',
    fingerprint: createHash('sha256').update(fingerprint).digest('hex').slice(0, 16),
    ...over,
  };
}

/** A webhook body for one group, as Alertmanager builds it (group labels: alertname and job). */
export function amWebhook(alerts: AmAlert[], groupLabels: Record<string, string>): Record<string, unknown> {
  const keys = Object.keys(alerts[0]?.labels ?? {});
  const commonLabels = Object.fromEntries(keys.filter((k) => alerts.every((a) => a.labels[k] === alerts[0]?.labels[k])).map((k) => [k, alerts[0]!.labels[k]!]));
  return {
    version: '4',
    groupKey: `{}:{${Object.entries(groupLabels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'opsbot',
    groupLabels,
    commonLabels,
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts,
  };
}

/** POSTs a body to the bot's Alertmanager route; resolves with the status and the answer's text. */
export function postWebhook(baseUrl: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The bot answers 401/413 before reading everything and closes: that is an answer, not a failure.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(body);
  });
}

/** Every request the bot made to post or edit a message in a channel. */
export function channelWrites(double: DiscordDouble): { method: string; path: string; body: Record<string, unknown> }[] {
  return double.requests
    .filter((r) => /^\/channels\/\d+\/messages(\/\d+)?$/.test(r.path) && (r.method === 'POST' || r.method === 'PATCH'))
    .map((r) => ({ method: r.method, path: r.path, body: (r.body ?? {}) as Record<string, unknown> }));
}

/** Alert messages (titled Firing/Resolved) in #alerts. */
export const alertMessages = (double: DiscordDouble): DoubleMessage[] =>
  double.channelMessages('alerts').filter((m) => /Firing|Resolved/.test(m.embeds?.[0]?.title ?? ''));
