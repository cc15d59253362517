import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoubleMessage } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince } from '../staging/staging.js';
import { useBot } from './suite.js';
import { finalAnswer, isEphemeral, mutatingCommands, textOf } from './util.js';

/**
 * A fleet of four configured hosts: `staging` and `staging-2` reach the staging machine (one sshd
 * and engine under two names, as in load.test.ts), `staging-3` points at a loopback port nothing
 * listens on (dead: refused at once), and `staging-4` at a loopback port that accepts and never
 * speaks SSH (hung: the SSH handshake would wait 10 s). Groups: production = staging, staging-2,
 * staging-3; eu = staging, staging-4.
 */
let deadPort = 0;
let hung: Server | undefined;
const held: Socket[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  deadPort = await freePort();
  hung = createServer((socket) => {
    held.push(socket); // accepted, never answered: the SSH banner never comes
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => hung!.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => (hung ? hung.close(() => resolve()) : resolve()));
});

/** Long enough for a live host's /ps or report on a busy 2-core machine, short of SSH's own 10 s handshake limit. */
const HOST_TIMEOUT_S = 6;

describe('a fleet: read-only commands on a group or all, in parallel, one section per host', () => {
  const h = useBot({
    hostCount: 4,
    fleet: { concurrency: 4, hostTimeoutSeconds: HOST_TIMEOUT_S },
    hostConfig: (n) =>
      [
        { groups: ['production', 'eu'], labels: { region: 'eu-west' } },
        { groups: ['production'] },
        { groups: ['production'], port: deadPort },
        { groups: ['eu'], port: (hung!.address() as { port: number }).port },
      ][n] ?? {},
  });

  const ask = (name: string, options: Record<string, string | number>, member: 'viewer' | 'operator' = 'viewer', subcommand?: string) =>
    h.double.sendCommand({ name, ...(subcommand ? { subcommand } : {}), options, member, channel: 'alerts' });

  /** The embed field (section) of one host. */
  const section = (m: DoubleMessage, host: string) => (m.embeds?.[0]?.fields ?? []).find((f) => f.name.endsWith(` ${host}`));

  it('host: suggests all and the groups with their sizes, and hosts with groups and labels, also for a command that changes a host (a rollout)', async () => {
    const ps = await h.double.sendAutocomplete({ name: 'ps', options: { host: '' }, focused: 'host', member: 'viewer', channel: 'alerts' });
    expect(await ps.waitForChoices()).toEqual([
      { name: 'all (4 hosts)', value: 'all' },
      { name: 'production (3 hosts)', value: 'production' },
      { name: 'eu (2 hosts)', value: 'eu' },
      { name: 'staging · production, eu, region=eu-west', value: 'staging' },
      { name: 'staging-2 · production', value: 'staging-2' },
      { name: 'staging-3 · production', value: 'staging-3' },
      { name: 'staging-4 · eu', value: 'staging-4' },
    ]);
    const typed = await h.double.sendAutocomplete({ name: 'runbook', subcommand: 'health', options: { host: 'prod' }, focused: 'host', member: 'viewer', channel: 'alerts' });
    expect((await typed.waitForChoices()).map((c) => c.value)).toEqual(['production', 'staging', 'staging-2', 'staging-3']);
    const restart = await h.double.sendAutocomplete({ name: 'restart', options: { service: 'nextjs', host: '' }, focused: 'host', member: 'operator', channel: 'alerts' });
    expect((await restart.waitForChoices()).map((c) => c.value)).toEqual(['all', 'production', 'eu', 'staging', 'staging-2', 'staging-3', 'staging-4']);
  });

  it('/ps host:production: the two live hosts answer, the dead one is shown unreachable, the summary counts are right, each run is audited', async () => {
    const mark = await commandsLogMark();
    const answer = await finalAnswer(ask('ps', { host: 'production' }), 60_000);
    const text = textOf(answer);
    expect(isEphemeral(answer)).toBe(false);
    expect(answer.embeds?.[0]?.title).toBe('Compose services · group production (3 hosts)');
    expect(text).toContain('**2 ok · 0 failing · 1 unreachable**');
    expect(text).toMatch(/✅ `staging` ok/);
    expect(text).toMatch(/✅ `staging-2` ok/);
    expect(text).toMatch(/🔌 `staging-3` unreachable/);
    for (const host of ['staging', 'staging-2']) {
      const s = section(answer, host);
      expect(s?.name, host).toBe(`✅ ${host}`);
      expect(s?.value, host).toMatch(/all 5 services running/);
      expect(s?.value, host).toMatch(/\*\*adonisjs\*\*: 🟢 running/);
    }
    expect(section(answer, 'staging-3')?.value).toMatch(/Cannot connect to host "staging-3" \(deploy@127\.0\.0\.1:\d+\):.*ECONNREFUSED/);
    // One ordinary run per host, each in the audit log with its own outcome.
    const runs = h.app.store.recentRuns(3);
    expect(runs.map((r) => [r.runbook, r.host, r.status]).sort()).toEqual([
      ['ps', 'staging', 'succeeded'],
      ['ps', 'staging-2', 'succeeded'],
      ['ps', 'staging-3', 'failed'],
    ]);
    for (const r of runs) expect(text).toContain(r.id);
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
  }, 90_000);

  it('/ps host:all: a hung host is shown as timed out after its per-host timeout and holds nobody back', async () => {
    const started = Date.now();
    const answer = await finalAnswer(ask('ps', { host: 'all' }), 60_000);
    const took = Date.now() - started;
    const text = textOf(answer);
    expect(text).toContain('**2 ok · 0 failing · 2 unreachable** (1 timed out)');
    expect(text).toMatch(new RegExp(`⌛ \`staging-4\` no answer within ${HOST_TIMEOUT_S} s`));
    expect(section(answer, 'staging-4')?.value).toMatch(new RegExp(`no answer within ${HOST_TIMEOUT_S} s; its run goes on \\(/audit run:r[A-Za-z0-9_-]{8}\\)`));
    expect(section(answer, 'staging')?.value).toMatch(/all 5 services running/);
    expect(section(answer, 'staging-3')?.value).toMatch(/ECONNREFUSED/);
    // The answer waited for the timeout, not for SSH's own 10 s handshake limit on the hung host.
    expect(took).toBeGreaterThanOrEqual(HOST_TIMEOUT_S * 1000);
    expect(took).toBeLessThan(9_500);
  }, 90_000);

  it('/report host:eu: the hosts are read in parallel; the hung one is reported unreachable after its timeout and holds the other back no longer', async () => {
    const started = Date.now();
    const answer = await finalAnswer(ask('report', { host: 'eu' }), 60_000);
    const took = Date.now() - started;
    const text = textOf(answer);
    expect(text).toMatch(/\*\*staging\*\*: (✅|⚠️|🔴)/);
    expect(text).toMatch(/\*\*staging-4\*\*: 🔴/);
    expect(took).toBeLessThan(9_500);
    const posted = h.double.channelMessages('alerts').filter((m) => (m.embeds?.[0]?.title ?? '').includes('Health report · staging-4'));
    expect(posted.length).toBeGreaterThan(0);
    expect(textOf(posted.at(-1)!)).toMatch(new RegExp(`no answer within ${HOST_TIMEOUT_S} s \\(its report run r[A-Za-z0-9_-]{8} goes on`));
    // Posted in configuration order: staging's report before staging-4's.
    const titles = h.double.channelMessages('alerts').map((m) => m.embeds?.[0]?.title ?? '').filter((t) => /Health report · staging(-4)?$/.test(t.replace(/^🔴 /, '')));
    expect(titles.slice(-2).map((t) => t.replace(/^🔴 /, ''))).toEqual(['Health report · staging', 'Health report · staging-4']);
  }, 90_000);

  it('read-only runbooks fan out too (/stats, /runbook config-drift); an unknown host or group is refused before anything runs', async () => {
    const stats = textOf(await finalAnswer(ask('stats', { host: 'production' }), 60_000));
    expect(stats).toContain('**2 ok · 0 failing · 1 unreachable**');
    expect(stats).toMatch(/✅ staging-2[\s\S]*adonisjs/);
    const drift = textOf(await finalAnswer(ask('runbook', { host: 'production' }, 'viewer', 'config-drift'), 60_000));
    expect(drift).toMatch(/\*\*2 ok · 0 failing · 1 unreachable\*\*|\*\*0 ok · 2 failing · 1 unreachable\*\*|\*\*1 ok · 1 failing · 1 unreachable\*\*/);
    expect(drift).toMatch(/🔌 `staging-3` unreachable/);

    const mark = await commandsLogMark();
    const unknown = await finalAnswer(ask('ps', { host: 'nowhere' }), 30_000);
    expect(unknown.content).toBe('Unknown host or group "nowhere". Known hosts: staging, staging-2, staging-3, staging-4; groups: production, eu; or all. Nothing was run.');
    expect(await commandsLogSince(mark)).toEqual([]);
  }, 120_000);
});
