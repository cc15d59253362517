/**
 * `npm run bench`: the performance figures of the issue, measured end to end (the real bot with
 * the real discord.js client, the local Discord double, real SSH to the staging host), printed as
 * a table with each figure next to its target. Not part of `npm test`; a missed target never fails
 * the run (the exit code is non-zero only when the bench itself could not run).
 *
 * 1. acknowledgement latency of 50 concurrent /ps (p50, p99)
 * 2. /ps end to end vs a fresh `ssh … docker-compose ps` vs `docker-compose ps` on the host
 * 3. /stats with the 5 staging containers vs 30 (25 extra busybox containers)
 * 3b. /report for the staging host with those 30 containers: time to post
 * 4. /logs of 20,000 lines: time to the first page, peak RSS (in-process and as a child process)
 * 5. idle RSS after startup (in-process and as a child process)
 * 6. redaction of 10 MB of hostile text (bench/redact.ts, also runnable alone)
 * 8. Alertmanager webhook → message posted or edited, 20 alerts/s for 30 s, into the bot child (bench/alerts.ts)
 *
 * Progress goes to stderr, the table and the notes to stdout.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBotProcess } from './bot-process.js';
import { benchAckFloor, benchSpreadBurst, FLOOR_STARTS, SPREAD_STARTS, type FloorClient } from './ack-floor.js';
import { ALERT_SECONDS, ALERTS_PER_SECOND, benchAlerts } from './alerts.js';
import type { Harness } from '../test/e2e/harness.js';
import { buttonsOf, textOf } from '../test/e2e/util.js';
import type { DiscordDouble, DoubleMessage, InteractionHandle, Violation } from '../test/discord-double/index.js';
import { hostCompose, hostDocker, readStaging, resetStaging, serviceStates, stagingDir, type StagingEnv } from '../test/staging/staging.js';
import {
  MiB, RssSampler, formatTable, gcFunction, list, median, mib, ms, percentile, procMemory, ratio, resetPeakRss, sleep, timed, verdict,
  type Row,
} from './lib.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const T0 = performance.now();
const say = (msg: string): void => void process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Parameters

const ACK_WARMUP_ROUNDS = 2;
const ACK_ROUNDS = 3;
const ACK_CONCURRENCY = 50;
const PS_RUNS = 10;
const SSH_RUNS = 5;
const ONHOST_RUNS = 5;
const STATS_RUNS = 3;
const EXTRA_CONTAINERS = 25;
const LOG_LINES = 20_000;
const LOGS_RUNS = 3;
const RSS_SAMPLE_MS = 10;
const BENCH_LABEL = 'opsbot.bench=1';
const BUSYBOX = 'opsbot-staging/busybox:latest';
const ALERT_TOKEN = 'bench-alertmanager-token-0123456789';

// ---------------------------------------------------------------------------------------------
// Results

const rows: Row[] = [];
const notes: string[] = [];
const problems: string[] = [];
const violations: Violation[] = [];
const row = (metric: string, measured: string, target: string, ok: boolean | undefined | 'info'): void =>
  void rows.push({ metric, measured, target, verdict: ok === 'info' ? 'info' : verdict(ok) });
const failed = (metric: string, target: string, err: unknown): void => {
  const msg = err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err);
  rows.push({ metric, measured: 'error', target, verdict: 'n/a' });
  problems.push(`${metric}: ${msg}`);
  say(`ERROR in ${metric}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
};

// ---------------------------------------------------------------------------------------------
// Clean-up: everything the bench starts registers how to stop it here (LIFO).

const cleanups: { what: string; fn: () => Promise<void> | void }[] = [];
const onCleanup = (what: string, fn: () => Promise<void> | void): void => void cleanups.push({ what, fn });
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop()!;
      try {
        await c.fn();
      } catch (err) {
        say(`clean-up "${c.what}" failed: ${String(err)}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

const { gc, how: gcHow } = gcFunction();
const fullGc = async (): Promise<void> => {
  gc?.();
  await sleep(50);
  gc?.();
};

const isLoopback = (host: string): boolean => ['127.0.0.1', 'localhost', '::1'].includes(host);
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

const PS_OK = /all \d+ services running|\d+ of \d+ not running/;
const isPsReply = (m: DoubleMessage): boolean => m.embeds.length > 0 && PS_OK.test(textOf(m));

function collectViolations(double: DiscordDouble): void {
  violations.push(...double.violations);
  double.resetRecords();
}

/** The staging host: up if it is not (and then down at the end), every service running. */
async function ensureStaging(): Promise<StagingEnv> {
  if (!existsSync(join(stagingDir(), 'env.json'))) {
    say('staging host is not up: bash test/staging/up');
    // Registered first: down is idempotent and also stops what a failed up left running.
    // OPSBOT_KEEP_STAGING=1 (as for the tests) leaves it up for whoever shares this machine.
    if (process.env.OPSBOT_KEEP_STAGING !== '1') onCleanup('bash test/staging/down', async () => {
      say('bash test/staging/down (the bench started the staging host)');
      await execFileAsync('bash', ['test/staging/down'], { cwd: ROOT, maxBuffer: 16 * MiB });
    });
    await execFileAsync('bash', ['test/staging/up'], { cwd: ROOT, maxBuffer: 16 * MiB });
    notes.push('The staging host was not up: the bench ran `bash test/staging/up` and `bash test/staging/down` at the end.');
  } else {
    notes.push('The staging host was already up: the bench used it and left it up.');
  }
  const env = readStaging();
  if (!isLoopback(env.sshHost)) throw new Error(`staging sshHost ${env.sshHost} is not a loopback address; the bench only talks to loopback`);
  const states = await serviceStates();
  const ready = env.services.every((s) => states[s]?.state === 'running' && states[s].containers === 1 && (s !== 'adonisjs' || states[s].health === 'healthy'));
  if (!ready) {
    say('not every staging service is running: resetStaging()');
    await resetStaging();
  }
  return env;
}

