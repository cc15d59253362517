import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, containerStartedAt } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, isEphemeral, textOf } from './util.js';

const restartLines = (lines: string[]) => lines.filter((l) => /compose.*\brestart\b.*adonisjs/.test(l));

describe('/restart with a role-gated confirmation', () => {
  const h = useBot();

  async function requestRestart(member = 'operator') {
    const handle = await h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member, channel: 'alerts' });
    const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
    return { handle, gate };
  }

  it("an operator's Confirm restarts the container and reports the verification", async () => {
    const before = await containerStartedAt('adonisjs');
    const { gate } = await requestRestart();
    expect(textOf(gate)).toContain('docker-compose -f docker/compose.prod.yml restart adonisjs');
    expect(await containerStartedAt('adonisjs')).toBe(before);
    const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await click.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(await containerStartedAt('adonisjs')).not.toBe(before);
    const body = textOf(done);
    expect(body).toMatch(/✅ \*\*Restart\*\*/);
    expect(body).toMatch(/✅ \*\*Verify\*\* — healthy/);
    expect(body).toMatch(/HTTP 200/);
    expect(body).toMatch(/last 20 log lines/);
    expect(buttonsOf(done).map((b) => b.label)).toContain('Logs');

    // The audit log tells who asked, who confirmed, and each command with its exit code.
    const runId = /run (r[\w-]+)/.exec(textOf(done))![1]!;
    const audit = h.double.sendCommand({ name: 'audit', options: { run: runId }, member: 'viewer', channel: 'alerts' });
    const record = textOf(await audit.waitForReply((m) => m.embeds.length > 1));
    expect(record).toMatch(new RegExp(`Requested by <@${h.double.members.operator.id}> \\(\`operator\`\\) · confirmed by <@${h.double.members.operator.id}>`));
    expect(record).toMatch(/\$ docker-compose -f docker\/compose.prod.yml restart adonisjs {4}→ exit 0, \d+ ms/);
    expect(record).toMatch(/operator pressed confirm at step 2: accepted/);
    expect(record).toMatch(/curl -sS -o \/dev\/null -w '%\{http_code\}' --max-time 5 http:\/\/127.0.0.1:3333\/health {4}→ exit 0/);
  });

  it('Cancel restarts nothing and disables the buttons', async () => {
    const before = await containerStartedAt('adonisjs');
    const mark = await commandsLogMark();
    const { gate } = await requestRestart();
    const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'operator' });
    const done = await click.waitForUpdate();
    expect(textOf(done)).toMatch(/cancelled/i);
    expect(buttonsOf(done).every((b) => b.disabled === true)).toBe(true);
    expect(restartLines(await commandsLogSince(mark))).toEqual([]);
    expect(await containerStartedAt('adonisjs')).toBe(before);
  });

  it("refuses a viewer's and a role-less member's click, and nothing restarts", async () => {
    const before = await containerStartedAt('adonisjs');
    const mark = await commandsLogMark();
    const { gate } = await requestRestart();
    for (const member of ['viewer', 'norole']) {
      const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member });
      const reply = await click.waitForReply();
      expect(isEphemeral(reply)).toBe(true);
      expect(reply.content).toMatch(/Only members with the operator role can confirm this/);
    }
    expect(restartLines(await commandsLogSince(mark))).toEqual([]);
    expect(await containerStartedAt('adonisjs')).toBe(before);
    const cancel = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'operator' });
    await cancel.waitForUpdate();
  });

  it('names people by id and username, not by the display name anyone can set; mentions ping nobody', async () => {
    const from = h.double.requests.length;
    const { operator, operator2 } = h.double.members;
    // operator2 (not an approver) calls themselves "Alice (approver)", as any member can.
    h.double.world.members.get(operator2.id)!.user.global_name = 'Alice (approver)';
    const { gate } = await requestRestart('operator2');
    expect(gate.embeds[0]?.description).toContain(`Requested by <@${operator2.id}> (\`operator2\`)`);
    const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'operator' });
    const done = await click.waitForUpdate();
    expect(done.embeds[0]?.description).toContain(`Requested by <@${operator2.id}> (\`operator2\`) · cancelled by <@${operator.id}> (\`operator\`)`);
    expect(done.embeds[0]?.footer?.text).toMatch(/requested by operator2 · cancelled by operator$/);
    const runId = /run (r[\w-]+)/.exec(textOf(done))![1]!;
    const row = h.app.store.getRun(runId)!;
    expect([row.requested_by, row.requested_by_name]).toEqual([operator2.id, 'operator2']);
    const list = await h.double.sendCommand({ name: 'audit', options: { count: 1 }, member: 'viewer', channel: 'alerts' });
    expect(textOf(await list.waitForReply((m) => m.embeds.length > 1))).toMatch(new RegExp(`${runId}  operator2 +restart service=adonisjs +cancelled .*✖operator`));
    const audit = await h.double.sendCommand({ name: 'audit', options: { run: runId }, member: 'viewer', channel: 'alerts' });
    const record = await audit.waitForReply((m) => m.embeds.length > 1);
    expect(record.embeds[0]?.description).toContain(`Requested by <@${operator2.id}> (\`operator2\`)`);
    expect(textOf(record)).toContain(`operator pressed cancel at step 2: accepted · user id ${operator.id}`);
    for (const m of [gate, done, record]) expect(textOf(m)).not.toContain('Alice');
    // Every message the bot sent or edited says: ping nobody.
    const sent = h.double.requests.slice(from).flatMap((r) => {
      const body = r.body as { type?: number; data?: Record<string, unknown> } & Record<string, unknown>;
      if (/\/callback$/.test(r.path)) return body.type === 4 || body.type === 7 ? [body.data ?? {}] : [];
      return ['POST', 'PATCH'].includes(r.method) && /^\/(webhooks|channels)\//.test(r.path) ? [body] : [];
    });
    expect(sent.length).toBeGreaterThan(3);
    for (const b of sent) expect(b.allowed_mentions, JSON.stringify(b).slice(0, 300)).toEqual({ parse: [] });
  });

  it('a second /restart of the same service says who is already running it', async () => {
    const { gate } = await requestRestart('operator');
    const second = await h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member: 'approver', channel: 'alerts' });
    const reply = await second.waitForFollowup();
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toMatch(/operator is already running restart on staging:service:adonisjs/);
    const cancel = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'operator' });
    await cancel.waitForUpdate();
  });

  it('a confirmation pending while the bot restarts still works afterwards', async () => {
    const before = await containerStartedAt('adonisjs');
    const { gate } = await requestRestart();
    await h.restartBot();
    const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    await click.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(await containerStartedAt('adonisjs')).not.toBe(before);
  });

  it('a bot stopped while a restart runs lets it finish and report before it goes', async () => {
    const before = await containerStartedAt('watchtower');
    const handle = h.double.sendCommand({ name: 'restart', options: { service: 'watchtower' }, member: 'operator', channel: 'alerts' });
    const wGate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
    const click = h.double.clickButton({ message: wGate, customId: buttonId(wGate, 'Confirm'), member: 'operator' });
    await click.acknowledged();
    await h.restartBot(); // watchtower takes ~2 s to stop: the stop waits for the run
    const done = await click.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 30_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Restart\*\*/);
    expect(await containerStartedAt('watchtower')).not.toBe(before);
    expect(h.app.store.recentRuns(5).find((r) => r.params.includes('watchtower'))?.status).toBe('succeeded');
  });

  it('ten concurrent Confirm clicks restart the service exactly once', async () => {
    const before = await containerStartedAt('adonisjs');
    const mark = await commandsLogMark();
    const { gate } = await requestRestart();
    const id = buttonId(gate, 'Confirm');
    const members = ['operator', 'operator2', 'approver', 'operator', 'operator2', 'approver', 'operator', 'operator2', 'approver', 'operator'];
    const clicks = await Promise.all(members.map((member) => h.double.clickButton({ message: gate, customId: id, member })));
    const acks = await Promise.all(clicks.map((c) => c.acknowledged()));
    expect(acks.filter((a) => a.type === 6)).toHaveLength(1); // one deferred update: the winner
    const refusals = await Promise.all(clicks.filter((_, n) => acks[n]!.type === 4).map((c) => c.waitForReply()));
    expect(refusals).toHaveLength(9);
    for (const r of refusals) expect(r.content).toMatch(/already confirmed/);
    await sleep(200);
    const winner = clicks[acks.findIndex((a) => a.type === 6)]!;
    await winner.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(restartLines(await commandsLogSince(mark))).toHaveLength(1);
    expect(await containerStartedAt('adonisjs')).not.toBe(before);
  });
});

