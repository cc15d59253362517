import type { Duplex } from 'node:stream';

export interface ExecOptions {
  cwd?: string;
  timeoutMs: number;
  /** Output past this many bytes is dropped and the result marked `truncated` (never silently). */
  maxOutputBytes?: number;
  /**
   * A step that changes the host: it may use the channel slot kept free of read-only work, so a
   * burst of viewers can never starve a confirmed restart of a channel.
   */
  mutating?: boolean;
  /** Sent to the command's stdin, which is then closed (otherwise stdin is closed at once). */
  input?: string;
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

/** `docker ARGS` for the engine at `dockerHost` (unix:///PATH), or the user's default engine when none is named. */
export function dockerCli(args: readonly string[], dockerHost?: string): string[] {
  return ['docker', ...(dockerHost === undefined ? [] : [`--host=${dockerHost}`]), ...args];
}

/** How the bot reaches a host: over SSH, or directly when it runs on the host itself. */
export interface Transport {
  readonly description: string;
  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult>;
  /**
   * A byte stream to the host's Docker API (`docker system dial-stdio`); `dockerHost` (unix:///PATH)
   * names an engine other than the user's default (`docker --host=… system dial-stdio`).
   */
  openDockerStream(dockerHost?: string): Promise<Duplex>;
  /** Called when the link drops, so streams riding on it can be dropped too. */
  onDisconnect(listener: () => void): void;
  /**
   * For /healthz: whether the link is open, and when the host last answered (link opened or a
   * command finished; ms since the epoch, 0 never). Absent on a transport without a link (local).
   */
  reach?(): { connected: boolean; at: number };
  /** Opens the link if it is down; throws a UserError naming the host when it cannot. */
  probe?(): Promise<void>;
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

/** Nothing became free before the caller's deadline. */
export class SlotTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no free slot within ${waitedMs} ms`);
  }
}

/**
 * A counting semaphore: the host allows only so many channels per SSH connection. `reserved`
 * slots are only for high-priority callers (mutating steps); waiting ends at the caller's
 * deadline, so time spent in the queue counts against the command's timeout.
 */
export class Semaphore {
  private waiting: { high: boolean; wake: () => void }[] = [];
  private active = 0;
  constructor(
    private readonly max: number,
    private readonly reserved = 0,
  ) {}

  private fits(high: boolean): boolean {
    return this.active < (high ? this.max : this.max - this.reserved);
  }

  async acquire(options: { high?: boolean; deadline?: number } = {}): Promise<() => void> {
    const high = options.high === true;
    if (this.waiting.length === 0 && this.fits(high)) this.active++;
    else {
      const started = Date.now();
      // pump() grants the slot (counts it) before waking, so nobody can slip in between.
      await new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const entry = {
          high,
          wake: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        // High-priority callers queue ahead of every normal one.
        const at = high ? this.waiting.findIndex((w) => !w.high) : -1;
        if (at === -1) this.waiting.push(entry);
        else this.waiting.splice(at, 0, entry);
        if (options.deadline !== undefined) {
          timer = setTimeout(() => {
            const idx = this.waiting.indexOf(entry);
            if (idx === -1) return;
            this.waiting.splice(idx, 1);
            reject(new SlotTimeoutError(Date.now() - started));
          }, Math.max(0, options.deadline - Date.now()));
        }
        this.pump();
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.pump();
    };
  }

  /** Grants free slots to waiters in order; a normal waiter held back by the reserve lets a high one pass. */
  private pump(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      if (this.fits(w.high)) {
        this.waiting.splice(i, 1);
        this.active++;
        w.wake();
      } else i++;
    }
  }
}

/**
 * Runs a command once more when its SSH channel closed without an exit status (the link dropped,
 * or sshd gave up the session under load), but only a read-only one: its outcome is unknown, and
 * reading again is harmless, whereas a step that changes the host must never run twice unasked.
 */
export async function retryLostRead<T>(run: () => Promise<T>, mutating: boolean): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (mutating || (err as { code?: unknown } | null)?.code !== 'host.connection-lost') throw err;
    return run();
  }
}