async function removeBenchContainers(): Promise<number> {
  const ids = (await hostDocker(['ps', '-aq', '--filter', `label=${BENCH_LABEL}`])).split('\n').filter((id) => id !== '');
  if (ids.length > 0) await hostDocker(['rm', '-f', ...ids]);
  return ids.length;
}

// ---------------------------------------------------------------------------------------------
// 1. Acknowledgement latency under 50 concurrent interactions

interface AckRound {
  /** Per interaction: ms from dispatch to the bot's first callback attempt (accepted or not); Infinity when it made none. */
  latencies: number[];
  /** Acknowledged too late: Discord (the double) answered 10062 and the user got nothing. */
  late: number;
  /** No callback attempt at all within 5 s. */
  none: number;
  /** Final replies that list the services. */
  answered: number;
  /** Final replies that are an error instead (e.g. a failed SSH channel). */
  errored: string[];
  allRepliedMs: number;
}

async function ackRound(h: Harness, member: 'viewer' | 'norole' = 'viewer'): Promise<AckRound> {
  const start = performance.now();
  const sent: number[] = [];
  const handles: InteractionHandle[] = Array.from({ length: ACK_CONCURRENCY }, () => {
    sent.push(Date.now());
    return h.double.sendCommand({ name: 'ps', member, channel: 'alerts' });
  });
  // Discord's deadline is 3 s: after 5 s every interaction was either acknowledged or lost.
  const acks = await Promise.allSettled(handles.map((x) => x.acknowledged({ timeoutMs: 5000 })));
  const replies = await Promise.allSettled(
    handles.map((x, i) => (acks[i]?.status === 'fulfilled' ? x.waitForReply(undefined, { timeoutMs: 30_000 }) : Promise.reject(new Error('not acknowledged')))),
  );
  const allRepliedMs = performance.now() - start;
  const latencies = handles.map((x, i) => {
    const a = acks[i];
    if (a?.status === 'fulfilled') return a.value.latencyMs;
    const first = x.callbacks()[0];
    return first === undefined ? Number.POSITIVE_INFINITY : first.at - (sent[i] ?? Number.NaN);
  });
  const late = handles.filter((x, i) => acks[i]?.status === 'rejected' && x.callbacks().length > 0).length;
  const none = handles.filter((x) => x.callbacks().length === 0).length;
  const done = replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const expected = member === 'viewer' ? isPsReply : (m: DoubleMessage) => /You need the/.test(textOf(m));
  const errored = done.filter((m) => !expected(m)).map((m) => textOf(m).replace(/\s+/g, ' ').trim().slice(0, 160));
  return { latencies, late, none, answered: done.length - errored.length, errored, allRepliedMs };
}

const roundSummary = (r: AckRound): string =>
  `p50 ${ms(median(r.latencies))} / max ${ms(Math.max(...r.latencies))}, ${r.late} acknowledged after the 3 s deadline, ${r.answered}/${ACK_CONCURRENCY} answered` +
  `${r.errored.length > 0 ? `, ${r.errored.length} answered with an error` : ''}, round took ${ms(r.allRepliedMs)}`;

