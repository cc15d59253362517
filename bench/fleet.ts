/**
 * `npx tsx bench/fleet.ts` (staging up; under the e2e lock on a shared machine): `/ps host:all`
 * against `/ps` on one host, end to end (real bot, Discord double, SSH to the staging machine).
 *
 * Three separate staging hosts (the main one and two of test/staging/parts/fleet), each with its
 * own sshd, user, key, host key, Docker engine and project, all on this one machine: the hosts'
 * own work shares its two cores, where real hosts would each do their share on their own.
 * Then a fourth host on a loopback port nothing listens on (dead), and a fifth on one that accepts
 * and never speaks SSH (hung): what each adds to `/ps host:all`.
 *
 * Targets (issue 10): total ≤ 1.5× the slowest single host; a dead host adds no more than its timeout.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { textOf } from '../test/e2e/util.js';
import { stagingHostSettings, startHarness, type Harness } from '../test/e2e/harness.js';
import { commandsLogMark, commandsLogSince, readStaging, startStagingFleet } from '../test/staging/staging.js';
import type { DoubleMessage } from '../test/discord-double/index.js';
import { formatTable, median, ms, ratio, timed, verdict, type Row } from './lib.js';

const RUNS = 15;
/** One-way delay of the proxied run: a 20 ms round trip, as from a bot to VPS hosts in one region. */
const ONE_WAY_MS = 10;
const HOST_TIMEOUT_S = 5;
const say = (msg: string): void => void process.stderr.write(`[bench fleet] ${msg}\n`);

async function ps(h: Harness, host: string, done: RegExp): Promise<number> {
  const t = await timed(() => h.double.sendCommand({ name: 'ps', options: { host }, member: 'viewer', channel: 'alerts' }).waitForReply((m: DoubleMessage) => done.test(textOf(m)), { timeoutMs: 60_000 }));
  return t.ms;
}

async function series(h: Harness, host: string, done: RegExp): Promise<number[]> {
  await ps(h, host, done); // warm-up: connection, compose flavour, project name
  const out: number[] = [];
  for (let n = 0; n < RUNS; n++) out.push(await ps(h, host, done));
  return out;
}

const dead = createServer();
await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
const deadPort = (dead.address() as { port: number }).port;
await new Promise<void>((resolve) => dead.close(() => resolve()));
const held: Socket[] = [];
const hung = createServer((s) => {
  held.push(s);
  s.on('error', () => undefined);
});
await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
const hungPort = (hung.address() as { port: number }).port;

say('starting the fleet members');
const hosts = [readStaging(), ...(await startStagingFleet(2))];
/** Host n of the harness: the main staging host, then the members; past them the host's own config. */
const liveHost = (n: number) => (hosts[n] ? stagingHostSettings(hosts[n]) : {});

const rows: Row[] = [];
const notes: string[] = [];
say('three live hosts');
const live = await startHarness({ hostCount: 3, fleet: { concurrency: 8, hostTimeoutSeconds: HOST_TIMEOUT_S }, logLevel: 'info', hostConfig: liveHost });
let singleMedians: number[] = [];
try {
  // Cold: a fresh bot's first /ps host:all opens every host's SSH connection and looks up each
  // host's compose flavour, project and services; what it makes the hosts run is counted.
  const marks = await Promise.all(hosts.map((m) => commandsLogMark(m)));
  const cold = await ps(live, 'all', /\d+ ok · \d+ failing · \d+ unreachable/);
  const perHost = await Promise.all(hosts.map((m, i) => commandsLogSince(marks[i]!, m)));
  const lines = perHost[0]!;
  notes.push(`Host processes per host, cold: ${perHost.map((l, i) => `${hosts[i]!.user} ${l.length}`).join(', ')}.`);
  const total = perHost.reduce((n, l) => n + l.length, 0);
  rows.push({ metric: '/ps host:all, cold (fresh bot, 3 hosts)', measured: `${ms(cold)}, ${total} host processes (${(total / 3).toFixed(1)} per host)`, target: '—', verdict: 'n/a' });
  notes.push(`Cold /ps host:all made the main host run: ${lines.map((l) => l.replace(/^cd \S+ && /, '').replace(/^exec /, '')).join(' | ')}.`);
  for (const host of ['staging', 'staging-2', 'staging-3']) {
    const s = await series(live, host, /services running|not running/);
    singleMedians.push(median(s));
    rows.push({ metric: `/ps host:${host}`, measured: `${ms(median(s))} median of ${RUNS}`, target: 'baseline', verdict: 'n/a' });
  }
  const all = await series(live, 'all', /\d+ ok · \d+ failing · \d+ unreachable/);
  const slowest = Math.max(...singleMedians);
  rows.push({ metric: '/ps host:all (3 live hosts)', measured: `${ms(median(all))} median of ${RUNS} (${ratio(median(all) / slowest)} the slowest single)`, target: '≤ 1.5× the slowest single host', verdict: verdict(median(all) <= 1.5 * slowest) });
} finally {
  await live.stop();
}

