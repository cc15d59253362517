import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, containerStartedAt, resetStaging } from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { isEphemeral } from './util.js';

const HOSTILE = [
  'adonisjs; docker rm -f $(docker ps -aq)',
  'adonisjs && touch /tmp/pwned',
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  'adonisjs\ntouch /tmp/pwned',
  `adonisjs' || 'x`,
  'adonisjs" || "x',
  '--help',
  '-f /etc/passwd',
  '../../etc/passwd',
  'аdonisjs', // Cyrillic а
  'ａｄｏｎｉｓｊｓ',
  'x'.repeat(10_000),
];

describe('hostile input gets a clear error and runs nothing on the host', () => {
  let h: Harness;
  const startedAt: Record<string, string> = {};
  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
    for (const s of ['adonisjs', 'nextjs']) startedAt[s] = await containerStartedAt(s);
  });
  afterAll(async () => {
    for (const s of ['adonisjs', 'nextjs']) expect(await containerStartedAt(s)).toBe(startedAt[s]);
    await h?.stop();
  });
  afterEach(() => expect(h.double.violations).toEqual([]));

  const cases: [string, Record<string, string | number>][] = [
    ...HOSTILE.map((v): [string, Record<string, string | number>] => ['restart', { service: v }]),
    ...HOSTILE.map((v): [string, Record<string, string | number>] => ['logs', { service: v }]),
    ...HOSTILE.map((v): [string, Record<string, string | number>] => ['logs', { service: 'adonisjs', since: v }]),
    // Well-formed but not real dates: once an "Internal error" from the date parser.
    ...['2026-99-99', '2026-02-30', '2026-11-23T24:00Z'].map((v): [string, Record<string, string | number>] => ['logs', { service: 'adonisjs', since: v }]),
    ...HOSTILE.map((v): [string, Record<string, string | number>] => ['top', { service: v }]),
    ...HOSTILE.map((v): [string, Record<string, string | number>] => ['audit', { run: v }]),
  ];

  it.each(cases.map(([cmd, opts]) => [`/${cmd} ${JSON.stringify(opts).slice(0, 60)}`, cmd, opts] as const))('%s', async (_label, name, options) => {
    const mark = await commandsLogMark();
    const handle = await h.double.sendCommand({ name, options, member: 'operator', channel: 'alerts' });
    // Answered at once, to the asker alone: no public "thinking…" first.
    const reply = await handle.waitForReply();
    expect((await handle.acknowledged()).type).toBe(4);
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toMatch(/Invalid input|must be|Nothing was run/);
    expect(reply.content!.length).toBeLessThanOrEqual(2000);
    expect(await commandsLogSince(mark)).toEqual([]);
  });

  it('a well-formed but unknown service names the services that exist', async () => {
    const handle = await h.double.sendCommand({ name: 'restart', options: { service: 'postgres' }, member: 'operator', channel: 'alerts' });
    const reply = await handle.waitForFollowup();
    expect(reply.content).toMatch(/has no compose service "postgres".*adonisjs.*watchtower/s);
  });
});