async function benchAck(h: Harness): Promise<void> {
  const metric = `ack latency, ${ACK_CONCURRENCY} concurrent /ps`;
  try {
    // The floor of this set-up: the same burst, refused by the role guard (no host work at all).
    const floor = await ackRound(h, 'norole');
    say(`  floor (refusals): ${roundSummary(floor)}`);
    row(`1. ack floor, ${ACK_CONCURRENCY} concurrent refusals (no host work): p99`, ms(percentile(floor.latencies, 99)), '—', 'info');
    await sleep(300);
    for (let r = 0; r < ACK_WARMUP_ROUNDS; r++) {
      const w = await ackRound(h);
      say(`  warm-up round ${r + 1}: ${roundSummary(w)}`);
      await sleep(500);
    }
    const all: number[] = [];
    const rounds: string[] = [];
    const errors = new Map<string, number>();
    let late = 0;
    let none = 0;
    let answered = 0;
    for (let r = 0; r < ACK_ROUNDS; r++) {
      const res = await ackRound(h);
      all.push(...res.latencies);
      late += res.late;
      none += res.none;
      answered += res.answered;
      for (const e of res.errored) errors.set(e, (errors.get(e) ?? 0) + 1);
      rounds.push(`round ${r + 1}: ${roundSummary(res)}`);
      say(`  ${rounds.at(-1) ?? ''}`);
      await sleep(500);
    }
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    const total = ACK_ROUNDS * ACK_CONCURRENCY;
    row(`1. ${metric}: p50`, ms(p50), '—', 'info');
    row(`1. ${metric}: p99`, ms(p99), '< 50 ms', p99 < 50 && late === 0 && none === 0);
    row('1. … acknowledged after Discord\'s 3 s deadline (lost)', `${late + none} of ${total}`, '0', late + none === 0);
    row('1. … answered with the services', `${answered} of ${total}`, `${total}`, answered === total);
    notes.push(
      `1. Ack latency: ${ACK_WARMUP_ROUNDS} warm-up rounds, then ${ACK_ROUNDS} rounds of ${ACK_CONCURRENCY} \`/ps\` (viewer, #alerts) sent in the same tick through ` +
        `\`double.sendCommand\`; latency = \`handle.acknowledged().latencyMs\` (the double's clock: dispatch on the gateway → accepted deferral callback); an ` +
        `interaction acknowledged after the 3 s deadline (the double answers 10062, as Discord does, and the user gets nothing) counts with the time of its ` +
        `refused callback, one never acknowledged as infinite. n = ${all.length}, min ${ms(Math.min(...all))}, max ${ms(Math.max(...all))}. Each round waits for ` +
        `the acknowledged interactions' final replies (≤ 30 s) before the next. ${rounds.join('; ')}. ` +
        `${errors.size > 0 ? `Error replies: ${[...errors].map(([e, n]) => `${n}× "${e}"`).join('; ')}. ` : ''}` +
        `Floor: the same burst from a member without roles (refused by the guard, ephemeral reply, nothing runs): ${roundSummary(floor)}. ` +
        'Bot, double and bench share one Node.js event loop, so every figure includes the double\'s gateway and REST work.',
    );
  } catch (err) {
    failed(`1. ${metric}`, '< 50 ms', err);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. /ps end to end vs a fresh SSH session vs compose on the host

/** The final reply (the first complete one: a deferred reply is edited once), checked afterwards so an error reply fails fast. */
async function command(double: DiscordDouble, options: Parameters<DiscordDouble['sendCommand']>[0], ok: (m: DoubleMessage) => boolean): Promise<{ ms: number; value: DoubleMessage }> {
  const t = await timed(() => double.sendCommand(options).waitForReply(undefined, { timeoutMs: 30_000 }));
  if (!ok(t.value)) throw new Error(`/${options.name} answered: ${textOf(t.value).replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  return t;
}

const ps = (double: DiscordDouble) => command(double, { name: 'ps', member: 'viewer', channel: 'alerts' }, isPsReply);

async function psOnce(h: Harness): Promise<number> {
  return (await ps(h.double)).ms;
}

async function benchPs(h: Harness, env: StagingEnv): Promise<void> {
  let psMed = Number.NaN;
  let sshMed = Number.NaN;
  let hostMed = Number.NaN;
  const detail: string[] = [];
  try {
    await psOnce(h); // warm-up (the SSH connection is already open)
    const runs: number[] = [];
    for (let i = 0; i < PS_RUNS; i++) runs.push(await psOnce(h));
    psMed = median(runs);
    row('2. /ps end to end (median)', ms(psMed), '—', 'info');
    detail.push(`/ps runs: ${list(runs)} ms`);
  } catch (err) {
    failed('2. /ps end to end', '—', err);
  }
  const compose = `docker-compose ${env.composeFiles.map((f) => `-f ${shq(f)}`).join(' ')} ps`;
  try {
    const args = [
      '-i', env.keyPath, '-p', String(env.sshPort), '-o', `UserKnownHostsFile=${env.knownHostsPath}`, '-o', 'BatchMode=yes',
      `${env.user}@${env.sshHost}`, `cd ${shq(env.projectDir)} && exec ${compose}`,
    ];
    const sshOnce = async (): Promise<number> => {
      const t = await timed(() => execFileAsync('ssh', args, { timeout: 60_000 }));
      if (!t.value.stdout.includes('adonisjs')) throw new Error(`ssh … ps printed no adonisjs row: ${t.value.stdout.slice(0, 300)}`);
      return t.ms;
    };
    await sshOnce(); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < SSH_RUNS; i++) runs.push(await sshOnce());
    sshMed = median(runs);
    row('2. fresh `ssh … docker-compose ps` (median)', ms(sshMed), '—', 'info');
    detail.push(`fresh ssh runs: ${list(runs)} ms`);
  } catch (err) {
    failed('2. fresh ssh … docker-compose ps', '—', err);
  }
  try {
    const hostOnce = async (): Promise<number> => {
      const t = await timed(() => hostCompose(['ps']));
      if (!t.value.includes('adonisjs')) throw new Error(`docker-compose ps printed no adonisjs row: ${t.value.slice(0, 300)}`);
      return t.ms;
    };
    await hostOnce(); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < ONHOST_RUNS; i++) runs.push(await hostOnce());
    hostMed = median(runs);
    row('2. `docker-compose ps` on the host (median)', ms(hostMed), '—', 'info');
    detail.push(`on-host runs: ${list(runs)} ms`);
  } catch (err) {
    failed('2. docker-compose ps on the host', '—', err);
  }
  const vsSsh = psMed / sshMed;
  const vsHost = psMed / hostMed;
  row('2. /ps ÷ fresh ssh', ratio(vsSsh), '≤ 0.50×', Number.isFinite(vsSsh) ? vsSsh <= 0.5 : undefined);
  row('2. /ps ÷ on-host compose', ratio(vsHost), '≤ 1.20×', Number.isFinite(vsHost) ? vsHost <= 1.2 : undefined);
  notes.push(
    `2. /ps: wall time from \`sendCommand\` to the final reply listing the services (\`waitForReply\`), warm SSH connection, 1 warm-up + median of ${PS_RUNS}. ` +
      `Fresh ssh: \`ssh -i <key> -p ${env.sshPort} -o UserKnownHostsFile=<known_hosts> -o BatchMode=yes ${env.user}@${env.sshHost} 'cd <projectDir> && exec ${compose}'\`, ` +
      `1 warm-up + median of ${SSH_RUNS}. On host: \`${compose}\` in the project dir with DOCKER_HOST = the staging socket (hostCompose), 1 warm-up + median of ${ONHOST_RUNS}. ` +
      `${detail.join('; ')}.`,
  );
}

// ---------------------------------------------------------------------------------------------
// 3b. The health report with 30 containers running (measured inside benchStats, which starts them)

const REPORT_RUNS = 3;

/** `/report` to its post in #alerts (every section read over SSH, deltas, offers, the post), in ms. */
async function reportOnce(h: Harness): Promise<number> {
  const seen = new Set(h.double.channelMessages('alerts').map((m) => m.id));
  const start = performance.now();
  const handle = h.double.sendCommand({ name: 'report', member: 'viewer', channel: 'alerts' });
  const post = await h.double.waitForChannelMessage('alerts', (m) => !seen.has(m.id) && (m.embeds?.[0]?.title ?? '').includes('Health report · staging'), { timeoutMs: 30_000 });
  const took = performance.now() - start;
  await handle.waitForReply(undefined, { timeoutMs: 30_000 });
  if (/cannot be reached/.test(textOf(post))) throw new Error(`the report could not read the host: ${textOf(post).slice(0, 300)}`);
  return took;
}

async function benchReport(h: Harness, containers: number): Promise<void> {
  try {
    await reportOnce(h); // warm-up (and the baseline its deltas compare with)
    const runs: number[] = [];
    for (let i = 0; i < REPORT_RUNS; i++) runs.push(await reportOnce(h));
    const med = median(runs);
    row(`3b. /report for the staging host, ${containers} containers running: time to post (median)`, ms(med), '< 5 s', med < 5000);
    notes.push(
      `3b. /report: wall time from \`sendCommand\` to the report's post in #alerts (the reply comes after it), 1 warm-up + median of ${REPORT_RUNS} ` +
        `(runs ${list(runs)} ms), with the ${containers} containers of row 3 running. The report runbook reads services (Docker API), ` +
        `\`docker stats --no-stream\`, \`df\` and \`docker system df\`, \`certbot certificates\` and the backups folder in their containers (\`docker exec\`), ` +
        `and the health URL, one step after the other over the one SSH connection.`,
    );
  } catch (err) {
    failed('3b. /report with 30 containers', '< 5 s', err);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. /stats with 5 vs 30 containers

/** One `GET /containers/<id>/stats?stream=false&one-shot=true` on the staging engine's own socket (local, no SSH), in ms. */
function engineOneShot(env: StagingEnv, id: string): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: env.dockerHost.replace(/^unix:\/\//, ''), path: `/containers/${id}/stats?stream=false&one-shot=true`, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - start));
    });
    req.on('error', reject);
    req.end();
  });
}

