/**
 * A TCP proxy on loopback that delays every chunk by a fixed time each way, so a staging host on
 * this machine answers with the round-trip time of a host elsewhere (this machine's kernel has no
 * netem). Run as its own process, so its work is not counted as the bot's:
 *
 *   tsx bench/latency-proxy.ts ONE_WAY_MS TARGET_PORT [TARGET_PORT…]
 *
 * For each target it listens on a free 127.0.0.1 port and prints one line `TARGET_PORT PROXY_PORT`,
 * then `ready`. Order is kept: every chunk waits the same time. It stops on SIGTERM or when its
 * standard input closes (its parent went away).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

const [delayArg, ...targetArgs] = process.argv.slice(2);
const delayMs = Number(delayArg);
const targets = targetArgs.map(Number);
if (!Number.isFinite(delayMs) || delayMs < 0 || targets.length === 0 || targets.some((p) => !Number.isInteger(p) || p <= 0)) {
  process.stderr.write('usage: latency-proxy ONE_WAY_MS TARGET_PORT [TARGET_PORT…]\n');
  process.exit(2);
}

/** Copies `from` to `to`, each chunk `delayMs` later; ends `to` after the last chunk. */
function delayed(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => setTimeout(() => to.writable && to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

const servers: Server[] = [];
for (const target of targets) {
  const server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = createConnection({ host: '127.0.0.1', port: target, noDelay: true });
    delayed(client, upstream);
    delayed(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  process.stdout.write(`${target} ${(server.address() as { port: number }).port}\n`);
}
process.stdout.write('ready\n');

const stop = () => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
