import { afterAll, describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, hostCompose, serviceStates } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, isEphemeral, mutatingCommands, textOf } from './util.js';

/** Running containers of a service on the staging host (Docker's view, not the bot's). */
const runningOf = async (service: string) => {
  const s = (await serviceStates())[service];
  return s?.state === 'running' ? s.containers : 0;
};

// mongo binds no port: with host networking a second container of a port-binding service dies.
const SCALE = 'docker-compose -f docker/compose.prod.yml up -d --no-deps --no-recreate --scale';

describe('/runbook: generated subcommands, list, help, health and high-usage', () => {
  const h = useBot();
  afterAll(async () => {
    // Whatever a failed assertion left behind, the next suite expects one container per service.
    if ((await runningOf('mongo')) !== 1) await hostCompose(['up', '-d', '--no-deps', '--no-recreate', '--scale', 'mongo=1', 'mongo']);
  });

  const ask = (subcommand: string, options: Record<string, string | number> = {}, member = 'viewer') =>
    h.double.sendCommand({ name: 'runbook', subcommand, options, member, channel: 'alerts' });

  it('list names every runbook with who may run it; help shows steps, which change the host, and the seed section', async () => {
    const list = textOf(await ask('list').waitForReply());
    expect(list).toMatch(/`health` — .* · \*viewer\*/);
    expect(list).toMatch(/`high-usage` — .* · \*operator\*/);
    expect(list).toMatch(/`restart` — /);
    const help = textOf(await ask('help', { runbook: 'high-usage' }).waitForReply());
    expect(help).toContain('Seed section:** Handle High CPU/Memory Usage');
    expect(help).toMatch(/4\. Scale up \(temporary mitigation\) — \*\*changes the host\*\*/);
    expect(help).toMatch(/1\. Container stats — read-only/);
    expect(help).toMatch(/Escalation[\s\S]*senior engineer/);
  });

  it("autocompletes a runbook's service params from the host; /restart (its alias) still does too", async () => {
    const sub = await h.double.sendAutocomplete({ name: 'runbook', subcommand: 'high-usage', options: { service: 'mo' }, focused: 'service', member: 'operator', channel: 'alerts' });
    expect((await sub.waitForChoices()).map((c) => c.value)).toEqual(['mongo']);
    const alias = await h.double.sendAutocomplete({ name: 'restart', options: { service: 'ne' }, focused: 'service', member: 'operator', channel: 'alerts' });
    expect((await alias.waitForChoices()).map((c) => c.value)).toEqual(['nextjs']);
  });

  it('health reports states, log errors, health URLs and says Prometheus is not configured; it changes nothing', async () => {
    const mark = await commandsLogMark();
    const reply = await ask('health', { lines: 50 }).waitForReply((m) => /Prometheus alerts/.test(textOf(m)), { timeoutMs: 60_000 });
    const body = textOf(reply);
    expect(body).toMatch(/✅ \*\*Service states\*\* — all 5 running/);
    expect(body).toMatch(/✅ \*\*Errors in recent logs\*\* — .*(no error lines in the last 50 lines of 5 containers|⚠️)/);
    expect(body).toMatch(/✅ adonisjs http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/);
    expect(body).toMatch(/Prometheus alerts\*\* — skipped: no prometheusUrl configured/);
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
  });

  it('high-usage is refused to a viewer before anything runs', async () => {
    const mark = await commandsLogMark();
    const reply = await ask('high-usage', { service: 'mongo', replicas: 2 }, 'viewer').waitForReply();
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toBe(`You need the <@&${h.double.roles.operator}> role (or above) for this. Nothing was run.`);
    expect(await commandsLogSince(mark)).toEqual([]);
  });

  it('high-usage scales mongo to 2 only after Confirm, then Roll back returns it to the recorded 1', async () => {
    expect(await runningOf('mongo')).toBe(1);
    const gate = await ask('high-usage', { service: 'mongo', replicas: 2 }, 'operator').waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 60_000 });
    const shown = textOf(gate);
    expect(shown).toContain(`${SCALE} mongo=2 mongo`);
    expect(shown).toMatch(/✅ \*\*Container stats\*\* — 1 container/);
    expect(shown).toMatch(/✅ \*\*Processes\*\*/);
    expect(shown).toMatch(/✅ \*\*Last 200 log lines\*\*/);
    expect(await runningOf('mongo')).toBe(1);

    // A viewer's click is refused and scales nothing.
    const refused = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'viewer' });
    expect((await refused.waitForReply()).content).toMatch(/Only members with the operator role can confirm this/);
    expect(await runningOf('mongo')).toBe(1);

    const confirm = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await confirm.waitForUpdate((m) => /[✅❌] \*\*Scale up/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Scale up \(temporary mitigation\)\*\* — 2 containers running/);
    expect(await runningOf('mongo')).toBe(2);
    expect(buttonsOf(done).map((b) => b.label)).toEqual(expect.arrayContaining(['Roll back', 'Logs']));

    const mark = await commandsLogMark();
    const rollback = await h.double.clickButton({ message: done, customId: buttonId(done, 'Roll back'), member: 'operator' });
    const rbGate = await rollback.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    expect(textOf(rbGate)).toContain(`${SCALE} mongo=1 mongo`);
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(await runningOf('mongo')).toBe(2);
    const rbConfirm = await h.double.clickButton({ message: rbGate, customId: buttonId(rbGate, 'Confirm'), member: 'operator' });
    const back = await rbConfirm.waitForUpdate((m) => /[✅❌] \*\*Scale back/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(back)).toMatch(/✅ \*\*Scale back to the count recorded before\*\* — 1 container running/);
    expect(await runningOf('mongo')).toBe(1);
    expect((await commandsLogSince(mark)).filter((l) => l.includes('--scale'))).toHaveLength(1);
  });
});
