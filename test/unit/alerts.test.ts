import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AlertIntake, fillTemplate, hostFor, mergeAlerts } from '../../src/alerts/intake.js';
import { AlertStore } from '../../src/alerts/store.js';
import { inert, renderGroup, safeUrl } from '../../src/alerts/view.js';
import { alertmanagerRoute, webhookSchema, type Alert, type Webhook } from '../../src/alerts/webhook.js';
import { configSchema } from '../../src/config/schema.js';
import { UserError } from '../../src/engine/errors.js';
import type { PostView } from '../../src/engine/publish.js';
import { startHttpServer } from '../../src/http/server.js';
import { openDatabase } from '../../src/store/db.js';

const alert = (over: Partial<Alert> & { labels?: Record<string, string> } = {}): Alert => ({
  status: 'firing',
  labels: { alertname: 'ServiceDown', job: 'adonisjs', instance: '127.0.0.1:9100' },
  annotations: { summary: 'adonisjs is down' },
  startsAt: '2026-11-29T22:00:00.123456789Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus.example/graph?g0.expr=up',
  fingerprint: 'f1',
  ...over,
});

const hook = (alerts: Alert[], over: Partial<Webhook> = {}): Webhook =>
  webhookSchema.parse({
    version: '4',
    groupKey: '{}:{alertname="ServiceDown"}',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'opsbot',
    groupLabels: { alertname: 'ServiceDown' },
    commonLabels: { alertname: 'ServiceDown' },
    commonAnnotations: {},
    externalURL: 'http://am.example',
    alerts,
    ...over,
  });

const hosts = [
  { name: 'prod', transport: 'ssh', address: '10.0.0.5', user: 'deploy', keyPath: '/k', hostKeyFingerprint: `SHA256:${'a'.repeat(43)}`, projectDir: '/srv' },
  { name: 'edge', transport: 'ssh', address: 'edge.example', user: 'deploy', keyPath: '/k', hostKeyFingerprint: `SHA256:${'a'.repeat(43)}`, projectDir: '/srv' },
];
const config = (over: Record<string, unknown> = {}) =>
  configSchema.parse({ discord: { guildId: '1'.repeat(18), alertsChannel: 'alerts', roles: { viewer: 'v', operator: 'o', approver: 'a' } }, hosts, ...over });

describe('alert params templates', () => {
  it('fills labels and annotations and names the first missing one', () => {
    expect(fillTemplate('{{ $labels.job }}-{{$annotations.summary}}', alert())).toEqual({ value: 'adonisjs-adonisjs is down' });
    expect(fillTemplate('{{ $labels.nope }}', alert())).toEqual({ missing: '$labels.nope' });
  });

  it('config refuses any other template syntax', () => {
    expect(() => config({ alerts: [{ alertname: 'X', runbook: 'restart', params: { service: '{{ .Labels.job }}' } }] })).toThrow(/placeholders/);
    expect(() => config({ alerts: [{ alertname: 'X', runbook: 'restart', params: { service: '{{ $labels.job | upper }}' } }] })).toThrow(/placeholders/);
    expect(config({ alerts: [{ alertname: 'X', runbook: 'restart', params: { service: '{{ $labels.job }}' } }] }).alerts[0]?.params).toEqual({ service: '{{ $labels.job }}' });
  });
});

describe('which host an alert is about', () => {
  it('a host label, an instance address, the default host, the only host', () => {
    expect(hostFor(alert({ labels: { alertname: 'A', host: 'edge' } }), config())).toEqual({ name: 'edge' });
    expect(hostFor(alert({ labels: { alertname: 'A', instance: '10.0.0.5:9100' } }), config())).toEqual({ name: 'prod' });
    expect(hostFor(alert({ labels: { alertname: 'A' } }), config({ defaultHost: 'edge' }))).toEqual({ name: 'edge' });
    expect(hostFor(alert({ labels: { alertname: 'A' } }), config({ hosts: [hosts[0]] }))).toEqual({ name: 'prod' });
    expect(hostFor(alert({ labels: { alertname: 'A' } }), config())).toHaveProperty('none');
  });

  it('a host label naming an unmanaged machine gives no host, not the default', () => {
    expect(hostFor(alert({ labels: { alertname: 'A', host: 'db-7' } }), config({ defaultHost: 'prod' }))).toHaveProperty('none');
  });
});

