import { describe, expect, it } from 'vitest';
import { newId } from '../../src/store/store.js';
import { useBot } from './suite.js';
import { buttonsOf } from './util.js';

describe('/audit', () => {
  const h = useBot();

  it('count:25 shows 25 runs on one page, even the longest lines (no pager whose ▶ finds nothing)', async () => {
    // The longest lines the listing meets: 32-character usernames, long parameters, a second person.
    for (let n = 0; n < 25; n++) {
      const id = newId('r');
      h.app.store.createRun({
        id,
        runbook: 'logs',
        host: 'staging',
        params: JSON.stringify({ service: `s${'a'.repeat(62)}`, since: '2026-11-23T09:00:00Z', lines: 10_000 }),
        requested_by: '100000000000000001',
        requested_by_name: 'u'.repeat(32),
        channel_id: null,
        status: 'running',
        target_key: null,
        created_at: Date.now(),
      });
      h.app.store.setRunStatus(id, 'succeeded');
    }
    // And real runs, newest of all.
    for (let n = 0; n < 3; n++) await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' }).waitForReply();
    const audit = h.double.sendCommand({ name: 'audit', options: { count: 25 }, member: 'viewer', channel: 'alerts' });
    const msg = await audit.waitForReply((m) => m.embeds.length > 1);
    expect(buttonsOf(msg)).toEqual([]);
    expect(msg.attachments).toEqual([]);
    const listing = msg.embeds[1]?.description ?? '';
    expect(listing.match(/ r[\w-]{8} /g)).toHaveLength(25);
    expect(listing.match(/ ps +succeeded/g)).toHaveLength(3);
    expect(listing).toMatch(/u{32} logs service=sa+… *\n/);
  });
});
