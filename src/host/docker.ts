import { Agent } from 'node:http';
import { Duplex, Readable } from 'node:stream';
import { inspect } from 'node:util';
import { loadDockerode } from './dockerode.js';
import type Docker from 'dockerode';
import type { ClientChannel } from 'ssh2';
import { UserError } from '../engine/errors.js';

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

  constructor(
    open: Promise<Duplex>,
    private readonly hostName: string,
    private readonly report: (err: UserError) => void,
  ) {
    super();
    open.then(
      (ch) => {
        if (this.destroyed) return void ch.destroy();
        this.channel = ch;
        // `docker system dial-stdio` on the host: what it says on stderr, and how it exited.
        let stderr = '';
        let exit: { code: number | null; signal: string | null } | undefined;
        (ch as Partial<ClientChannel>).stderr?.on('data', (d: Buffer) => {
          if (stderr.length < 1000) stderr += d.toString('utf8');
        });
        ch.on('exit', (code: number | null, signal?: string) => {
          exit = { code, signal: signal ?? null };
        });
        ch.on('data', (d: Buffer) => {
          this.touch();
          if (!this.push(d)) ch.pause();
        });
        // The end of the stream is judged at 'close', once the exit status is known: a dropped
        // link or a dead engine must fail the request in flight. A plain end would leave a
        // response cut mid-body waiting forever (node's http reports no error for that).
        // A local `docker system dial-stdio` (LocalTransport) has no exit status to wait for.
        const viaSsh = 'stderr' in ch;
        if (!viaSsh) ch.on('end', () => this.push(null));
        ch.on('close', () => {
          // Closed from our side (agent idle timeout, request destroyed): nothing to report.
          if (this.destroyed) return;
          if (!viaSsh) {
            this.destroy();
          } else if (exit?.code === 0) {
            this.push(null);
            this.destroy();
          } else {
            this.destroy(this.failure(exit, stderr.trim()));
          }
        });
        ch.on('error', (err: Error) => this.destroy(err));
        for (const q of this.queued) ch.write(q.chunk, q.callback);
        this.queued = [];
        if (this.ending) ch.end();
      },
      (err: Error) => this.destroy(err),
    );
  }

  private failure(exit: { code: number | null; signal: string | null } | undefined, stderr: string): UserError {
    const err = this.describe(exit, stderr);
    this.report(err);
    return err;
  }

  private describe(exit: { code: number | null; signal: string | null } | undefined, stderr: string): UserError {
    if (exit === undefined) {
      return new UserError('host.connection-lost', `The SSH connection to host "${this.hostName}" was lost during a Docker API call; the call was cut off. Try again.`);
    }
    if (exit.code !== null && /Cannot connect to the Docker daemon|raw stream connection|docker\.sock|Is the docker daemon running/i.test(stderr)) {
      return new UserError('host.docker-unreachable', `Docker on host "${this.hostName}" is not running or cannot be reached: ${stderr.slice(0, 300)}. Nothing was run.`);
    }
    const how = exit.code === null ? `was killed (${exit.signal ?? 'signal'})` : `exited ${exit.code}`;
    return new UserError('host.docker-unreachable', `The Docker API stream to host "${this.hostName}" (\`docker system dial-stdio\`) ${how}${stderr ? `: ${stderr.slice(0, 300)}` : ''}. Docker on that host cannot be reached right now.`);
  }

  /** The link under this socket is gone: fail a request in flight with a clear error. */
  linkLost(): void {
    this.destroy(this.failure(undefined, ''));
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
  /** Why the last stream broke, to explain the bare "aborted" / "socket hang up" node reports. */
  private lastFailure: { err: UserError; at: number } | undefined;

  constructor(
    private readonly open: () => Promise<Duplex>,
    private readonly hostName: string,
  ) {
    // Few sockets: each holds an SSH channel, and OpenSSH allows 10 per connection.
    super({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4, timeout: 30_000 });
  }

  override createConnection(): Duplex {
    return new ChannelSocket(this.open(), this.hostName, (err) => {
      this.lastFailure = { err, at: Date.now() };
    });
  }

  /**
   * A request's error as the person who asked should read it. When a stream breaks mid-response,
   * node's http reports only "aborted" (ECONNRESET), whatever the socket was destroyed with.
   */
  explain(err: unknown): unknown {
    if (err instanceof UserError) return err;
    const e = err as { code?: unknown; message?: unknown } | null;
    const broken = e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || e?.code === 'ECONNABORTED' || e?.message === 'socket hang up' || e?.message === 'aborted';
    if (!broken) return err;
    const recent = this.lastFailure !== undefined && Date.now() - this.lastFailure.at < 10_000 ? this.lastFailure.err : undefined;
    return recent ?? new UserError('host.connection-lost', `The Docker API connection to host "${this.hostName}" broke off (${String(e?.message)}); the call was cut off. Try again.`, { cause: err });
  }

  /**
   * Closes every idle kept-alive channel. When one turned out dead, the others were opened to the
   * same engine and most likely died with it; a retry must not land on one of them.
   */
  dropIdle(): void {
    for (const list of Object.values(this.freeSockets)) for (const socket of list ?? []) socket.destroy();
  }

  /**
   * Called when the SSH link drops: sockets carrying a request fail it with a clear error first
   * (destroyed without one, a response cut mid-body would never settle), then everything goes.
   */
  override destroy(): void {
    for (const list of Object.values(this.sockets)) {
      for (const socket of list ?? []) if (socket instanceof ChannelSocket) socket.linkLost();
    }
    super.destroy();
  }

  // docker-modem formats its request options (agent included) for a debug line on every call,
  // even with debugging off; without this, that walks the whole SSH client each time.
  [inspect.custom](): string {
    return 'DockerStreamAgent';
  }
}

