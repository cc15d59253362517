import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as NodeSshModule from 'node-ssh';
import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { UserError } from '../engine/errors.js';
import { sshConnected, sshConnects } from '../metrics.js';
import { commandLine } from './quote.js';
import { DEFAULT_MAX_OUTPUT, OutputBuffer, Semaphore, SlotTimeoutError, retryLostRead, dockerCli, type ExecOptions, type ExecResult, type Transport } from './transport.js';

export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  keyPath: string;
  hostKeyFingerprint: string;
}

const require = createRequire(import.meta.url);

/**
 * node-ssh, loaded when first needed (the bot loads it at start, see loadHostClients). Through
 * require, so that loading it at start is synchronous and the transport gets that same copy:
 * import() would resolve to the package's ES module build, a second copy.
 */
export const loadNodeSsh = (): typeof NodeSshModule => require('node-ssh') as typeof NodeSshModule;

const isChannelRefusal = (err: unknown): boolean => err instanceof Error && err.message.startsWith('(SSH) Channel open failure');

/** OpenSSH's format: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * One reused SSH connection per host (opening one costs more than most commands), reopened on
 * the next command after a drop. OpenSSH allows 10 sessions per connection by default, so exec
 * channels are queued below that, leaving room for the Docker API streams.
 */
export class SshTransport implements Transport {
  readonly description: string;
  private ssh: NodeSSH | undefined;
  private connecting: Promise<NodeSSH> | undefined;
  /** Five exec channels, one of them kept for mutating steps; the Docker agent holds up to four more. */
  private readonly execSlots = new Semaphore(5, 1);
  private readonly disconnectListeners: (() => void)[] = [];
  private reachedAt = 0;
  private everConnected = false;

  constructor(private readonly target: SshTarget) {
    this.description = `${target.user}@${target.address}:${target.port}`;
    sshConnected.set({ host: target.name }, 0);
  }

