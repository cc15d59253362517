/**
 * A real pseudo-terminal for tests of the terminal console: a tmux session on a tmux server of
 * this test process alone (its own socket), driven with send-keys and read with capture-pane.
 * Only the session this helper started is ever killed, by its name.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

let count = 0;

export class Tty {
  readonly socket = `opsbot-test-${process.pid}`;
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Starts `command` (a shell line) in a 160×50 terminal, in `cwd`, with `env` added to the environment. */
  static start(command: string, opts: { cwd?: string; env?: Record<string, string> } = {}): Tty {
    const t = new Tty(`opsbot-test-${process.pid}-${++count}`);
    const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    // `; echo [exited $?]; sleep 600`: the pane stays readable after the command ends, with its exit code.
    t.tmux(['new-session', '-d', '-s', t.name, '-x', '160', '-y', '50', ...(opts.cwd ? ['-c', opts.cwd] : []), ...env, `${command}; echo "[exited $?]"; sleep 600`]);
    return t;
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Types a line and presses Enter. */
  type(line: string): void {
    this.tmux(['send-keys', '-t', this.name, '-l', line]);
    this.tmux(['send-keys', '-t', this.name, 'Enter']);
  }

  /** The whole scrollback as text (`escapes`: with the colour sequences the program wrote). */
  screen(escapes = false): string {
    return this.tmux(['capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', this.name, '-S', '-10000']);
  }

  /** Waits until `pattern` appears `times` times on the screen; returns the screen. */
  async waitFor(pattern: RegExp, opts: { timeoutMs?: number; times?: number } = {}): Promise<string> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    for (;;) {
      const text = this.screen();
      if ((text.match(global)?.length ?? 0) >= (opts.times ?? 1)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)} on the terminal:\n${text.trimEnd().split('\n').slice(-40).join('\n')}`);
      await sleep(150);
    }
  }

  kill(): void {
    try {
      this.tmux(['kill-session', '-t', this.name]);
    } catch {
      // already gone
    }
  }
}