export function dockerOver(open: () => Promise<Duplex>, hostName = 'the host'): { docker: Docker; agent: Agent } {
  const agent = new DockerStreamAgent(open, hostName);
  // The bot loaded it at start (loadHostClients); the CLI's commands load it here, when they reach a host.
  const DockerClient = loadDockerode();
  // A timeout turns a request stuck on a dead channel into an error instead of a hang.
  const docker = new DockerClient({ protocol: 'http', host: 'docker', port: 2375, agent, timeout: 60_000 } as Docker.DockerOptions);
  // Every dockerode call ends in modem.dial's callback: the one place to explain a broken stream.
  const modem = docker.modem as unknown as { dial: (options: unknown, callback: (err: unknown, data: unknown) => void) => unknown };
  const dial = modem.dial.bind(modem);
  // A kept-alive channel can die while idle (dockerd restarted, the host's dial-stdio gone): a
  // read that fails on it before any answer is tried once more on a fresh channel, which then
  // either works or fails with the reason (e.g. "Docker is not running").
  const stale = (err: unknown) => {
    const e = err as { code?: unknown; message?: unknown } | null;
    return e?.code === 'ECONNRESET' || e?.message === 'socket hang up';
  };
  modem.dial = (options, callback) => {
    const attempt = (retried: boolean): unknown =>
      dial(options, (err, data) => {
        if (err && !retried && stale(err) && (options as { method?: unknown }).method === 'GET') {
          agent.dropIdle();
          return void attempt(true);
        }
        answer(err, data);
      });
    const answer = (err: unknown, data: unknown) => {
      if (data instanceof Readable) {
        // A streamed response (logs) fails through the stream: node destroys it with "aborted".
        const destroy = data.destroy.bind(data);
        data.destroy = (e?: Error) => destroy(e === undefined ? e : (agent.explain(e) as Error));
      }
      callback(err === null || err === undefined ? err : agent.explain(err), data);
    };
    return attempt(false);
  };
  return { docker, agent };
}
