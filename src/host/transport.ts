import type { Duplex } from 'node:stream';

export interface ExecOptions {
  cwd?: string;
  timeoutMs: number;
  /** Output past this many bytes is dropped and the result marked `truncated` (never silently). */
  maxOutputBytes?: number;
}

export interface ExecResult {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
}

/** How the bot reaches a host: over SSH, or directly when it runs on the host itself. */
export interface Transport {
  readonly description: string;
  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult>;
  /** A byte stream to the host's Docker API (`docker system dial-stdio`). */
  openDockerStream(): Promise<Duplex>;
  /** Called when the link drops, so streams riding on it can be dropped too. */
  onDisconnect(listener: () => void): void;
  close(): Promise<void>;
}

export const DEFAULT_MAX_OUTPUT = 32 * 1024 * 1024;

/** Collects output chunks up to a byte limit. */
export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    if (this.size >= this.limit) {
      this.truncated = true;
      return;
    }
    const room = this.limit - this.size;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** A counting semaphore: the host allows only so many channels per SSH connection. */
export class Semaphore {
  private waiting: (() => void)[] = [];
  private active = 0;
  constructor(private readonly max: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}
