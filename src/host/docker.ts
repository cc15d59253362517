import { Agent, type ClientRequestArgs } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';

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

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): Duplex | undefined {
    this.open().then(
      (stream) => {
        // http expects socket-like methods that an SSH channel lacks.
        const s = stream as Duplex & Partial<Socket>;
        s.setKeepAlive ??= (() => s) as Socket['setKeepAlive'];
        s.setNoDelay ??= (() => s) as Socket['setNoDelay'];
        if (!s.setTimeout) {
          // net.Socket semantics: an idle timer reset by traffic; 0 disarms it and removes `cb`.
          let ms = 0;
          let timer: NodeJS.Timeout | undefined;
          const arm = () => {
            clearTimeout(timer);
            timer = ms > 0 ? setTimeout(() => s.emit('timeout'), ms) : undefined;
          };
          s.on('data', arm);
          s.on('close', () => clearTimeout(timer));
          s.setTimeout = ((next: number, cb?: () => void) => {
            ms = next;
            if (cb) {
              if (next === 0) s.removeListener('timeout', cb);
              else s.once('timeout', cb);
            }
            arm();
            return s;
          }) as Socket['setTimeout'];
        }
        s.ref ??= (() => s) as Socket['ref'];
        s.unref ??= (() => s) as Socket['unref'];
        callback?.(null, s);
      },
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

export function dockerOver(open: () => Promise<Duplex>): { docker: Docker; agent: Agent } {
  const agent = new DockerStreamAgent(open);
  // A timeout turns a request stuck on a dead channel into an error instead of a hang.
  const docker = new Docker({ protocol: 'http', host: 'docker', port: 2375, agent, timeout: 60_000 } as Docker.DockerOptions);
  return { docker, agent };
}
