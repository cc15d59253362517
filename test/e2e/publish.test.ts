import { describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, isEphemeral, mutatingCommands, textOf } from './util.js';

/**
 * Unprompted posts (the report, alerts) and the runbooks they offer: the post lands in #alerts,
 * pings nobody, loses nothing to a size limit, can be edited in place, and its button starts the
 * runbook through the same role check and gate as the command would.
 */
describe('posts to #alerts with offered runbooks', () => {
  const h = useBot();

  it('a post offers a runbook; a viewer is refused, an operator gets its gate, and the run says where it came from', async () => {
    const offer = h.app.engine.offer({ runbook: 'restart', host: 'staging', params: { service: 'nextjs' }, label: 'Restart nextjs', origin: 'alert NextjsDown' });
    const ref = await h.app.publisher.post({ title: 'NextjsDown @everyone', tone: 'fail', description: 'nextjs is down <@&123456789012345678>', fields: [{ name: 'service', value: 'nextjs' }], actions: [offer] });
    const message = h.double.message(ref.split('/')[1]!)!;
    expect(message.channel_id).toBe(h.double.channels.alerts);
    expect(textOf(message)).toContain('nextjs is down');
    // Nobody is notified, whatever the text says.
    const sent = h.double.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/channels/${h.double.channels.alerts}/messages`)).at(-1);
    expect((sent?.body as { allowed_mentions?: { parse?: unknown[] } }).allowed_mentions?.parse).toEqual([]);

    const mark = await commandsLogMark();
    const refused = await h.double.clickButton({ message, customId: buttonId(message, 'Restart nextjs'), member: 'viewer' }).waitForReply();
    expect(isEphemeral(refused)).toBe(true);
    expect(textOf(refused)).toContain(`You need the <@&${h.double.roles.operator}> role`);

    const preview = await h.double.clickButton({ message, customId: buttonId(message, 'Restart nextjs'), member: 'operator' }).waitForReply((m) => buttonsOf(m).length > 0);
    expect(textOf(preview)).toContain('Started from alert NextjsDown');
    expect(textOf(preview)).toMatch(/restart nextjs/);
    expect(buttonsOf(preview).map((b) => b.label)).toContain('Confirm');
    // A preview only: nothing that changes the host ran before Confirm.
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    const cancel = await h.double.clickButton({ message: preview, customId: buttonId(preview, 'Cancel'), member: 'operator' }).waitForUpdate();
    expect(textOf(cancel)).toMatch(/cancel/i);
  });

  it('an edit replaces the post in place; text over the limits is attached whole', async () => {
    const ref = await h.app.publisher.post({ title: 'Group A', tone: 'fail', description: 'firing', fields: [], actions: [] });
    const before = h.double.channelMessages('alerts').length;
    const long = Array.from({ length: 400 }, (_, n) => `line ${n} of a long finding`).join('\n');
    await h.app.publisher.edit(ref, { title: 'Group A', tone: 'ok', description: long, fields: [], actions: [] });
    expect(h.double.channelMessages('alerts').length).toBe(before);
    const edited = h.double.message(ref.split('/')[1]!)!;
    expect(edited.embeds?.[0]?.color).toBe(0x2ecc71);
    expect(edited.content).toMatch(/full text is attached/);
    const file = h.double.file(edited.attachments[0]!)!;
    expect(file.text()).toContain('line 399 of a long finding');
  });

  it('an offer with params its runbook refuses is not made', () => {
    expect(() => h.app.engine.offer({ runbook: 'restart', host: 'staging', params: { service: 'x; rm -rf /' }, label: 'bad' })).toThrow(/Invalid input/);
    expect(() => h.app.engine.offer({ runbook: 'no-such', host: 'staging', params: {}, label: 'bad' })).toThrow(/no runbook/);
  });
});
