import { describe, expect, it } from 'vitest';
import { useBot } from './suite.js';
import { textOf } from './util.js';

const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
const toBytes = (s: string) => {
  const m = /^([\d.]+)(B|KiB|MiB|GiB|TiB)$/.exec(s);
  return m ? Number(m[1]) * UNIT[m[2]!]! : NaN;
};

describe('/stats, /top and /audit', () => {
  const h = useBot();

  it('/stats reports every staging container with plausible numbers', async () => {
    const handle = await h.double.sendCommand({ name: 'stats', member: 'viewer', channel: 'alerts' });
    const msg = await handle.waitForReply((m) => m.embeds.length > 1, { timeoutMs: 30_000 });
    const table = msg.embeds[1]!.description!.replace(/^```\n|\n```$/g, '');
    const rows = table.split('\n').slice(1);
    for (const service of h.staging.services) {
      const row = rows.find((r) => r.includes(service));
      expect(row, `no row for ${service} in\n${table}`).toBeDefined();
      const cols = row!.split(/\s{2,}/);
      const cpu = Number(cols[1]!.replace('%', ''));
      expect(cpu).toBeGreaterThanOrEqual(0);
      expect(cpu).toBeLessThan(200 * 2);
      const [used, limit] = cols[2]!.split(' / ').map(toBytes);
      expect(used).toBeGreaterThan(0);
      expect(used).toBeLessThan(limit!);
      expect(Number(cols.at(-1))).toBeGreaterThanOrEqual(1);
    }
    expect(rows.at(-1)).toMatch(/^TOTAL/);
  });

  it('/top lists the processes inside a container', async () => {
    const handle = await h.double.sendCommand({ name: 'top', options: { service: 'adonisjs' }, member: 'viewer', channel: 'alerts' });
    const body = textOf(await handle.waitForReply((m) => m.embeds.length > 0));
    expect(body).toMatch(/PID/);
    expect(body).toMatch(/httpd/);
  });

  it('/audit lists recent runs with who, what, outcome and duration', async () => {
    const handle = await h.double.sendCommand({ name: 'audit', options: { count: 5 }, member: 'viewer', channel: 'alerts' });
    const body = textOf(await handle.waitForReply((m) => m.embeds.length > 0));
    expect(body).toMatch(/viewer\s+top service=adonisjs\s+succeeded/);
    expect(body).toMatch(/viewer\s+stats\s+succeeded/);
  });

  it('autocompletes service names from the host', async () => {
    const handle = await h.double.sendAutocomplete({ name: 'restart', options: { service: 'ad' }, focused: 'service', member: 'operator', channel: 'alerts' });
    const choices = await handle.waitForChoices();
    expect(choices.map((c) => c.value)).toEqual(['adonisjs']);
  });
});