  private async connection(): Promise<NodeSSH> {
    if (this.ssh?.isConnected()) return this.ssh;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<NodeSSH> {
    const t = this.target;
    let privateKey: string;
    try {
      privateKey = await readFile(t.keyPath, 'utf8');
    } catch (err) {
      throw new UserError('host.key-unreadable', `The SSH key for host "${t.name}" cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}). Check its keyPath in the configuration.`, { cause: err });
    }
    let seenKey: string | undefined;
    const { NodeSSH } = loadNodeSsh();
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: t.address,
        port: t.port,
        username: t.user,
        privateKey,
        readyTimeout: 10_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          seenKey = sha256Fingerprint(key);
          return seenKey === t.hostKeyFingerprint;
        },
      });
    } catch (err) {
      ssh.dispose();
      sshConnects.inc({ host: t.name, result: 'failed' });
      if (seenKey !== undefined && seenKey !== t.hostKeyFingerprint) {
        throw new UserError('host.key-mismatch', `Refused to connect to host "${t.name}" (${this.description}): its host key is ${seenKey}, but the configuration pins ${t.hostKeyFingerprint}. Nothing was run. If the host was rebuilt, verify the new key and update hostKeyFingerprint.`, { cause: err });
      }
      throw new UserError('host.unreachable', `Cannot connect to host "${t.name}" (${this.description}): ${(err as Error).message}. Nothing was run.`, { cause: err });
    }
    const conn = ssh.connection;
    let gone = false;
    const forget = () => {
      if (this.ssh === ssh) this.ssh = undefined;
      if (gone) return;
      gone = true;
      if (this.ssh === undefined) sshConnected.set({ host: t.name }, 0);
      for (const l of this.disconnectListeners) l();
    };
    conn?.on('close', forget);
    conn?.on('end', forget);
    conn?.on('error', forget);
    this.ssh = ssh;
    this.reachedAt = Date.now();
    sshConnected.set({ host: t.name }, 1);
    sshConnects.inc({ host: t.name, result: this.everConnected ? 'reconnected' : 'connected' });
    this.everConnected = true;
    return ssh;
  }

  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return retryLostRead(() => this.execOnce(argv, options), options.mutating === true);
  }

  private async execOnce(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const line = commandLine(argv, options.cwd);
    const started = performance.now();
    // The timeout covers the whole wait: a queued command must not start long after it was asked for.
    const deadline = Date.now() + options.timeoutMs;
    let release: () => void;
    try {
      release = await this.execSlots.acquire({ high: options.mutating === true, deadline });
    } catch (err) {
      if (!(err instanceof SlotTimeoutError)) throw err;
      throw new UserError('host.busy', `Host "${this.target.name}" is busy: no SSH channel became free within ${Math.round(err.waitedMs / 1000)} s for \`${argv.join(' ')}\`. Nothing was run; try again shortly.`, { cause: err });
    }
    let channel: ClientChannel;
    try {
      channel = await this.openChannel(line, deadline, argv);
    } catch (err) {
      release();
      throw err;
    }
    const stdout = new OutputBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    const stderr = new OutputBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    return new Promise<ExecResult>((resolve, reject) => {
      let timedOut = false;
      let code: number | null = null;
      let signal: string | null = null;
      let exited = false;
      const timer = setTimeout(() => {
        timedOut = true;
        channel.signal('KILL');
        channel.close();
      }, Math.max(0, deadline - Date.now()));
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.on('exit', (c: number | null, s?: string) => {
        exited = true;
        code = c ?? null;
        signal = s ?? null;
      });
      channel.on('error', () => undefined); // the close that follows reports it
      // 'close' is sshd's end of the session: only then is its channel free again (MaxSessions).
      channel.on('close', () => {
        clearTimeout(timer);
        release();
        const durationMs = Math.round(performance.now() - started);
        if (!timedOut && !exited) {
          reject(new UserError('host.connection-lost', `The SSH connection to host "${this.target.name}" was lost while \`${argv.join(' ')}\` was running (after ${durationMs} ms). Its outcome on the host is unknown; check before retrying.`));
          return;
        }
        this.reachedAt = Date.now();
        resolve({ argv: [...argv], exitCode: code, signal, stdout: stdout.text(), stderr: stderr.text(), durationMs, timedOut, truncated: stdout.truncated || stderr.truncated });
      });
      if (options.input === undefined) channel.end();
      else channel.end(options.input);
    });
  }

  /**
   * Opens an exec channel. sshd refuses one past MaxSessions, and keeps counting a closed session
   * until its process has exited on the host, so a refusal on a live connection means "wait",
   * not "the link is gone": retry with backoff until the deadline. Nothing ran on a refusal.
   */
  private async openChannel(line: string, deadline: number, argv: readonly string[]): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      const ssh = await this.connection();
      const conn = ssh.connection;
      try {
        if (conn === null) throw new Error('not connected');
        return await new Promise<ClientChannel>((resolve, reject) => {
          conn.exec(line, (err, ch) => (err ? reject(err) : resolve(ch)));
        });
      } catch (err) {
        const wait = Math.min(1000, 25 * 2 ** attempt);
        if (ssh.isConnected() && isChannelRefusal(err) && Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
        if (ssh.isConnected() && isChannelRefusal(err)) {
          throw new UserError('host.busy', `Host "${this.target.name}" kept refusing new SSH sessions (sshd MaxSessions) for \`${argv.join(' ')}\`. Nothing was run; try again shortly.`, { cause: err });
        }
        if (!ssh.isConnected()) ssh.dispose();
        throw new UserError('host.connection-lost', `The SSH connection to host "${this.target.name}" failed before \`${argv.join(' ')}\` could start: ${(err as Error).message}. Nothing was run.`, { cause: err });
      }
    }
  }

  async openDockerStream(dockerHost?: string): Promise<Duplex> {
    const argv = dockerCli(['system', 'dial-stdio'], dockerHost);
    // Docker API sockets are long-lived; give them a generous window to get a channel.
    return this.openChannel(commandLine(argv), Date.now() + 30_000, argv);
  }

  onDisconnect(listener: () => void): void {
    this.disconnectListeners.push(listener);
  }

  reach(): { connected: boolean; at: number } {
    return { connected: this.ssh?.isConnected() === true, at: this.reachedAt };
  }

  async probe(): Promise<void> {
    await this.connection();
  }

  async close(): Promise<void> {
    this.ssh?.dispose();
    this.ssh = undefined;
    sshConnected.set({ host: this.target.name }, 0);
  }
}