say(`three live hosts behind a ${ONE_WAY_MS * 2} ms round trip`);
{
  // On loopback a host answers /ps in ~15 ms, most of it the bot's own work, and the three hosts'
  // sshd and dockerd share this machine's two cores with the bot. Real hosts answer over a
  // network and work on their own CPUs; this run puts a delaying proxy (its own process) between
  // the bot and each host to see how far the parallel fan-out hides that wait.
  const proxy = spawn('npx', ['tsx', fileURLToPath(new URL('./latency-proxy.ts', import.meta.url)), String(ONE_WAY_MS), ...hosts.map((m) => String(m.sshPort))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = new Map<number, number>();
  for await (const line of createInterface({ input: proxy.stdout })) {
    if (line === 'ready') break;
    const [from, to] = line.split(' ').map(Number);
    ports.set(from!, to!);
  }
  const far = await startHarness({
    hostCount: 3,
    fleet: { concurrency: 8, hostTimeoutSeconds: HOST_TIMEOUT_S }, logLevel: 'info',
    hostConfig: (n) => ({ ...liveHost(n), port: ports.get(hosts[n]!.sshPort) }),
  });
  try {
    const singles: number[] = [];
    for (const host of ['staging', 'staging-2', 'staging-3']) {
      const s = await series(far, host, /services running|not running/);
      singles.push(median(s));
      rows.push({ metric: `/ps host:${host}, ${ONE_WAY_MS * 2} ms RTT`, measured: `${ms(median(s))} median of ${RUNS}`, target: 'baseline', verdict: 'n/a' });
    }
    const all = await series(far, 'all', /\d+ ok · \d+ failing · \d+ unreachable/);
    const slowest = Math.max(...singles);
    rows.push({ metric: `/ps host:all (3 live hosts, ${ONE_WAY_MS * 2} ms RTT)`, measured: `${ms(median(all))} median of ${RUNS} (${ratio(median(all) / slowest)} the slowest single)`, target: '≤ 1.5× the slowest single host', verdict: verdict(median(all) <= 1.5 * slowest) });
  } finally {
    await far.stop();
    proxy.kill('SIGTERM');
  }
}

say('three live hosts, one dead, one hung');
const faulty = await startHarness({
  hostCount: 5,
  fleet: { concurrency: 8, hostTimeoutSeconds: HOST_TIMEOUT_S }, logLevel: 'info',
  hostConfig: (n) => (n === 3 ? { port: deadPort } : n === 4 ? { port: hungPort } : liveHost(n)),
});
try {
  const withDead = await series(faulty, 'staging-4', /Cannot connect|❌/);
  rows.push({ metric: '/ps on the dead host alone', measured: `${ms(median(withDead))} median of ${RUNS}`, target: 'refused at once', verdict: 'n/a' });
  const all = await series(faulty, 'all', /\d+ ok · \d+ failing · \d+ unreachable/);
  const slowest = Math.max(...singleMedians);
  rows.push({
    metric: '/ps host:all (3 live, 1 dead, 1 hung)',
    measured: `${ms(median(all))} median of ${RUNS}`,
    target: `≤ slowest live + ${HOST_TIMEOUT_S} s timeout (${ms(slowest + HOST_TIMEOUT_S * 1000)})`,
    verdict: verdict(median(all) <= slowest + HOST_TIMEOUT_S * 1000),
  });
  notes.push(`The hung host accepts TCP and never sends the SSH banner: without the per-host timeout the run would wait for SSH's own 10 s handshake limit.`);
} finally {
  await faulty.stop();
  for (const s of held) s.destroy();
  hung.close();
}
singleMedians = [];
process.stdout.write(`${formatTable(rows)}\n\n${notes.join('\n')}\n`);
