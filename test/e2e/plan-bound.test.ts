import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, readStaging } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, isEphemeral, textOf } from './util.js';

/**
 * A Confirm is bound to what its preview showed: when the compose file changes between the
 * preview and the click, nothing runs and a fresh preview is offered (or, when the service is
 * gone, the run ends saying so).
 */
describe('a confirmation bound to its preview', () => {
  const h = useBot();
  const composeFile = () => join(readStaging().projectDir, readStaging().composeFiles[0]!);
  let original: string | undefined;
  const editCompose = (edit: (text: string) => string) => {
    original ??= readFileSync(composeFile(), 'utf8');
    writeFileSync(composeFile(), edit(original));
  };
  afterEach(() => {
    if (original !== undefined) writeFileSync(composeFile(), original);
    original = undefined;
  });
  const restarts = (lines: string[], service: string) => lines.filter((l) => new RegExp(`compose.*\\brestart\\b.*${service}`).test(l));

  async function preview(service: string) {
    const handle = h.double.sendCommand({ name: 'restart', options: { service }, member: 'operator', channel: 'alerts' });
    return handle.waitForReply((m) => buttonsOf(m).length > 0);
  }

  it('a changed service definition withdraws the confirmation, runs nothing, and offers a fresh preview', async () => {
    const gate = await preview('nextjs');
    const mark = await commandsLogMark();
    editCompose((t) => t.replace('  nextjs:\n    <<: *service\n', '  nextjs:\n    <<: *service\n    stop_grace_period: 3s\n'));
    const shownId = buttonId(gate, 'Confirm');
    const click = h.double.clickButton({ message: gate, customId: shownId, member: 'operator' });
    const fresh = await click.waitForUpdate((m) => /withdrawn/.test(textOf(m)), { timeoutMs: 30_000 });
    expect(textOf(fresh)).toMatch(/The confirmation was withdrawn: the compose definition of nextjs changed since the preview .*; nothing was run/);
    expect(restarts(await commandsLogSince(mark), 'nextjs')).toEqual([]);

    // The fresh preview's Confirm (a new fingerprint) runs what it shows. (An old button is
    // refused by its fingerprint: test/unit/engine.test.ts; Discord offers no click on a button
    // that is no longer on the message.)
    expect(buttonId(fresh, 'Confirm')).not.toBe(shownId);
    const confirm = h.double.clickButton({ message: fresh, customId: buttonId(fresh, 'Confirm'), member: 'operator' });
    const done = await confirm.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Restart\*\*/);
    expect(restarts(await commandsLogSince(mark), 'nextjs')).toHaveLength(1);
  });

  it('a service removed from the compose file after the preview ends the run, and nothing runs', async () => {
    const gate = await preview('watchtower');
    const mark = await commandsLogMark();
    editCompose((t) => t.slice(0, t.indexOf('  watchtower:\n')));
    const click = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    // The clicker is told why; the message shows the run failed, with no live Confirm left.
    const notice = await click.waitForFollowup((m) => /no compose service/.test(textOf(m)), { timeoutMs: 30_000 });
    expect(isEphemeral(notice)).toBe(true);
    expect(textOf(notice)).toMatch(/has no compose service "watchtower".*Nothing was run/s);
    const ended = await click.waitForUpdate((m) => /Failed/.test(textOf(m)), { timeoutMs: 30_000 });
    expect(textOf(ended)).toMatch(/has no compose service "watchtower"/);
    // No live Confirm, and no Roll back either: nothing changed on the host.
    expect(buttonsOf(ended).map((b) => b.label)).not.toContain('Confirm');
    expect(buttonsOf(ended).map((b) => b.label)).not.toContain('Roll back');
    expect(restarts(await commandsLogSince(mark), 'watchtower')).toEqual([]);
  });
});
