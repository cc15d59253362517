/**
 * 7b. Where the cold-burst acknowledgement figure comes from. The same burst (50 /ps in one tick,
 * 1 s after the client said it started, through a fresh Discord double) sent to three processes,
 * interleaved over several fresh starts:
 *   - opsbot (the real entry point, as in 7);
 *   - a bare discord.js client that only defers (bench/floor-client.ts discordjs);
 *   - a client with no Discord library at all, ws + node:http (bench/floor-client.ts raw).
 * If opsbot acknowledges like the clients that do nothing else, its own code is not what sets
 * the figure: the library, the double and the machine are.
 */
import type { DiscordDouble } from '../test/discord-double/index.js';
import { startBotProcess } from './bot-process.js';
import { list, median, ms, percentile, sleep, type Row } from './lib.js';

export const FLOOR_STARTS = 5;
const BURST = 50;

export interface FloorClient {
  name: string;
  /** The node script and its arguments, and the environment beyond DISCORD_TOKEN, DISCORD_API_URL and GUILD_ID. */
  spawnSpec(double: DiscordDouble): { args: string[]; env: NodeJS.ProcessEnv };
}

/**
 * One cold burst against one fresh client: per interaction, the double's ack latency and the time
 * from its own send to its reply (Infinity when none came). `spreadMs` 0 sends all in one tick;
 * otherwise evenly over that time.
 */