describe('merging a group', () => {
  it('a delayed firing resend does not undo a resolution of the same alert', () => {
    const resolved = mergeAlerts({}, hook([alert({ status: 'resolved', endsAt: '2026-11-29T22:05:00Z' })]));
    const after = mergeAlerts(resolved, hook([alert()]));
    expect(after.f1?.status).toBe('resolved');
    const refire = mergeAlerts(resolved, hook([alert({ startsAt: '2026-11-29T23:00:00Z' })]));
    expect(refire.f1?.status).toBe('firing');
  });

  it('a truncated webhook keeps the alerts it does not list', () => {
    const two = mergeAlerts({}, hook([alert(), alert({ fingerprint: 'f2' })]));
    expect(Object.keys(mergeAlerts(two, hook([alert()], { truncatedAlerts: 1 })))).toEqual(['f1', 'f2']);
    expect(Object.keys(mergeAlerts(two, hook([alert()])))).toEqual(['f1']);
  });
});

describe('rendering', () => {
  it('markdown and mentions in labels are inert', () => {
    const text = inert('@everyone **bold** <@123> [x](http://evil) `code` # h');
    expect(text).not.toMatch(/@everyone|@here/);
    expect(text).toContain('\\*\\*bold\\*\\*');
    expect(text).toContain('\\<@\u200b123\\>');
    expect(text).toContain('\\[x\\]\\(http\\:');
  });

  it('only http(s) links, with parentheses encoded', () => {
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('http://p/graph?g0.expr=rate(x[5m])')).toBe('http://p/graph?g0.expr=rate%28x[5m]%29');
  });

  it('firing is red with the labels, start and source; resolved is green', () => {
    const v = renderGroup({ groupKey: 'g', receiver: 'r', alerts: [alert()], commonLabels: { alertname: 'ServiceDown', job: 'adonisjs' }, commonAnnotations: {}, host: { name: 'prod' } });
    expect(v.tone).toBe('fail');
    expect(v.title).toContain('Firing: ServiceDown');
    expect(v.fields.map((f) => f.name)).toEqual(['Labels', 'Started', 'Source', 'Host']);
    expect(v.fields.find((f) => f.name === 'Started')?.value).toBe('2026-11-29 22:00:00 UTC');
    const r = renderGroup({ groupKey: 'g', receiver: 'r', alerts: [alert({ status: 'resolved', endsAt: '2026-11-29T22:05:00Z' })], commonLabels: {}, commonAnnotations: {}, host: { name: 'prod' } });
    expect(r.tone).toBe('ok');
    expect(r.fields.find((f) => f.name === 'Resolved')?.value).toBe('2026-11-29 22:05:00 UTC');
  });
});