describe('gates that expire, need four eyes, or outlive the bot process', () => {
  const h = useBot({ expiryMinutes: 0.05, fourEyes: true, sweepIntervalMs: 250 });

  it('an expired gate disables its buttons and refuses a late click; nothing restarts', async () => {
    const before = await containerStartedAt('adonisjs');
    const handle = await h.double.sendCommand({ name: 'restart', options: { service: 'nextjs' }, member: 'operator', channel: 'alerts' });
    const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
    const disabled = await handle.waitForReply((m) => buttonsOf(m).length > 0 && buttonsOf(m).every((b) => b.disabled === true), { timeoutMs: 10_000 });
    expect(textOf(disabled)).toMatch(/expired/i);
    const late = await h.double.clickButton({ message: gate, customId: buttonId(gate, /Approve|Confirm/), member: 'approver', force: true });
    const reply = await late.waitForReply();
    expect(isEphemeral(reply)).toBe(true);
    // What happened, when, and how to start again.
    expect(reply.content).toMatch(/^This confirmation expired at \d\d:\d\d UTC \(after 3 s\); nothing was run\. Start again with \/restart nextjs\.$/);
    expect(await containerStartedAt('adonisjs')).toBe(before);
  });

  it('refuses the requester approving their own four-eyes gate and a non-approver; an approver then confirms', async () => {
    const before = await containerStartedAt('nextjs');
    // The gate expires in 3 s here, so the clicks come at once.
    const handle = await h.double.sendCommand({ name: 'restart', options: { service: 'nextjs' }, member: 'operator', channel: 'alerts' });
    const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
    const id = buttonId(gate, /Approve/);
    const own = await h.double.clickButton({ message: gate, customId: id, member: 'operator' });
    expect((await own.waitForReply()).content).toMatch(/needs a second person/);
    const operatorOnly = await h.double.clickButton({ message: gate, customId: id, member: 'operator2' });
    expect((await operatorOnly.waitForReply()).content).toMatch(/approver role/);
    expect(await containerStartedAt('nextjs')).toBe(before);
    const approver = await h.double.clickButton({ message: gate, customId: id, member: 'approver' });
    const done = await approver.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(done)).toMatch(/confirmed by approver/);
    expect(await containerStartedAt('nextjs')).not.toBe(before);
  });
});