async function burstOnce(
  client: FloorClient,
  startDouble: () => Promise<DiscordDouble>,
  nodeFlags: readonly string[],
  spreadMs = 0,
): Promise<{ acks: number[]; finals: number[] }> {
  const double = await startDouble();
  try {
    const spec = client.spawnSpec(double);
    const bot = await startBotProcess([...nodeFlags, ...spec.args], { ...process.env, DISCORD_TOKEN: double.token, DISCORD_API_URL: double.apiUrl, GUILD_ID: double.guild.id, ...spec.env }, { name: client.name });
    try {
      await sleep(1000);
      const sent: { handle: ReturnType<DiscordDouble['sendCommand']>; at: number }[] = [];
      for (let k = 0; k < BURST; k++) {
        if (spreadMs > 0 && k > 0) await sleep(spreadMs / BURST);
        sent.push({ handle: double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' }), at: performance.now() });
      }
      const acks = await Promise.allSettled(sent.map((x) => x.handle.acknowledged({ timeoutMs: 5000 })));
      // Also lets the replies finish before the next start: their work must not overlap the next burst.
      const finals = await Promise.allSettled(sent.map((x) => x.handle.waitForReply(undefined, { timeoutMs: 30_000 }).then(() => performance.now() - x.at)));
      return {
        acks: acks.map((a) => (a.status === 'fulfilled' ? a.value.latencyMs : Number.POSITIVE_INFINITY)),
        finals: finals.map((f) => (f.status === 'fulfilled' ? f.value : Number.POSITIVE_INFINITY)),
      };
    } finally {
      await bot.stop();
    }
  } finally {
    await double.close();
  }
}

export async function benchAckFloor(
  clients: readonly FloorClient[],
  startDouble: () => Promise<DiscordDouble>,
  nodeFlags: readonly string[],
  say: (msg: string) => void,
): Promise<{ rows: Row[]; note: string }> {
  const perStart = new Map<string, number[]>(clients.map((c) => [c.name, []]));
  const all = new Map<string, number[]>(clients.map((c) => [c.name, []]));
  for (let start = 0; start < FLOOR_STARTS; start++) {
    // Interleaved, so that what else the machine does at the time weighs on all of them alike.
    for (const client of clients) {
      const latencies = (await burstOnce(client, startDouble, nodeFlags)).acks;
      perStart.get(client.name)!.push(percentile(latencies, 99));
      all.get(client.name)!.push(...latencies);
      say(`  7b. start ${start + 1}/${FLOOR_STARTS}, ${client.name}: ack p99 ${ms(percentile(latencies, 99))}`);
    }
  }
  const rows: Row[] = clients.map((c) => {
    const p99s = perStart.get(c.name)!;
    const sorted = [...p99s].sort((a, b) => a - b);
    return {
      metric: `7b. cold burst of ${BURST} /ps, ack p99 from the double, ${FLOOR_STARTS} fresh starts: ${c.name}`,
      measured: `median ${ms(median(p99s))} (${list(sorted.map(Math.round))} ms); all ${all.get(c.name)!.length}: p99 ${ms(percentile(all.get(c.name)!, 99))}`,
      target: '—',
      verdict: 'info',
    };
  });
  const note =
    `7b. The cold burst of 7 against three processes, each started afresh ${FLOOR_STARTS} times, interleaved (opsbot, then the others, then opsbot again…), ` +
    `each through its own new double: ${clients.map((c) => c.name).join('; ')}. Each waited 1 s after it said it started, got ${BURST} /ps in one tick, and ` +
    `its replies were awaited before the next start. The per-start figure is the p99 (with ${BURST} interactions, the slowest); "all" pools every ` +
    `interaction of the ${FLOOR_STARTS} starts. The clients that do nothing but acknowledge show what the double, the library and this machine cost before ` +
    `any opsbot code runs.`;
  return { rows, note };
}

export const SPREAD_STARTS = 3;
const SPREAD_MS = 1000;

/**
 * 7c. Issue 7's own scenario: a freshly started bot, 50 members sending /ps within a second (one
 * every 20 ms), each started afresh SPREAD_STARTS times. An interaction that arrives while the bot
 * is busy with an earlier one's work (loading a library, the SSH handshake, parsing the compose
 * configuration) waits for the event loop: the burst in one tick (7) cannot show that.
 */
export async function benchSpreadBurst(
  client: FloorClient,
  startDouble: () => Promise<DiscordDouble>,
  nodeFlags: readonly string[],
  say: (msg: string) => void,
): Promise<{ rows: Row[]; note: string }> {
  const acks: number[] = [];
  const finals: number[] = [];
  const perStart: number[] = [];
  for (let start = 0; start < SPREAD_STARTS; start++) {
    const r = await burstOnce(client, startDouble, nodeFlags, SPREAD_MS);
    acks.push(...r.acks);
    finals.push(...r.finals);
    perStart.push(percentile(r.acks, 99));
    say(`  7c. start ${start + 1}/${SPREAD_STARTS}: ack p50 ${ms(percentile(r.acks, 50))}, p99 ${ms(percentile(r.acks, 99))}; reply p99 ${ms(percentile(r.finals, 99))}`);
  }
  const metric = `7c. cold start, ${BURST} /ps within ${SPREAD_MS / 1000} s (one every ${SPREAD_MS / BURST} ms), ${SPREAD_STARTS} fresh starts (bot child)`;
  const ackP99 = percentile(acks, 99);
  const finalP99 = percentile(finals, 99);
  return {
    rows: [
      { metric: `${metric}: ack p99 (from the double)`, measured: `${ms(ackP99)} (p50 ${ms(percentile(acks, 50))}; per start ${list(perStart)} ms)`, target: '< 50 ms', verdict: ackP99 < 50 ? 'PASS' : 'MISS' },
      { metric: `${metric}: reply p99 (each from its own send)`, measured: ms(finalP99), target: 'p99 < 1.5 s', verdict: finalP99 < 1500 ? 'PASS' : 'MISS' },
    ],
    note:
      `7c. The bot child started afresh ${SPREAD_STARTS} times (as in 7b, each with its own new double), ${BURST} /ps sent ${SPREAD_MS / BURST} ms apart ` +
      `starting 1 s after "opsbot started": issue 7's "50 members sending /ps within a second". Ack latency as in 7; reply latency from each /ps's own ` +
      `send to its reply with the services. p99 over all ${acks.length} interactions.`,
  };
}