async function statsOnce(h: Harness): Promise<{ ms: number; containers: number }> {
  const t = await command(h.double, { name: 'stats', member: 'viewer', channel: 'alerts' }, (m) => m.embeds.length > 1);
  const containers = Number(/(\d+) containers/.exec(textOf(t.value))?.[1] ?? Number.NaN);
  return { ms: t.ms, containers };
}

async function statsSeries(h: Harness): Promise<{ runs: number[]; containers: number[] }> {
  await statsOnce(h); // warm-up
  const runs: number[] = [];
  const containers: number[] = [];
  for (let i = 0; i < STATS_RUNS; i++) {
    const r = await statsOnce(h);
    runs.push(r.ms);
    containers.push(r.containers);
  }
  return { runs, containers };
}

async function benchStats(h: Harness, env: StagingEnv): Promise<void> {
  try {
    const someId = (await hostDocker(['ps', '-q'])).split('\n')[0] ?? '';
    await sleep(2500);
    const probe = [await engineOneShot(env, someId), await engineOneShot(env, someId), await engineOneShot(env, someId)];
    say(`  engine one-shot stats, 3 back to back on the engine socket: ${list(probe)} ms`);
    const running = async () => (await hostDocker(['ps', '-q'])).split('\n').filter((id) => id !== '').length;
    const before = await running();
    const small = await statsSeries(h);
    const smallMed = median(small.runs);
    row(`3. /stats, ${before} containers running (median)`, ms(smallMed), '—', 'info');

    say(`  starting ${EXTRA_CONTAINERS} busybox containers`);
    onCleanup('remove the extra containers', async () => {
      const n = await removeBenchContainers();
      if (n > 0) say(`removed ${n} bench containers`);
    });
    const started = await timed(async () => {
      const script = 'trap "exit 0" TERM; while :; do sleep 1; done';
      for (let i = 0; i < EXTRA_CONTAINERS; i += 5) {
        const batch = Array.from({ length: Math.min(5, EXTRA_CONTAINERS - i) }, (_, k) => `opsbot-bench-${i + k + 1}`);
        await Promise.all(batch.map((name) => hostDocker(['run', '-d', '--network', 'host', '--label', BENCH_LABEL, '--name', name, BUSYBOX, 'sh', '-c', script])));
      }
    });
    const nowRunning = await running();
    say(`  ${nowRunning} containers running (started the extra ones in ${ms(started.ms)})`);
    const big = await statsSeries(h);
    const bigMed = median(big.runs);
    await benchReport(h, nowRunning);
    const removed = await timed(() => removeBenchContainers());
    say(`  removed ${removed.value} extra containers in ${ms(removed.ms)}`);

    row(`3. /stats, ${nowRunning} containers running (median)`, ms(bigMed), '—', 'info');
    const shown = Math.min(...big.containers);
    row(`3. … containers in the /stats table (worst of ${STATS_RUNS})`, `${shown} of ${nowRunning}`, `${nowRunning}`, shown === nowRunning);
    const r = bigMed / smallMed;
    row('3. /stats 30 ÷ /stats 5', ratio(r), '≤ 1.20×', Number.isFinite(r) ? r <= 1.2 : undefined);
    notes.push(
      `3. /stats: wall time from \`sendCommand\` to the reply with the stats table (2 embeds), 1 warm-up + median of ${STATS_RUNS}, first with the ` +
        `staging project's containers (runs ${list(small.runs)} ms; containers reported: ${small.containers.join(', ')}), then with ${EXTRA_CONTAINERS} more ` +
        `\`docker run -d --network host ${BUSYBOX} sh -c '…sleep 1 loop…'\` on the staging engine (runs ${list(big.runs)} ms; containers reported: ` +
        `${big.containers.join(', ')}; ${nowRunning} running). The extra containers were removed afterwards (\`docker rm -f\`, label ${BENCH_LABEL}). ` +
        `The runbook runs one \`docker stats --no-stream\` on the host, which samples every container in parallel (about 2 s, mostly the CLI's own sampling interval). ` +
        `For reference, the engine itself (one-shot stats of one container, 3 requests back to back on its unix socket, no SSH, no bot): ${list(probe)} ms.`,
    );
  } catch (err) {
    failed('3. /stats 5 vs 30 containers', '≤ 1.20×', err);
  }
}

// ---------------------------------------------------------------------------------------------
// 4. /logs of 20,000 lines

const RUN = `bench${Date.now().toString(36)}`;

/**
 * `since` for /logs: the whole second before the lines were planted, as an absolute UTC time, so the
 * command reads this run's 20,000 lines (and the few the container logged meanwhile) and not the lines an
 * earlier run planted, as a relative `since:5m` would when the bench runs twice within 5 minutes.
 */
let logsSince = '';

async function plantLogLines(env: StagingEnv): Promise<void> {
  const id = (await hostDocker(['ps', '-q', '--filter', `label=com.docker.compose.project=${env.composeProject}`, '--filter', 'label=com.docker.compose.service=adonisjs']))
    .split('\n')
    .find((x) => x !== '');
  if (id === undefined) throw new Error('no running adonisjs container');
  logsSince = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await hostDocker(['exec', id, 'sh', '-c', `seq 1 ${LOG_LINES} | sed 's/^/request log line ${RUN} /' > /proc/1/fd/1`]);
  await sleep(1000); // let the engine's log driver write the last lines
}

