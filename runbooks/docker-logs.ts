import type { Host } from '../src/host/index.js';

/**
 * Reads a container's log through the Docker API (compose v1's `logs` has no --since, and the
 * CLI splits stdout from stderr). Non-TTY logs come as frames [stream, 0, 0, 0, size] + bytes,
 * in the order they were written.
 */
export async function containerLogs(host: Host, containerId: string, opts: { tail: number; since?: number }): Promise<string> {
  const container = host.docker.getContainer(containerId);
  const info = await container.inspect();
  const raw = (await container.logs({ follow: false, stdout: true, stderr: true, tail: opts.tail, ...(opts.since === undefined ? {} : { since: opts.since }) })) as unknown as Buffer;
  if (info.Config.Tty) return raw.toString('utf8');
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
