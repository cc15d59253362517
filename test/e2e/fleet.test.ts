import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoubleMessage } from '../discord-double/index.js';
import {
  commandsLogMark,
  commandsLogSince,
  cutStagingSsh,
  stagingDaemonPid,
  startStagingFleet,
  type StagingEnv,
} from '../staging/staging.js';
import { stagingHostSettings } from './harness.js';
import { useBot } from './suite.js';
import { finalAnswer, isEphemeral, mutatingCommands, textOf } from './util.js';

/**
 * A fleet of five configured hosts. Three are real and separate, each with its own sshd, user,
 * key, host key, Docker engine and compose project: `staging` (the main staging host),
 * `staging-2` and `staging-5` (further hosts of test/staging/parts/fleet). `staging-3` points at
 * a loopback port nothing listens on (dead: refused at once), and `staging-4` at a loopback port
 * that accepts and never speaks SSH (hung: the SSH handshake would wait 10 s). Groups:
 * production = staging, staging-2, staging-3, staging-5; eu = staging, staging-4.
 */
let deadPort = 0;
let hung: Server | undefined;
const held: Socket[] = [];
let members: StagingEnv[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function member(k: number): StagingEnv {
  const m = members[k];
  if (!m) throw new Error('the fleet members are not up');
  return m;
}

beforeAll(async () => {
  members = await startStagingFleet(2);
  deadPort = await freePort();
  hung = createServer((socket) => {
    held.push(socket); // accepted, never answered: the SSH banner never comes
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => hung!.listen(0, '127.0.0.1', resolve));
}, 180_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => (hung ? hung.close(() => resolve()) : resolve()));
  // A member's sshd a test stopped runs again for whoever comes next.
  if (members.some((m) => stagingDaemonPid('sshd', m.stagingDir) === undefined)) await startStagingFleet(members.length);
}, 180_000);

/** Long enough for a live host's /ps or report on a busy 2-core machine, short of SSH's own 10 s handshake limit. */
const HOST_TIMEOUT_S = 6;