/** A publisher that records and can be held, to see what a burst turns into. */
function recorder() {
  const calls: { op: 'post' | 'edit'; ref: string; view: PostView }[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  return {
    calls,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release: () => open(),
    publisher: {
      async post(view: PostView) {
        await gate;
        const ref = `c/${calls.length + 1}`;
        calls.push({ op: 'post' as const, ref, view });
        return ref;
      },
      async edit(ref: string, view: PostView) {
        await gate;
        calls.push({ op: 'edit' as const, ref, view });
      },
    },
  };
}

function intakeWith(opts: { alerts?: unknown[]; offer?: (req: { runbook: string; params: Record<string, unknown> }) => void } = {}) {
  const rec = recorder();
  const offers: { runbook: string; params: Record<string, unknown>; origin?: string }[] = [];
  const intake = new AlertIntake({
    engine: {
      offer(req) {
        opts.offer?.(req);
        offers.push(req);
        return { id: `offer:o${offers.length}`, label: req.label, style: 'primary' };
      },
    },
    publisher: rec.publisher,
    store: new AlertStore(openDatabase(':memory:')),
    config: config({ hosts: [hosts[0]], alerts: opts.alerts ?? [{ alertname: 'ServiceDown', runbook: 'restart', params: { service: '{{ $labels.job }}' } }] }),
    runbookIds: new Set(['restart', 'alert-investigation']),
    log: pino({ level: 'silent' }),
  });
  return { intake, rec, offers };
}

describe('alert intake', () => {
  it('one message per group, edited when it resolves, with the mapped runbook and the investigation offered once', async () => {
    const { intake, rec, offers } = intakeWith();
    await intake.receive(hook([alert()]));
    expect(rec.calls.map((c) => c.op)).toEqual(['post']);
    expect(rec.calls[0]?.view.actions.map((a) => a.label)).toEqual(['▶ restart adonisjs', '🔎 Investigate']);
    expect(offers[0]).toMatchObject({ runbook: 'restart', params: { service: 'adonisjs' } });
    expect(offers[0]?.origin).toContain('alert ServiceDown');
    await intake.receive(hook([alert()])); // a resend, nothing new
    expect(rec.calls).toHaveLength(1);
    await intake.receive(hook([alert({ status: 'resolved', endsAt: '2026-11-29T22:05:00Z' })]));
    expect(rec.calls.map((c) => [c.op, c.ref])).toEqual([['post', 'c/1'], ['edit', 'c/1']]);
    expect(rec.calls[1]?.view.tone).toBe('ok');
    // The buttons are the same offers (no new ones made for the edit).
    expect(rec.calls[1]?.view.actions.map((a) => a.id)).toEqual(['offer:o1', 'offer:o2']);
    expect(offers).toHaveLength(2);
  });

  it('a burst of resends while a post is in flight becomes one post and one edit', async () => {
    const { intake, rec } = intakeWith();
    rec.hold();
    const first = intake.receive(hook([alert()]));
    const more = Array.from({ length: 50 }, (_, i) => intake.receive(hook([alert(), alert({ fingerprint: `x${i % 5}`, labels: { alertname: 'ServiceDown', job: 'adonisjs', n: String(i % 5) } })])));
    rec.release();
    await Promise.all([first, ...more]);
    expect(rec.calls.map((c) => c.op)).toEqual(['post', 'edit']);
    expect(rec.calls[1]?.view.title).toContain('(2 firing)');
  });

  it('a group that fires again after resolving gets a new message', async () => {
    const { intake, rec } = intakeWith();
    await intake.receive(hook([alert()]));
    await intake.receive(hook([alert({ status: 'resolved', endsAt: '2026-11-29T22:05:00Z' })]));
    await intake.receive(hook([alert({ startsAt: '2026-11-29T23:00:00Z' })]));
    expect(rec.calls.map((c) => [c.op, c.ref])).toEqual([['post', 'c/1'], ['edit', 'c/1'], ['post', 'c/3']]);
  });

  it('label values the runbook refuses give no button, and the alert is still shown', async () => {
    const { intake, rec } = intakeWith({
      offer: (req) => {
        if (req.runbook === 'restart') throw new UserError('params.invalid', 'service must be a compose service name');
      },
    });
    await intake.receive(hook([alert({ labels: { alertname: 'ServiceDown', job: 'x; rm -rf /' } })]));
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0]?.view.actions.map((a) => a.label)).toEqual(['🔎 Investigate']);
  });

  it('a publisher failure rejects every waiter of that turn and the next webhook tries again', async () => {
    const { intake, rec } = intakeWith();
    const post = rec.publisher.post;
    rec.publisher.post = () => Promise.reject(new Error('discord down'));
    await expect(intake.receive(hook([alert()]))).rejects.toThrow('discord down');
    rec.publisher.post = post;
    await intake.receive(hook([alert()]));
    expect(rec.calls.map((c) => c.op)).toEqual(['post']);
  });
});

describe('the webhook route', () => {
  const body = JSON.stringify({ version: '4', groupKey: 'g', status: 'firing', alerts: [alert()] });
  async function withRoute(token: string | undefined, deliver: (h: Webhook) => Promise<void>, fn: (url: string) => Promise<void>) {
    const log = pino({ level: 'silent' });
    const server = await startHttpServer('127.0.0.1:0', log);
    server.route('POST', '/alerts/alertmanager', alertmanagerRoute({ token, deliver, log }));
    try {
      await fn(`${server.url}/alerts/alertmanager`);
    } finally {
      await server.close();
    }
  }

  it('answers 503 and takes nothing while no token is configured', async () => {
    const got: Webhook[] = [];
    await withRoute(undefined, async (h) => void got.push(h), async (url) => {
      const res = await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer whatever-token-1234' } });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('OPSBOT_ALERTMANAGER_TOKEN');
    });
    expect(got).toEqual([]);
  });

  it('answers 503 when the message could not be posted, so Alertmanager retries', async () => {
    await withRoute('t'.repeat(20), () => Promise.reject(new Error('discord down')), async (url) => {
      const res = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${'t'.repeat(20)}` } });
      expect(res.status).toBe(503);
    });
  });
});
