import { describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, hostCompose, resetStaging } from '../staging/staging.js';
import { startHarness } from './harness.js';
import { useBot } from './suite.js';
import { isEphemeral, textOf } from './util.js';

describe('/ps end to end (discord.js ↔ Discord double ↔ staging host over SSH)', () => {
  const h = useBot();

  it('registers its commands in the guild', () => {
    const names = h.double.commands().map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['ps', 'restart', 'stats', 'logs', 'top', 'audit']));
  });

  it('lists the five staging services with their real state for a viewer in #alerts', async () => {
    const handle = await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' });
    const msg = await handle.waitForReply();
    const body = textOf(msg);
    for (const s of h.staging.services) expect(body).toContain(s);
    expect(body).toContain('all 5 services running');
    expect(body).toMatch(/health: healthy/);
    const ack = await handle.acknowledged();
    expect(ack.latencyMs).toBeLessThan(3000);
  });

  it('reports a stopped container as stopped', async () => {
    await hostCompose(['stop', 'nextjs']);
    const handle = await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' });
    const body = textOf(await handle.waitForReply());
    expect(body).toMatch(/1 of 5 not running: nextjs/);
    expect(body).toMatch(/stopped \(exited\)/);
    await hostCompose(['start', 'nextjs']);
  });

  it('refuses /ps in #general, ephemerally, and runs nothing on the host', async () => {
    const mark = await commandsLogMark();
    const handle = await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'general' });
    const msg = await handle.waitForReply();
    expect(isEphemeral(msg)).toBe(true);
    expect(msg.content).toMatch(/only in <#\d+>/);
    expect(await commandsLogSince(mark)).toEqual([]);
  });

  it('refuses /ps for a member without roles, ephemerally, and runs nothing on the host', async () => {
    const mark = await commandsLogMark();
    const handle = await h.double.sendCommand({ name: 'ps', member: 'norole', channel: 'alerts' });
    const msg = await handle.waitForReply();
    expect(isEphemeral(msg)).toBe(true);
    expect(msg.content).toMatch(/You need the <@&\d+> role/);
    expect(await commandsLogSince(mark)).toEqual([]);
  });
});

describe('host-key pinning', () => {
  it('a wrong pinned fingerprint fails with a clear message and runs nothing', async () => {
    await resetStaging();
    const h = await startHarness({ hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` });
    try {
      const mark = await commandsLogMark();
      const handle = await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' });
      const body = textOf(await handle.waitForReply());
      expect(body).toMatch(/Refused to connect to host "staging".*host key is SHA256:.*configuration pins SHA256:A{43}/s);
      expect(body).toContain('Nothing was run');
      expect(await commandsLogSince(mark)).toEqual([]);
      expect(h.double.violations).toEqual([]);
    } finally {
      await h.stop();
    }
  });
});
