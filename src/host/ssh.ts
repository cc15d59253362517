import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { UserError } from '../engine/errors.js';
import { commandLine } from './quote.js';
import { DEFAULT_MAX_OUTPUT, OutputBuffer, Semaphore, type ExecOptions, type ExecResult, type Transport } from './transport.js';

export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  keyPath: string;
  hostKeyFingerprint: string;
}

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
  private readonly execSlots = new Semaphore(5);
  private readonly disconnectListeners: (() => void)[] = [];

  constructor(private readonly target: SshTarget) {
    this.description = `${target.user}@${target.address}:${target.port}`;
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
      for (const l of this.disconnectListeners) l();
    };
    conn?.on('close', forget);
    conn?.on('end', forget);
    conn?.on('error', forget);
    this.ssh = ssh;
    return ssh;
  }

  async exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const line = commandLine(argv, options.cwd);
    const ssh = await this.connection();
    const release = await this.execSlots.acquire();
    const started = performance.now();
    const stdout = new OutputBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    const stderr = new OutputBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    let channel: ClientChannel | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      channel?.signal('KILL');
      channel?.close();
    }, options.timeoutMs);
    try {
      const res = await ssh.execCommand(line, {
        noTrim: true,
        onChannel: (c) => {
          channel = c;
        },
        onStdout: (chunk) => stdout.push(chunk),
        onStderr: (chunk) => stderr.push(chunk),
      });
      const durationMs = Math.round(performance.now() - started);
      if (!timedOut && res.code === null && res.signal === null) {
        throw new UserError('host.connection-lost', `The SSH connection to host "${this.target.name}" was lost while \`${argv.join(' ')}\` was running (after ${durationMs} ms). Its outcome on the host is unknown; check before retrying.`);
      }
      return {
        argv: [...argv],
        exitCode: res.code,
        signal: res.signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        durationMs,
        timedOut,
        truncated: stdout.truncated || stderr.truncated,
      };
    } catch (err) {
      if (err instanceof UserError) throw err;
      // A refused channel on a live connection is not a dead link: keep the connection.
      if (!ssh.isConnected()) ssh.dispose();
      throw new UserError('host.connection-lost', `The SSH connection to host "${this.target.name}" failed while running \`${argv.join(' ')}\`: ${(err as Error).message}.`, { cause: err });
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  async openDockerStream(): Promise<Duplex> {
    const ssh = await this.connection();
    const conn = ssh.connection;
    if (conn === null) throw new UserError('host.connection-lost', `The SSH connection to host "${this.target.name}" is closed.`);
    return new Promise((resolve, reject) => {
      conn.exec(commandLine(['docker', 'system', 'dial-stdio']), (err, channel) => {
        if (err) reject(new UserError('host.connection-lost', `Cannot open a Docker API channel on host "${this.target.name}": ${err.message}`, { cause: err }));
        else resolve(channel);
      });
    });
  }

  onDisconnect(listener: () => void): void {
    this.disconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    this.ssh?.dispose();
    this.ssh = undefined;
  }
}