describe('a fleet: read-only commands on a group or all, in parallel, one section per host', () => {
  const h = useBot({
    hostCount: 5,
    fleet: { concurrency: 5, hostTimeoutSeconds: HOST_TIMEOUT_S },
    hostConfig: (n) =>
      [
        () => ({ groups: ['production', 'eu'], labels: { region: 'eu-west' } }),
        () => ({ groups: ['production'], ...stagingHostSettings(member(0)) }),
        () => ({ groups: ['production'], port: deadPort }),
        () => ({ groups: ['eu'], port: (hung!.address() as { port: number }).port }),
        () => ({ groups: ['production'], ...stagingHostSettings(member(1)) }),
      ][n]?.() ?? {},
  });

  const ask = (name: string, options: Record<string, string | number>, member: 'viewer' | 'operator' = 'viewer', subcommand?: string) =>
    h.double.sendCommand({ name, ...(subcommand ? { subcommand } : {}), options, member, channel: 'alerts' });

  /** The embed field (section) of one host. */
  const section = (m: DoubleMessage, host: string) => (m.embeds?.[0]?.fields ?? []).find((f) => f.name.endsWith(` ${host}`));

  it('host: suggests all and the groups with their sizes, and hosts with groups and labels, also for a command that changes a host (a rollout)', async () => {
    const ps = await h.double.sendAutocomplete({ name: 'ps', options: { host: '' }, focused: 'host', member: 'viewer', channel: 'alerts' });
    expect(await ps.waitForChoices()).toEqual([
      { name: 'all (5 hosts)', value: 'all' },
      { name: 'production (4 hosts)', value: 'production' },
      { name: 'eu (2 hosts)', value: 'eu' },
      { name: 'staging · production, eu, region=eu-west', value: 'staging' },
      { name: 'staging-2 · production', value: 'staging-2' },
      { name: 'staging-3 · production', value: 'staging-3' },
      { name: 'staging-4 · eu', value: 'staging-4' },
      { name: 'staging-5 · production', value: 'staging-5' },
    ]);
    const typed = await h.double.sendAutocomplete({ name: 'runbook', subcommand: 'health', options: { host: 'prod' }, focused: 'host', member: 'viewer', channel: 'alerts' });
    expect((await typed.waitForChoices()).map((c) => c.value)).toEqual(['production', 'staging', 'staging-2', 'staging-3', 'staging-5']);
    const restart = await h.double.sendAutocomplete({ name: 'restart', options: { service: 'nextjs', host: '' }, focused: 'host', member: 'operator', channel: 'alerts' });
    expect((await restart.waitForChoices()).map((c) => c.value)).toEqual(['all', 'production', 'eu', 'staging', 'staging-2', 'staging-3', 'staging-4', 'staging-5']);
  });

  it('/ps host:production: the three live hosts answer, each over its own sshd as its own user, the dead one is shown unreachable, the summary counts are right, each run is audited', async () => {
    const hosts = [h.staging, members[0]!, members[1]!];
    const marks = await Promise.all(hosts.map((m) => commandsLogMark(m)));
    const answer = await finalAnswer(ask('ps', { host: 'production' }), 60_000);
    const text = textOf(answer);
    expect(isEphemeral(answer)).toBe(false);
    expect(answer.embeds?.[0]?.title).toBe('Compose services · group production (4 hosts)');
    expect(text).toContain('**3 ok · 0 failing · 1 unreachable**');
    expect(text).toMatch(/✅ `staging` ok/);
    expect(text).toMatch(/✅ `staging-2` ok/);
    expect(text).toMatch(/✅ `staging-5` ok/);
    expect(text).toMatch(/🔌 `staging-3` unreachable/);
    // Separate machines as far as the bot can tell: each host's own login shell logged the bot's
    // commands, in its own project directory, and nothing that changes a host.
    for (const [i, m] of hosts.entries()) {
      const ran = await commandsLogSince(marks[i]!, m);
      expect(ran.length, m.user).toBeGreaterThan(0);
      expect(ran.join('\n'), m.user).toContain(m.projectDir);
      expect(mutatingCommands(ran), m.user).toEqual([]);
    }
    expect(new Set(hosts.map((m) => m.hostKeyFingerprint)).size).toBe(3);
    expect(new Set(hosts.map((m) => m.user))).toEqual(new Set(['deploy', 'deploy1', 'deploy2']));
    for (const host of ['staging', 'staging-2', 'staging-5']) {
      const s = section(answer, host);
      expect(s?.name, host).toBe(`✅ ${host}`);
      expect(s?.value, host).toMatch(/all 5 services running/);
      expect(s?.value, host).toMatch(/\*\*adonisjs\*\*: 🟢 running/);
    }
    expect(section(answer, 'staging-3')?.value).toMatch(/Cannot connect to host "staging-3" \(deploy@127\.0\.0\.1:\d+\):.*ECONNREFUSED/);
    // One ordinary run per host, each in the audit log with its own outcome.
    const runs = h.app.store.recentRuns(4);
    expect(runs.map((r) => [r.runbook, r.host, r.status]).sort()).toEqual([
      ['ps', 'staging', 'succeeded'],
      ['ps', 'staging-2', 'succeeded'],
      ['ps', 'staging-3', 'failed'],
      ['ps', 'staging-5', 'succeeded'],
    ]);
    for (const r of runs) expect(text).toContain(r.id);
  }, 90_000);

  it('/ps host:all: a hung host is shown as timed out after its per-host timeout and holds nobody back', async () => {
    const started = Date.now();
    const answer = await finalAnswer(ask('ps', { host: 'all' }), 60_000);
    const took = Date.now() - started;
    const text = textOf(answer);
    expect(text).toContain('**3 ok · 0 failing · 2 unreachable** (1 timed out)');
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
    expect(stats).toContain('**3 ok · 0 failing · 1 unreachable**');
    expect(stats).toMatch(/✅ staging-2[\s\S]*adonisjs/);
    const drift = textOf(await finalAnswer(ask('runbook', { host: 'production' }, 'viewer', 'config-drift'), 60_000));
    expect(drift).toMatch(/\*\*[0-3] ok · [0-3] failing · 1 unreachable\*\*/);
    expect(drift).toMatch(/`staging-5` (ok|failing)/);
    expect(drift).toMatch(/🔌 `staging-3` unreachable/);

    const mark = await commandsLogMark();
    const unknown = await finalAnswer(ask('ps', { host: 'nowhere' }), 30_000);
    expect(unknown.content).toBe('Unknown host or group "nowhere". Known hosts: staging, staging-2, staging-3, staging-4, staging-5; groups: production, eu; or all. Nothing was run.');
    expect(await commandsLogSince(mark)).toEqual([]);
  }, 120_000);

  it('a host cut off in the middle of a run: its section says unreachable, the others answer in full without waiting for a timeout, and it comes back without a bot restart', async () => {
    const victim = members[1]!;
    // Cold connections and caches, so the victim's run spans several commands (the compose
    // flavour, its services, its containers) and the cut falls inside it.
    await h.restartBot();
    const mark = await commandsLogMark(victim);
    const started = Date.now();
    const asked = ask('ps', { host: 'production' });
    // The moment the victim's login shell logs the bot's first command, its sshd goes: the
    // listener and every session, as when a host drops off the network.
    const deadline = Date.now() + 30_000;
    while ((await commandsLogSince(mark, victim)).length === 0) {
      if (Date.now() > deadline) throw new Error('the bot never reached the victim host');
      await new Promise((r) => setTimeout(r, 5));
    }
    cutStagingSsh(victim.stagingDir);
    const answer = await finalAnswer(asked, 60_000);
    const took = Date.now() - started;
    const text = textOf(answer);
    expect(text).toContain('**2 ok · 0 failing · 2 unreachable**');
    expect(text).toMatch(/🔌 `staging-5` unreachable/);
    // Cut inside the run: the step in flight reports the lost link (not a refused connection).
    expect(section(answer, 'staging-5')?.value).toMatch(/connection to host "staging-5" (was lost|broke off)/);
    for (const host of ['staging', 'staging-2']) expect(section(answer, host)?.value, host).toMatch(/all 5 services running/);
    // Nobody waited for the per-host timeout: the cut was noticed as it happened.
    expect(took).toBeLessThan(HOST_TIMEOUT_S * 1000);
    const runs = h.app.store.recentRuns(4);
    expect(runs.find((r) => r.host === 'staging-5')?.status).toBe('failed');

    // While it is down, asking it alone is answered at once and clearly.
    const alone = await finalAnswer(ask('ps', { host: 'staging-5' }), 30_000);
    expect(textOf(alone)).toMatch(/Cannot connect to host "staging-5" \(deploy2@127\.0\.0\.1:\d+\):.*ECONNREFUSED/);

    // Back (its sshd restarted by the fleet's idempotent start): the same bot reaches it again.
    await startStagingFleet(members.length);
    const back = textOf(await finalAnswer(ask('ps', { host: 'production' }), 60_000));
    expect(back).toContain('**3 ok · 0 failing · 1 unreachable**');
    expect(back).toMatch(/✅ `staging-5` ok/);
  }, 180_000);
});
