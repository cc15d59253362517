import type { Readable } from 'node:stream';
import type { Host } from '../src/host/index.js';

/** The most log bytes kept from one read; older bytes are dropped, and the result says so. */
export const LOG_BYTE_CAP = 8 * 1024 * 1024;

export interface ContainerLogs {
  text: string;
  /** Bytes dropped from the start to stay within the cap (0: the text is whole). */
  droppedBytes: number;
}

/** Keeps the newest `cap` bytes of what is pushed, in chunks: memory stays bounded whatever arrives. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.cap) {
      const first = this.chunks[0]!;
      const over = this.size - this.cap;
      if (first.length <= over) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(over);
        this.size -= over;
        this.dropped += over;
      }
    }
  }
  text(): string {
    const text = Buffer.concat(this.chunks, this.size).toString('utf8');
    // A cut start is mid-line (maybe mid-character): begin at the first whole line.
    return this.dropped > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  }
}

/**
 * Reads a container's log through the Docker API (compose v1's `logs` has no --since, and the
 * CLI splits stdout from stderr), streamed and byte-capped: a log of huge lines must neither
 * reach V8's string limit nor be copied whole several times. Non-TTY logs come as frames
 * [stream, 0, 0, 0, size] + bytes, in the order they were written.
 */
export async function containerLogs(host: Host, containerId: string, opts: { tail: number; since?: number; cap?: number }): Promise<ContainerLogs> {
  const container = host.docker.getContainer(containerId);
  const info = await container.inspect();
  const options = { follow: false, stdout: true, stderr: true, tail: opts.tail, ...(opts.since === undefined ? {} : { since: opts.since }) };
  // dockerode buffers a non-follow log whole; asking the modem for the stream directly does not.
  const modem = container.modem as { dial(o: object, cb: (err: Error | null, stream: Readable) => void): void };
  const stream = await new Promise<Readable>((resolve, reject) => {
    modem.dial({ path: `/containers/${containerId}/logs?`, method: 'GET', isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' }, options }, (err, s) => (err ? reject(err) : resolve(s)));
  });
  return readLogStream(stream, info.Config.Tty, opts.cap ?? LOG_BYTE_CAP);
}

/**
 * A swarm service's log (all its tasks, on whichever node they run) through the Docker API of the
 * manager: `docker service logs` without the CLI, streamed and byte-capped like containerLogs.
 * Swarm applies `tail` to each task and sends the tasks one after the other: the lines are merged
 * by their timestamps (kept at the start of each line) and the newest `tail` of them kept.
 */
export async function serviceLogs(host: Host, serviceId: string, opts: { tail: number; since?: number; cap?: number }): Promise<ContainerLogs> {
  const service = host.docker.getService(serviceId);
  const info = (await service.inspect()) as { Spec?: { TaskTemplate?: { ContainerSpec?: { TTY?: boolean } } } };
  const options = { follow: false, stdout: true, stderr: true, timestamps: true, tail: opts.tail, ...(opts.since === undefined ? {} : { since: opts.since }) };
  const modem = service.modem as { dial(o: object, cb: (err: Error | null, stream: Readable) => void): void };
  const stream = await new Promise<Readable>((resolve, reject) => {
    modem.dial({ path: `/services/${serviceId}/logs?`, method: 'GET', isStream: true, statusCodes: { 200: true, 404: 'no such service', 500: 'server error', 503: 'node is not part of a swarm' }, options }, (err, s) => (err ? reject(err) : resolve(s)));
  });
  const read = await readLogStream(stream, info.Spec?.TaskTemplate?.ContainerSpec?.TTY === true, opts.cap ?? LOG_BYTE_CAP);
  // RFC 3339 timestamps of one clock sort as text; a stable sort keeps each task's own order.
  const lines = read.text.split('\n').filter((l) => l.length > 0);
  lines.sort((a, b) => (a.slice(0, a.indexOf(' ')) < b.slice(0, b.indexOf(' ')) ? -1 : a.slice(0, a.indexOf(' ')) > b.slice(0, b.indexOf(' ')) ? 1 : 0));
  const kept = lines.slice(-opts.tail);
  return { text: kept.length > 0 ? `${kept.join('\n')}\n` : '', droppedBytes: read.droppedBytes };
}

async function readLogStream(stream: Readable, tty: boolean, cap: number): Promise<ContainerLogs> {
  const tail = new Tail(cap);
  let pending = Buffer.alloc(0);
  let frameLeft = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (tty) {
      tail.push(chunk);
      continue;
    }
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (frameLeft > 0) {
        const part = buf.subarray(0, frameLeft);
        tail.push(part);
        frameLeft -= part.length;
        buf = buf.subarray(part.length);
        continue;
      }
      if (buf.length < 8) {
        pending = Buffer.from(buf);
        break;
      }
      frameLeft = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
  }
  return { text: tail.text(), droppedBytes: tail.dropped };
}
