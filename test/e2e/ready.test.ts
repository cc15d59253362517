import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { restRoutes } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, isEphemeral, mutatingCommands, textOf } from './util.js';

const finished = (m: Parameters<typeof textOf>[0]) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m));

describe('every interaction from READY on is answered, also while the bot starts or stops', () => {
  const h = useBot();

  async function gateFor(service: string) {
    const handle = await h.double.sendCommand({ name: 'restart', options: { service }, member: 'operator', channel: 'alerts' });
    return handle.waitForReply((m) => buttonsOf(m).length > 0);
  }

  /** Restarts the bot, holding its command registration back: `during` runs after READY, before the bot is ready. */
  async function restartHeldAt(during: () => Promise<void>): Promise<void> {
    const hold = h.double.holdRest(restRoutes.guildCommandsPut);
    const restarted = h.restartBot();
    try {
      await hold.arrived;
      await during();
    } finally {
      hold.release();
      await restarted;
    }
  }

  it('a slash command and a Confirm sent before the commands are registered run once the bot is ready', async () => {
    const gate = await gateFor('adonisjs');
    let ps!: ReturnType<typeof h.double.sendCommand>;
    let click!: ReturnType<typeof h.double.clickButton>;
    await restartHeldAt(async () => {
      ps = h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' });
      click = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
      await sleep(500);
    });
    expect(textOf(await ps.waitForReply())).toMatch(/adonisjs/);
    expect((await ps.acknowledged()).latencyMs).toBeLessThan(3000);
    const done = await click.waitForUpdate(finished, { timeoutMs: 90_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Restart\*\*/);
  });

  it('says "starting" within Discord\'s 3 s when the bot is not ready after 2 s, and runs nothing', async () => {
    const gate = await gateFor('nextjs');
    const mark = await commandsLogMark();
    await restartHeldAt(async () => {
      const cmd = h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member: 'operator', channel: 'alerts' });
      const click = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
      for (const handle of [cmd, click]) {
        const reply = await handle.waitForReply(undefined, { timeoutMs: 5000 });
        expect(isEphemeral(reply)).toBe(true);
        expect(reply.content).toBe('opsbot is starting, try again in a few seconds; nothing was run.');
        expect((await handle.acknowledged()).latencyMs).toBeLessThan(3000);
      }
    });
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    // The gate is still open: the click did nothing, and works now.
    const cancel = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'operator' });
    expect(textOf(await cancel.waitForUpdate())).toMatch(/cancelled/i);
  });

  it('while stopping, a click is answered "restarting" and runs nothing', async () => {
    const gate = await gateFor('nextjs');
    const runId = /run (r[\w-]+)/.exec(textOf(gate))![1]!;
    h.app.discord.pause();
    const click = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const reply = await click.waitForReply();
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toBe('opsbot is restarting; nothing was run, try again in a minute.');
    expect(h.app.store.getRun(runId)?.status).toBe('awaiting_confirmation');
    await h.restartBot();
    const cancel = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'operator' });
    expect(textOf(await cancel.waitForUpdate())).toMatch(/cancelled/i);
  });
});
