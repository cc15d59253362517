import { Agent } from 'node:http';
import { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import Docker from 'dockerode';

/**
 * A socket for the HTTP agent that is returned at once and attaches to its SSH channel when that
 * opens. Returning synchronously matters: Node's agent counts a socket only once createConnection
 * has delivered it, so an asynchronous one lets a burst open more channels than `maxSockets`
 * (and past OpenSSH's 10 per connection).
 */
class ChannelSocket extends Duplex {
  private channel: Duplex | undefined;
  private queued: { chunk: Buffer; callback: (err?: Error | null) => void }[] = [];
  private ending = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(open: Promise<Duplex>) {
    super();
    open.then(
      (ch) => {
        if (this.destroyed) return void ch.destroy();
        this.channel = ch;
        ch.on('data', (d: Buffer) => {
          this.touch();
          if (!this.push(d)) ch.pause();
        });
        ch.on('end', () => this.push(null));
        ch.on('error', (err: Error) => this.destroy(err));
        ch.on('close', () => this.destroy());
        for (const q of this.queued) ch.write(q.chunk, q.callback);
        this.queued = [];
        if (this.ending) ch.end();
      },
      (err: Error) => this.destroy(err),
    );
  }

  override _read(): void {
    this.channel?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.touch();
    if (this.channel) this.channel.write(chunk, callback);
    else this.queued.push({ chunk, callback });
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.channel) this.channel.end();
    else this.ending = true;
    callback();
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    this.channel?.destroy();
    callback(err);
  }

  // What http expects of a net.Socket: an idle timeout reset by traffic; 0 disarms it and
  // removes the listener (http relies on that to detach a request from a kept-alive socket).
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touch();
    return this;
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = this.idleMs > 0 && !this.destroyed ? setTimeout(() => this.emit('timeout'), this.idleMs) : undefined;
  }

  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/**
 * An HTTP agent whose sockets are `docker system dial-stdio` streams over the host's one SSH
 * connection. dockerode's own `ssh` protocol opens a new SSH connection per API call, which is
 * slow and trips sshd's MaxStartups; keep-alive here lets a few channels carry every request.
 */
class DockerStreamAgent extends Agent {
  constructor(private readonly open: () => Promise<Duplex>) {
    // Few sockets: each holds an SSH channel, and OpenSSH allows 10 per connection.
    super({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4, timeout: 30_000 });
  }

  override createConnection(): Duplex {
    return new ChannelSocket(this.open());
  }

  // docker-modem formats its request options (agent included) for a debug line on every call,
  // even with debugging off; without this, that walks the whole SSH client each time.
  [inspect.custom](): string {
    return 'DockerStreamAgent';
  }
}

export function dockerOver(open: () => Promise<Duplex>): { docker: Docker; agent: Agent } {
  const agent = new DockerStreamAgent(open);
  // A timeout turns a request stuck on a dead channel into an error instead of a hang.
  const docker = new Docker({ protocol: 'http', host: 'docker', port: 2375, agent, timeout: 60_000 } as Docker.DockerOptions);
  return { docker, agent };
}
