import { describe, expect, it } from 'vitest';
import type { DoubleMessage, InteractionHandle } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, containerStartedAt } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, finalAnswer, isEphemeral, mutatingCommands, textOf } from './util.js';

const SERVICES = ['adonisjs', 'nextjs', 'reverse-proxy', 'mongo', 'watchtower'];
const verified = (m: DoubleMessage) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m));


describe('mixed load', () => {
  const h = useBot();

  it('50 concurrent interactions (ps, stats, logs, restart previews) are all answered, within Discord rules', async () => {
    const mark = await commandsLogMark();
    const sent: { kind: string; service?: string; handle: InteractionHandle }[] = [];
    for (let n = 0; n < 50; n += 1) {
      const service = SERVICES[Math.floor(n / 5) % SERVICES.length]!;
      const slot = n % 5;
      if (slot === 0) sent.push({ kind: 'ps', handle: h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' }) });
      else if (slot === 1) sent.push({ kind: 'stats', handle: h.double.sendCommand({ name: 'stats', member: 'viewer', channel: 'alerts' }) });
      else if (slot === 2 || slot === 3) {
        sent.push({ kind: 'logs', service, handle: h.double.sendCommand({ name: 'logs', options: { service, lines: 20 }, member: 'viewer', channel: 'alerts' }) });
      } else {
        const member = ['operator', 'operator2', 'approver'][n % 3]!;
        sent.push({ kind: 'restart', service, handle: h.double.sendCommand({ name: 'restart', options: { service }, member, channel: 'alerts' }) });
      }
    }
    const answers = await Promise.all(sent.map(async (s) => ({ ...s, ack: await s.handle.acknowledged(), answer: await finalAnswer(s.handle, 120_000) })));
    for (const a of answers) expect(a.ack.latencyMs, `${a.kind} acknowledged late`).toBeLessThan(3000);

    for (const a of answers.filter((x) => x.kind === 'ps')) expect(textOf(a.answer)).toContain('all 5 services running');
    for (const a of answers.filter((x) => x.kind === 'stats')) expect(textOf(a.answer)).toMatch(/adonisjs/);
    for (const a of answers.filter((x) => x.kind === 'logs')) {
      expect(isEphemeral(a.answer)).toBe(false);
      expect(textOf(a.answer)).toContain(a.service!);
    }
    // Ten restart previews on five services: one gate per service, the other asker told who holds it.
    const restarts = answers.filter((x) => x.kind === 'restart');
    const gates = restarts.filter((a) => buttonsOf(a.answer).some((b) => b.label === 'Confirm'));
    const busy = restarts.filter((a) => !gates.includes(a));
    expect(gates.map((g) => g.service).sort()).toEqual([...SERVICES].sort());
    for (const b of busy) {
      expect(isEphemeral(b.answer)).toBe(true);
      expect(b.answer.content).toMatch(/is already running restart/);
    }
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);

    for (const g of gates) {
      const cancel = h.double.clickButton({ message: g.answer, customId: buttonId(g.answer, 'Cancel'), member: 'operator' });
      await cancel.waitForUpdate();
    }
  }, 180_000);

  it('20 concurrent Confirm clicks on one gate: exactly one runs, the 19 others are told so', async () => {
    const before = await containerStartedAt('adonisjs');
    const mark = await commandsLogMark();
    const request = h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member: 'operator', channel: 'alerts' });
    const gate = await request.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    const id = buttonId(gate, 'Confirm');
    const members = Array.from({ length: 20 }, (_, n) => ['operator', 'operator2', 'approver'][n % 3]!);
    const clicks = members.map((member) => h.double.clickButton({ message: gate, customId: id, member }));
    const acks = await Promise.all(clicks.map((c) => c.acknowledged()));
    expect(acks.filter((a) => a.type === 6)).toHaveLength(1);
    const losers = clicks.filter((_, n) => acks[n]!.type !== 6);
    const refusals = await Promise.all(losers.map((c) => c.waitForReply()));
    expect(refusals).toHaveLength(19);
    for (const r of refusals) {
      expect(isEphemeral(r)).toBe(true);
      expect(r.content).toMatch(/already confirmed/);
    }
    const winner = clicks[acks.findIndex((a) => a.type === 6)]!;
    await winner.waitForUpdate(verified, { timeoutMs: 90_000 });
    expect((await commandsLogSince(mark)).filter((l) => /compose.*\brestart\b.*adonisjs/.test(l))).toHaveLength(1);
    expect(await containerStartedAt('adonisjs')).not.toBe(before);
  }, 120_000);

});

