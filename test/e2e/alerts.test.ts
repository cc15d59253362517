import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { textOf, buttonsOf } from './util.js';
import { alertMessages, amAlert, amWebhook, channelWrites, postWebhook } from './alerts-util.js';
import { useBot } from './suite.js';

const TOKEN = 'e2e-alertmanager-token-3f9c1b7a5d';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('Alertmanager webhook: refusals and hostile labels', () => {
  const h = useBot({ alertmanagerToken: TOKEN, alerts: [{ alertname: 'ServiceDown', runbook: 'restart', params: { service: '{{ $labels.job }}' } }] });
  const url = () => h.app.http.url;
  const valid = () => JSON.stringify(amWebhook([amAlert({ alertname: 'ServiceDown', job: 'adonisjs' })], { alertname: 'ServiceDown' }));

  it('refuses no token, a wrong token, bad JSON, a non-webhook and a 5 MB body, and posts nothing', async () => {
    const before = channelWrites(h.double).length;
    expect((await postWebhook(url(), valid())).status).toBe(401);
    expect((await postWebhook(url(), valid(), { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await postWebhook(url(), valid(), { authorization: TOKEN })).status).toBe(401);
    expect((await postWebhook(url(), valid(), { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status).toBe(401);
    const bad = await postWebhook(url(), '{"version": "4", "alerts": [', auth);
    expect(bad).toMatchObject({ status: 400 });
    expect(bad.text).toContain('malformed JSON');
    const notV4 = await postWebhook(url(), JSON.stringify({ ...JSON.parse(valid()), version: '3' }), auth);
    expect(notV4.status).toBe(400);
    expect(notV4.text).toContain('version');
    expect((await postWebhook(url(), JSON.stringify({ ...JSON.parse(valid()), alerts: [] }), auth)).status).toBe(400);
    const huge = Buffer.alloc(5 * 1024 * 1024, 'a');
    expect((await postWebhook(url(), huge, auth)).status).toBe(413);
    expect((await postWebhook(url(), huge)).status).toBe(401);
    // Nothing reached the channel, and the token is in no log line.
    await new Promise((r) => setTimeout(r, 300));
    expect(channelWrites(h.double).length).toBe(before);
    expect(alertMessages(h.double)).toHaveLength(0);
    expect(h.logs.some((l) => l.includes(TOKEN))).toBe(false);
    expect(h.logs.some((l) => l.includes('webhook refused: its Authorization header is missing or wrong'))).toBe(true);
  });

  it('labels with mentions and markdown are shown inert, ping nobody, and get no button for a hostile service', async () => {
    const hostile = amAlert(
      { alertname: 'ServiceDown', job: '@everyone', instance: '<@123456789012345678>', team: '**bold** [click](http://evil.example) `x`' },
      { annotations: { summary: '@here wake up <@&987654321098765432>', description: '# big\n> quote\n```js\nboom()\n```' } },
    );
    const res = await postWebhook(url(), JSON.stringify(amWebhook([hostile], { alertname: 'ServiceDown', job: '@everyone' })), auth);
    expect(res.status).toBe(200);
    const [msg] = alertMessages(h.double);
    expect(msg).toBeDefined();
    const text = textOf(msg!);
    expect(text).not.toMatch(/@everyone|@here|<@\d|<@&\d/);
    expect(text).toContain('\\*\\*bold\\*\\*');
    expect(text).toContain('\\[click\\]');
    expect(text).not.toContain('```');
    // Every write to a channel disabled mentions, and none had a mention in its plain content.
    for (const w of channelWrites(h.double)) {
      expect(w.body.allowed_mentions).toEqual({ parse: [] });
      expect(String(w.body.content ?? '')).not.toMatch(/@everyone|@here|<@/);
    }
    // `@everyone` is no compose service: the restart runbook refused the offer, so no button for it.
    expect(buttonsOf(msg!).filter((b) => /restart/.test(b.label ?? ''))).toEqual([]);
    expect(h.logs.some((l) => l.includes('the runbook refused the offer'))).toBe(true);
  });
  it('after a restart the bot still edits the same message when the group resolves', async () => {
    const firing = amAlert({ alertname: 'DiskFull', job: 'mongo' });
    expect((await postWebhook(url(), JSON.stringify(amWebhook([firing], { alertname: 'DiskFull' })), auth)).status).toBe(200);
    const posted = alertMessages(h.double).find((m) => /Firing: DiskFull/.test(m.embeds?.[0]?.title ?? ''));
    expect(posted).toBeDefined();
    await h.restartBot();
    const resolved = { ...firing, status: 'resolved' as const, endsAt: '2026-11-29T22:30:00Z' };
    expect((await postWebhook(url(), JSON.stringify(amWebhook([resolved], { alertname: 'DiskFull' })), auth)).status).toBe(200);
    const now = h.double.message(posted!.id);
    expect(now?.embeds?.[0]?.title).toMatch(/Resolved: DiskFull/);
    expect(alertMessages(h.double).filter((m) => /DiskFull/.test(m.embeds?.[0]?.title ?? ''))).toHaveLength(1);
  });

  it('a post that reached Discord but whose answer was lost shows once: across retries, and after a restart that lost what the bot stored', async () => {
    const firing = amAlert({ alertname: 'CertExpiring', job: 'reverse-proxy' });
    const body = (a = firing) => JSON.stringify(amWebhook([a], { alertname: 'CertExpiring' }));
    const mine = () => alertMessages(h.double).filter((m) => /CertExpiring/.test(m.embeds?.[0]?.title ?? ''));
    const posts = () => channelWrites(h.double).filter((w) => w.method === 'POST').length;
    const before = posts();
    // The first two attempts create the message, then their answers are lost (a 502 from a proxy).
    const lost = h.double.failRest({ method: 'POST', path: /^\/channels\/\d+\/messages$/, status: 502, afterHandling: true, times: 2 });
    expect((await postWebhook(url(), body(), auth)).status).toBe(200);
    expect(lost.hits).toBe(2);
    expect(posts() - before).toBe(3);
    expect(mine()).toHaveLength(1);
    const [shown] = mine();

    // What a bot stopped between posting and storing leaves behind: the message, and no record of
    // it. Alertmanager resends the group (it never got a 200); the restarted bot posts the same
    // incident again, and Discord hands back the message it has.
    const db = new BetterSqlite3(h.config.database.path);
    try {
      expect(db.prepare('DELETE FROM alert_groups').run().changes).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    await h.restartBot();
    expect((await postWebhook(url(), body(), auth)).status).toBe(200);
    expect(mine().map((m) => m.id)).toEqual([shown!.id]);
    // It stored that message: the resolution edits it.
    expect((await postWebhook(url(), body({ ...firing, status: 'resolved', endsAt: '2026-11-29T22:30:00Z' }), auth)).status).toBe(200);
    expect(h.double.message(shown!.id)?.embeds?.[0]?.title).toMatch(/Resolved: CertExpiring/);
    expect(mine()).toHaveLength(1);
  });
});

describe('Alertmanager webhook: a burst', () => {
  const h = useBot({ alertmanagerToken: TOKEN });

  it('100 alerts at once in 4 groups, each webhook resent 5 times: one message per group, then one edit each', async () => {
    // Discord answers one post with 429 first: the bot waits and retries, losing nothing.
    const limited = h.double.failRest({ method: 'POST', path: /^\/channels\/\d+\/messages$/, status: 429, retryAfterMs: 500, times: 1 });
    const jobs = ['adonisjs', 'nextjs', 'mongo', 'reverse-proxy'];
    const groups = jobs.map((job) => ({ job, alerts: Array.from({ length: 25 }, (_, i) => amAlert({ alertname: 'HighLatency', job, instance: `10.0.0.${i}:9100` })) }));
    const send = async (bodies: string[]) => {
      const answers = await Promise.all(bodies.map((b) => postWebhook(h.app.http.url, b, auth)));
      expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));
    };
    // Wave 1: what Alertmanager sends after group_wait (one webhook per group), each also resent 5 times, all at once.
    await send(groups.flatMap((g) => Array.from({ length: 6 }, () => JSON.stringify(amWebhook(g.alerts, { alertname: 'HighLatency', job: g.job })))));
    expect(limited.hits).toBe(1);
    let msgs = alertMessages(h.double);
    expect(msgs).toHaveLength(4);
    for (const g of jobs) {
      const mine = msgs.filter((m) => textOf(m).includes(`job=${g.replace(/-/g, '\\-')}`));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.embeds?.[0]?.title).toContain('(25 firing)');
    }
    let writes = channelWrites(h.double);
    expect(writes.filter((w) => w.method === 'POST')).toHaveLength(4 + 1); // the 429'd attempt is recorded too
    expect(writes.filter((w) => w.method === 'PATCH')).toHaveLength(0);

    // Wave 2: 10 alerts of each group resolve; again 6 copies of each webhook at once: one edit per group.
    const resolved = groups.map((g) => ({ ...g, alerts: g.alerts.map((a, i) => (i < 10 ? { ...a, status: 'resolved' as const, endsAt: '2026-11-29T22:10:00Z' } : a)) }));
    await send(resolved.flatMap((g) => Array.from({ length: 6 }, () => JSON.stringify(amWebhook(g.alerts, { alertname: 'HighLatency', job: g.job })))));
    writes = channelWrites(h.double);
    expect(writes.filter((w) => w.method === 'POST')).toHaveLength(5);
    expect(writes.filter((w) => w.method === 'PATCH')).toHaveLength(4);
    msgs = alertMessages(h.double);
    expect(msgs).toHaveLength(4);
    expect(msgs.every((m) => (m.embeds?.[0]?.title ?? '').includes('(15 firing, 10 resolved)'))).toBe(true);
    // A later resend of what is shown changes nothing.
    await send([JSON.stringify(amWebhook(resolved[0]!.alerts, { alertname: 'HighLatency', job: resolved[0]!.job }))]);
    expect(channelWrites(h.double)).toHaveLength(writes.length);
  });
});
