import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { DEFAULT_MAX_OUTPUT, OutputBuffer, dockerCli, type ExecOptions, type ExecResult, type Transport } from './transport.js';

/** For a bot that runs on the host itself: argv goes straight to execve, no shell at all. */
export class LocalTransport implements Transport {
  readonly description = 'local';

  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('empty argv');
    const started = performance.now();
    const stdout = new OutputBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    const stderr = new OutputBuffer(options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT);
    return new Promise((resolve) => {
      // stdin: the input, or closed at once (EOF), as over SSH.
      const child = spawn(file, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs, killSignal: 'SIGKILL' });
      // A command that exits without reading all of it must not crash the bot (EPIPE).
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
      let timedOut = false;
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      const finish = (exitCode: number | null, signal: string | null, extra = '') => {
        resolve({
          argv: [...argv],
          exitCode,
          signal,
          stdout: stdout.text(),
          stderr: stderr.text() + extra,
          durationMs: Math.round(performance.now() - started),
          timedOut,
          truncated: stdout.truncated || stderr.truncated,
        });
      };
      child.on('error', (err) => finish(127, null, `${err.message}\n`));
      child.on('close', (code, signal) => {
        timedOut = signal === 'SIGKILL' && performance.now() - started >= options.timeoutMs;
        finish(code, signal);
      });
    });
  }

  async openDockerStream(dockerHost?: string): Promise<Duplex> {
    const [file, ...args] = dockerCli(['system', 'dial-stdio'], dockerHost);
    const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
    // Without this listener a host with no `docker` binary would crash the whole bot (ENOENT).
    child.on('error', (err) => stream.destroy(err));
    stream.on('close', () => child.kill());
    return stream;
  }

  onDisconnect(): void {}

  async close(): Promise<void> {}
}