/**
 * Three configured hosts. Staging is one machine, so the three names reach the same sshd and
 * engine: what this proves is the bot's side (a connection, caches and locks per host), not a
 * fleet (issue 10 brings real separate hosts).
 */
describe('10 runbooks at once on 3 configured hosts', () => {
  const h = useBot({ hostCount: 3 });

  it('each host gets its own connection and lookups, locks are per host, and a confirmed change runs once', async () => {
    const mark = await commandsLogMark();
    const hosts = ['staging', 'staging-2', 'staging-3'];
    const sent: { what: string; handle: InteractionHandle }[] = [
      ...hosts.map((host) => ({ what: `ps ${host}`, handle: h.double.sendCommand({ name: 'ps', options: { host }, member: 'viewer', channel: 'alerts' }) })),
      { what: 'stats staging', handle: h.double.sendCommand({ name: 'stats', options: { host: 'staging' }, member: 'viewer', channel: 'alerts' }) },
      { what: 'logs staging-2', handle: h.double.sendCommand({ name: 'logs', options: { service: 'mongo', lines: 20, host: 'staging-2' }, member: 'viewer', channel: 'alerts' }) },
      { what: 'top staging-3', handle: h.double.sendCommand({ name: 'top', options: { service: 'mongo', host: 'staging-3' }, member: 'viewer', channel: 'alerts' }) },
      { what: 'health staging-2', handle: h.double.sendCommand({ name: 'runbook', subcommand: 'health', options: { host: 'staging-2' }, member: 'viewer', channel: 'alerts' }) },
      ...hosts.map((host) => ({ what: `restart ${host}`, handle: h.double.sendCommand({ name: 'restart', options: { service: 'nextjs', host }, member: 'operator', channel: 'alerts' }) })),
    ];
    expect(sent).toHaveLength(10);
    const answers = await Promise.all(sent.map((s) => finalAnswer(s.handle, 120_000)));
    // A failed step shows ❌; the text of /logs and /top is the host's own (a service may well log
    // "failed"), so the check is on the bot's verdicts, not on words in the output.
    answers.forEach((m, n) => expect(textOf(m), sent[n]!.what).not.toMatch(/❌|went wrong|already running/i));
    // The same service on three hosts is three targets: three gates, none refused as locked.
    const gates = answers.slice(7);
    for (const g of gates) expect(buttonsOf(g).map((b) => b.label)).toContain('Confirm');
    const ran = await commandsLogSince(mark);
    // One compose probe and one configuration read per host, whatever arrived at once.
    expect(ran.filter((l) => /docker compose version/.test(l))).toHaveLength(3);
    expect(ran.filter((l) => /docker-compose .* config$/.test(l))).toHaveLength(3);
    expect(mutatingCommands(ran)).toEqual([]);

    // Confirm on one host only: exactly one restart reaches the (shared) machine.
    const before = await containerStartedAt('nextjs');
    const click = h.double.clickButton({ message: gates[1]!, customId: buttonId(gates[1]!, 'Confirm'), member: 'operator' });
    await click.waitForUpdate(verified, { timeoutMs: 90_000 });
    expect((await commandsLogSince(mark)).filter((l) => /compose.*\brestart\b.*nextjs/.test(l))).toHaveLength(1);
    expect(await containerStartedAt('nextjs')).not.toBe(before);
  }, 150_000);
});