interface LogsRun {
  ms: number;
  lines: number;
  pages: number;
  before: number;
  sampledPeak: number;
  samples: number;
  hwm: number;
}

const logsMessage = (m: DoubleMessage) => ({
  lines: Number(/(\d+) lines?/.exec(textOf(m))?.[1] ?? Number.NaN),
  pages: Number(/page 1\/(\d+)/.exec(textOf(m))?.[1] ?? Number.NaN),
});

/** One `/logs service:adonisjs since:<time of planting>`, with RSS read every 10 ms by `read` and the kernel's peak mark of `pid`. */
async function logsOnce(double: DiscordDouble, pid: number | 'self', read: () => number, settle: () => Promise<void>): Promise<LogsRun> {
  await settle();
  const before = read();
  const hwmReset = resetPeakRss(pid);
  const sampler = new RssSampler(read, RSS_SAMPLE_MS).start();
  const t = await command(double, { name: 'logs', options: { service: 'adonisjs', since: logsSince }, member: 'viewer', channel: 'alerts' }, (m) => buttonsOf(m).length > 0);
  await sleep(100);
  const { peak, count } = sampler.stop();
  return { ms: t.ms, ...logsMessage(t.value), before, sampledPeak: peak, samples: count, hwm: hwmReset ? procMemory(pid, 'VmHWM') : Number.NaN };
}

function logsRows(where: string, runs: LogsRun[], rssTarget: boolean): { firstPage: number; peak: number } {
  const firstPage = median(runs.map((r) => r.ms));
  const peak = Math.max(...runs.map((r) => Math.max(r.sampledPeak, Number.isFinite(r.hwm) ? r.hwm : 0)));
  row(`4. /logs ${runs[0]?.lines ?? '?'} lines, first page (${where}, median)`, ms(firstPage), '< 1 s', firstPage < 1000);
  row(`4. /logs peak RSS (${where})`, mib(peak), '< 150 MB', rssTarget ? peak < 150 * MiB : 'info');
  return { firstPage, peak };
}

const describeLogsRuns = (runs: LogsRun[]): string =>
  runs
    .map((r, i) => `run ${i + 1}: ${ms(r.ms)}, ${r.lines} lines / ${r.pages} pages, RSS before ${mib(r.before)}, sampled peak ${mib(r.sampledPeak)} (${r.samples} samples), VmHWM ${mib(r.hwm)}`)
    .join('; ');

// ---------------------------------------------------------------------------------------------
// 5 (and 4 again). The bot as a child process: compiled JavaScript, its own memory only

interface ChildMem extends NodeJS.MemoryUsage {
  type: 'mem';
  gcAvailable: boolean;
}
const isChildMem = (m: unknown): m is ChildMem => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'mem';

function childMem(child: ChildProcess): Promise<ChildMem> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error('the bot child did not answer a memory request within 5 s'));
    }, 5000);
    const on = (m: unknown): void => {
      if (!isChildMem(m)) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ type: 'mem', gc: true });
  });
}

const BURST = 50;

/** Node flags of package.json's start script (e.g. --max-semi-space-size=2). */
const START_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  return start.split(/\s+/).filter((w) => w.startsWith('--'));
})();

/** Lines of the staging host's command log: one per process the bot started there over SSH. */
const commandLogLines = (env: StagingEnv): string[] => readFileSync(env.commandsLog, 'utf8').split('\n').filter((l) => l.length > 0);

/**
 * 7. A freshly started bot (no SSH connection, nothing cached), BURST members sending /ps in the
 * same instant: every final reply, its latency from the send, and what the burst made the host run.
 */
/** The bot's own acknowledgement histogram for commands (from its /metrics): how many acks took ≤ each bucket. */
async function botAckBuckets(httpListen: string | undefined): Promise<string> {
  if (httpListen === undefined) return 'no /metrics (the child logged no http listen address)';
  const text = await (await fetch(`http://${httpListen}/metrics`)).text();
  const buckets = [...text.matchAll(/^opsbot_interaction_ack_seconds_bucket\{le="([^"]+)",kind="command"\} (\d+)$/gm)].map((m) => `≤${m[1] === '+Inf' ? '∞' : `${Number(m[1]) * 1000} ms`}: ${m[2]}`);
  // Up to 100 ms: the finer buckets under 50 ms show where in the target the bot's own times fall.
  return buckets.length > 0 ? buckets.slice(0, 7).join(', ') : 'no command acks in /metrics';
}

async function coldBurst(env: StagingEnv, double: DiscordDouble, httpListen?: string): Promise<void> {
  const metric = `7. cold start, ${BURST} concurrent /ps to the final reply (bot child)`;
  try {
    const before = commandLogLines(env).length;
    const t0 = performance.now();
    const handles = Array.from({ length: BURST }, () => double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' }));
    const acks = await Promise.allSettled(handles.map((x) => x.acknowledged({ timeoutMs: 5000 })));
    const replies = await Promise.allSettled(handles.map((x) => x.waitForReply(undefined, { timeoutMs: 30_000 }).then((m) => ({ m, ms: performance.now() - t0 }))));
    await sleep(500); // let the command log settle
    const ran = commandLogLines(env).slice(before);
    const ackMs = acks.map((a) => (a.status === 'fulfilled' ? a.value.latencyMs : Number.POSITIVE_INFINITY));
    const handledMs = acks.map((a) => (a.status === 'fulfilled' ? a.value.handledMs : Number.POSITIVE_INFINITY));
    const done = replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const good = done.filter((r) => isPsReply(r.m));
    const finalMs = replies.map((r) => (r.status === 'fulfilled' && isPsReply(r.value.m) ? r.value.ms : Number.POSITIVE_INFINITY));
    const errors = done.filter((r) => !isPsReply(r.m)).map((r) => textOf(r.m).replace(/\s+/g, ' ').trim().slice(0, 160));
    const p99 = percentile(finalMs, 99);
    row(`${metric}: answered`, `${good.length} of ${BURST}`, `${BURST}`, good.length === BURST);
    row(`${metric}: p50 / p99`, `${ms(percentile(finalMs, 50))} / ${ms(p99)}`, 'p99 < 1.5 s', p99 < 1500);
    // The double times a callback as it arrives (as Discord's edge would); when it had handled it,
    // its own queue behind the burst's earlier callbacks included, is shown beside it.
    row(`${metric}: ack p99 (from the double)`, `${ms(percentile(ackMs, 99))} (handled by the double: ${ms(percentile(handledMs, 99))})`, '< 50 ms', percentile(ackMs, 99) < 50);
    row(`${metric}: processes started on the host`, String(ran.length), '≤ 5', ran.length <= 5);
    // Receipt → accepted, as the bot itself timed it: what of the double's figure is the bot's.
    const own = await botAckBuckets(httpListen).catch((err: unknown) => `could not read /metrics: ${(err as Error).message}`);
    row(`${metric}: the bot's own ack times (receipt → accepted, its /metrics)`, own, '—', 'info');
    notes.push(
      `7. Cold burst: the bot child process (below), right after "opsbot started" and before any other command (no SSH connection yet, compose flavour, ` +
        `services and project unknown); ${BURST} \`/ps\` sent in one tick through the double; final latency = send → the reply with the services as the double ` +
        `received it. Host processes = lines the staging host's command log gained (every SSH exec and every Docker API channel, \`docker system dial-stdio\`, ` +
        `is one process there): ${ran.map((l) => l.replace(/^\S+ /, '')).join(' | ')}.` +
        `${errors.length > 0 ? ` Error replies: ${errors.join('; ')}.` : ''}`,
    );
  } catch (err) {
    failed(metric, 'p99 < 1.5 s, ≤ 5 host processes', err);
  }
}

/**
 * The bot child's configuration for `double` (written to `dir`, with its database there): the
 * same configuration the e2e harness builds, for the real config loader (JSON is YAML).
 */
function botChildEnv(env: StagingEnv, double: DiscordDouble, dir: string): NodeJS.ProcessEnv {
  const config = {
    discord: { guildId: double.guild.id, alertsChannel: 'alerts', roles: { viewer: 'viewer', operator: 'operator', approver: 'approver' } },
    hosts: [
      {
        name: 'staging', transport: 'ssh', address: env.sshHost, port: env.sshPort, user: env.user, keyPath: env.keyPath,
        hostKeyFingerprint: env.hostKeyFingerprint, projectDir: env.projectDir, composeFiles: env.composeFiles, commandTimeoutSeconds: 60,
        healthChecks: { adonisjs: { url: `http://127.0.0.1:${env.ports.adonisjs}/health` } },
      },
    ],
    gates: { expiryMinutes: 5, fourEyes: [] },
    database: { path: join(dir, 'opsbot.db') },
    http: { listen: '127.0.0.1:0' },
    log: { level: 'info' },
  };
  const configPath = join(dir, 'opsbot.yaml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { DISCORD_TOKEN: double.token, DISCORD_API_URL: double.apiUrl, OPSBOT_CONFIG: configPath, OPSBOT_ALERTMANAGER_TOKEN: ALERT_TOKEN };
}

async function benchChild(env: StagingEnv, startDouble: () => Promise<DiscordDouble>): Promise<void> {
  // Loaded only now: the TypeScript compiler alone would add ~100 MB to the in-process figures.
  const { compileBot } = await import('./compile.js');
  const outDir = compileBot(ROOT, ['bench/bot-child.ts', 'bench/floor-client.ts']);
  onCleanup('remove the compiled bot', () => rmSync(outDir, { recursive: true, force: true }));
  const double = await startDouble();
  onCleanup('close the child\'s Discord double', async () => {
    collectViolations(double);
    await double.close();
  });
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-bench-child-'));
  onCleanup('remove the child\'s config and database', () => rmSync(dir, { recursive: true, force: true }));
  const spawnedAt = performance.now();
  let httpListen: string | undefined;
  // The node flags of `npm start` and the image's CMD, so the figure is that of the bot as it runs.
  const bot = await startBotProcess([...START_FLAGS, '--expose-gc', join(outDir, 'bench', 'bot-child.js')], { ...process.env, ...botChildEnv(env, double, dir) }, {
    name: 'the bot child',
    cwd: ROOT,
    ipc: true,
    onLine: (line) => void (httpListen ??= /"msg":"http server listening"/.test(line) ? /"listen":"([^"]+)"/.exec(line)?.[1] : undefined),
  });
  const { child, pid } = bot;
  const stopChild = () => bot.stop((p) => say(`bot child ${p} did not stop within 10 s: SIGKILL`));
  onCleanup(`stop the bot child (pid ${pid})`, stopChild);
  const startupMs = performance.now() - spawnedAt;
  say(`  bot child pid ${pid} started in ${ms(startupMs)}`);

  await sleep(1000);
  const idle = await childMem(child);
  const idleVm = procMemory(pid, 'VmRSS');
  say(`  idle: rss ${mib(idle.rss)}, heap used ${mib(idle.heapUsed)}`);

  await coldBurst(env, double, httpListen);
  await sleep(500);
  const afterPs = await childMem(child);

  row('5. idle RSS after startup (bot child process, after GC)', mib(idle.rss), '< 100 MB', idle.rss < 100 * MiB);
  row('5. idle RSS after first /ps (bot child, SSH open, after GC)', mib(afterPs.rss), '— (none given)', 'info');
  notes.push(
    `5. Idle RSS (child): the real entry point src/main.ts, transpiled to plain JavaScript in a temporary folder (TypeScript's transpileModule, no tsx loader) ` +
      `and started as \`node --expose-gc\` with an IPC channel (bench/bot-child.ts) against its own Discord double in the bench process; log level info to a pipe. ` +
      `Measured 1 s after "opsbot started" (login, READY, command registration: ${ms(startupMs)} from spawn), after a full GC inside the child: ` +
      `process.memoryUsage().rss ${mib(idle.rss)} (/proc VmRSS ${mib(idleVm)}; heap used ${mib(idle.heapUsed)} of ${mib(idle.heapTotal)}, external ${mib(idle.external)}). ` +
      `The bot opens no SSH connection until the first command; after one /ps and a GC: rss ${mib(afterPs.rss)}, heap used ${mib(afterPs.heapUsed)}.`,
  );

  const runs: LogsRun[] = [];
  for (let i = 0; i < LOGS_RUNS; i++) {
    const r = await logsOnce(double, pid, () => procMemory(pid, 'VmRSS'), async () => {
      await childMem(child);
      await sleep(200);
    });
    runs.push(r);
    say(`  child /logs run ${i + 1}: first page ${ms(r.ms)}, ${r.lines} lines, peak ${mib(Math.max(r.sampledPeak, r.hwm))}`);
  }
  logsRows('bot child process', runs, true);
  say(`8. alert webhooks: ${ALERTS_PER_SECOND}/s for ${ALERT_SECONDS} s into the bot child`);
  try {
    if (httpListen === undefined) throw new Error('the bot child logged no "http server listening" line');
    const alerts = await benchAlerts(double, `http://${httpListen}`, ALERT_TOKEN);
    for (const r of alerts.rows) row(r.metric, r.measured, r.target, r.ok);
    notes.push(alerts.note);
  } catch (err) {
    failed('8. alert webhook → message posted', 'p99 < 500 ms', err);
  }
  await stopChild(); // idle, but nothing else of the bench's may run beside the fresh starts below
  const runDirs: string[] = [];
  onCleanup('remove the 7b/7c configs and databases', () => runDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const script = (name: string) => join(outDir, 'bench', name);
  const opsbot: FloorClient = {
    name: 'opsbot',
    spawnSpec: (d) => {
      const runDir = mkdtempSync(join(tmpdir(), 'opsbot-bench-fresh-'));
      runDirs.push(runDir);
      return { args: [script('bot-child.js')], env: botChildEnv(env, d, runDir) };
    },
  };
  say(`7c. ${SPREAD_STARTS} fresh starts, 50 /ps within a second`);
  try {
    const spread = await benchSpreadBurst(opsbot, startDouble, START_FLAGS, say);
    rows.push(...spread.rows);
    notes.push(spread.note);
  } catch (err) {
    failed('7c. cold start, 50 /ps within a second', 'ack p99 < 50 ms', err);
  }
  say(`7b. the cold burst against opsbot and two clients that only acknowledge, ${FLOOR_STARTS} fresh starts each`);
  try {
    const floor = await benchAckFloor(
      [
        opsbot,
        { name: 'bare discord.js client (defers, nothing else)', spawnSpec: () => ({ args: [script('floor-client.js'), 'discordjs'], env: {} }) },
        { name: 'no library, ws + node:http (defers, nothing else)', spawnSpec: () => ({ args: [script('floor-client.js'), 'raw'], env: {} }) },
      ],
      startDouble,
      START_FLAGS,
      say,
    );
    rows.push(...floor.rows);
    notes.push(floor.note);
  } catch (err) {
    failed('7b. cold-burst acknowledgements, opsbot vs clients that only acknowledge', '—', err);
  }
  notes.push(
    `4b. /logs (child): the same command against the bot child; its RSS read from /proc/<pid>/status (VmRSS) every ${RSS_SAMPLE_MS} ms by the bench ` +
      `process, and its kernel peak mark (VmHWM) reset through /proc/<pid>/clear_refs before each run and read after it; the table shows the larger of the two, max over ` +
      `${LOGS_RUNS} runs (GC in the child before each). This is the bot alone. ${describeLogsRuns(runs)}.`,
  );
}

// ---------------------------------------------------------------------------------------------

/**
 * The staging fleet's engines (bench/fleet.ts and the fleet e2e tests start them, and keep them
 * with OPSBOT_KEEP_STAGING) that are running now, by their pid files.
 */
function fleetEnginesRunning(): string[] {
  const dir = join(stagingDir(), 'fleet');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((member) => {
    try {
      process.kill(Number(readFileSync(join(dir, member, 'docker.pid'), 'utf8').trim()), 0);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * What else loads the machine as the bench starts. On 2 cores the figures move with it: with the
 * two fleet engines left running (their containers and health checks), the cold burst's final
 * p99 read 1788 ms against 1130 ms without them, minutes apart.
 */
function machineAtStart(): void {
  const fleet = fleetEnginesRunning();
  const load = loadavg().map((x) => x.toFixed(2)).join(' / ');
  row('0. the machine as the bench starts: load average (1 / 5 / 15 min)', `${load} on ${availableParallelism()} cores${fleet.length > 0 ? `; fleet engines running: ${fleet.join(', ')}` : ''}`, '—', 'info');
  if (fleet.length > 0) say(`WARNING: the staging fleet's engines are running (${fleet.join(', ')}); they load the machine and skew every figure. \`bash test/staging/down\` stops them (and the main host, which the bench starts again).`);
}

async function main(): Promise<void> {
  say(`GC: ${gcHow}`);
  machineAtStart();
  say('6. redaction of 10 MB of hostile text (no staging host needed)');
  try {
    const redaction = (await import('./redact.js')).benchRedact();
    rows.push(...redaction.rows);
    notes.push(...redaction.notes);
  } catch (err) {
    failed('6. redact 10 MB of hostile text', '< 1 s', err);
  }
  const env = await ensureStaging();
  const leftovers = await removeBenchContainers();
  if (leftovers > 0) say(`removed ${leftovers} containers left by an earlier bench run`);

  if (process.env.BENCH_ONLY === 'child') {
    // Quick mode: only the bot as its own process (cold burst, idle RSS, /logs in the child).
    const { startDiscordDouble } = await import('../test/discord-double/index.js');
    await plantLogLines(env);
    await benchChild(env, () => startDiscordDouble());
    return;
  }
  // Baseline of the bench process before any bot, double or discord.js module is loaded.
  await fullGc();
  const baseline = process.memoryUsage().rss;

  const { startHarness } = await import('../test/e2e/harness.js');
  const { startDiscordDouble } = await import('../test/discord-double/index.js');
  say('starting the bot in-process (startHarness)');
  const startup = await timed(() => startHarness());
  const h = startup.value;
  let harnessStopped = false;
  const stopHarness = async (): Promise<void> => {
    if (harnessStopped) return;
    harnessStopped = true;
    collectViolations(h.double);
    await h.stop();
  };
  onCleanup('stop the in-process bot and double', stopHarness);
  // The harness keeps every log line in memory; the bench does not need them.
  const dropLogs = setInterval(() => void (h.logs.length = 0), 1000);
  onCleanup('stop dropping harness logs', () => clearInterval(dropLogs));
  await sleep(1000);
  h.logs.length = 0;
  await fullGc();
  const inProcIdle = process.memoryUsage().rss;
  row('5. idle RSS after startup (in-process: bench + bot + double, after GC)', mib(inProcIdle), '— (none given)', 'info');
  notes.push(
    `5. Idle RSS (in-process): process.memoryUsage().rss of the bench process after a full GC (${gcHow}), 1 s after \`startHarness()\` returned ` +
      `(${ms(startup.ms)}). It holds the bot, the Discord double, tsx and the bench: the bench alone before loading them was ${mib(baseline)}, ` +
      `so bot + double + their modules ≈ ${mib(inProcIdle - baseline)}.`,
  );

  say('warm-up /ps (opens the SSH connection)');
  const first = await ps(h.double);
  say(`  first /ps (cold SSH connection) ${ms(first.ms)}`);
  collectViolations(h.double);

  say(`1. ack latency: ${ACK_WARMUP_ROUNDS} + ${ACK_ROUNDS} rounds of ${ACK_CONCURRENCY} concurrent /ps`);
  await benchAck(h);
  collectViolations(h.double);

  say('2. /ps vs fresh ssh vs on-host compose');
  await benchPs(h, env);
  notes.push(`2. (For reference: the very first /ps, which opened the SSH connection, took ${ms(first.ms)}.)`);
  collectViolations(h.double);

  say('3. /stats with 5 and with 30 containers');
  await benchStats(h, env);
  collectViolations(h.double);

  say(`4. /logs of ${LOG_LINES} lines`);
  let planted = false;
  try {
    await plantLogLines(env);
    planted = true;
    const runs: LogsRun[] = [];
    for (let i = 0; i < LOGS_RUNS; i++) {
      const r = await logsOnce(h.double, 'self', () => process.memoryUsage().rss, async () => {
        h.logs.length = 0;
        collectViolations(h.double); // also drops the double's recorded requests (the 1 MB attachments)
        await fullGc();
        await sleep(200);
      });
      runs.push(r);
      say(`  in-process /logs run ${i + 1}: first page ${ms(r.ms)}, ${r.lines} lines, peak ${mib(Math.max(r.sampledPeak, r.hwm))}`);
    }
    logsRows('in-process, incl. double + tsx', runs, true);
    notes.push(
      `4. /logs: ${LOG_LINES} numbered lines written to the adonisjs container's stdout (\`docker exec … seq 1 ${LOG_LINES} | sed … > /proc/1/fd/1\`, as ` +
        `test/e2e/logs.test.ts does), then \`/logs service:adonisjs since:${logsSince}\` (an absolute \`since\`, one second before the planting, rather than \`since:5m\`, ` +
        `which would also return the lines of a bench run in the last 5 minutes; \`since\` alone means every line since then, no \`lines\` cap: the planted ` +
        `lines plus the few the container logged itself meanwhile). First page = wall time from ` +
        `\`sendCommand\` to the reply with the page buttons (that reply also carries the .txt attachment). ${LOGS_RUNS} runs, median time. ` +
        `In-process peak RSS: process.memoryUsage().rss of the bench process sampled every ${RSS_SAMPLE_MS} ms (a busy event loop samples less often) and ` +
        `the kernel's VmHWM after resetting it (/proc/self/clear_refs) before each run; the larger, max over the runs. This figure INCLUDES the Discord ` +
        `double (which parses the multipart upload and stores the attachment), tsx and the bench itself; full GC before each run. ${describeLogsRuns(runs)}.`,
    );
  } catch (err) {
    failed(`4. /logs ${LOG_LINES} lines (in-process)`, '< 1 s; < 150 MB', err);
  }
  collectViolations(h.double);

  say('stopping the in-process bot');
  clearInterval(dropLogs);
  await stopHarness();

  say('4b/5. the bot as a child process');
  if (planted) {
    try {
      await benchChild(env, () => startDiscordDouble());
    } catch (err) {
      failed('4b/5. bot child process', '< 1 s; < 150 MB', err);
    }
  } else {
    problems.push('4b/5: skipped the child process (the log lines could not be planted)');
  }
}

function report(): void {
  const order = (r: Row) => Number(/^(\d)/.exec(r.metric)?.[1] ?? 9);
  const sorted = [...rows].sort((a, b) => order(a) - order(b));
  const out: string[] = ['', 'opsbot benchmarks', '', formatTable(sorted), '', 'How each figure was measured:'];
  for (const n of notes.sort((a, b) => (a.match(/^\d/)?.[0] ?? '9').localeCompare(b.match(/^\d/)?.[0] ?? '9'))) out.push(`- ${n}`);
  out.push(`- Discord rule violations recorded by the doubles during the bench: ${violations.length === 0 ? 'none' : violations.length}.`);
  for (const v of violations.slice(0, 5)) out.push(`    ${v.route} → ${v.status}/${v.code}: ${v.reason}`);
  for (const p of problems) out.push(`- PROBLEM: ${p}`);
  out.push(`- Total bench time ${((performance.now() - T0) / 1000).toFixed(0)} s on ${process.platform}, node ${process.version}.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  problems.push(`the bench stopped early: ${err instanceof Error ? err.message : String(err)}`);
  say(`FATAL: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
} finally {
  await cleanup();
}
report();
process.exit(exitCode);
