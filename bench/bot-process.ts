/**
 * A bot (or a client standing in for one) as a process of its own, for the benches: started with
 * node and `args`, ready once it prints its "opsbot started" line, stopped with SIGTERM (SIGKILL
 * after 10 s). The real bot prints that line once it is logged in and its commands are registered;
 * bench/floor-client.ts prints the same.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sleep } from './lib.js';

export interface BotProcess {
  child: ChildProcess;
  pid: number;
  /** SIGTERM, then SIGKILL if it has not exited 10 s later; `onKill` is told when that happens. */
  stop(onKill?: (pid: number) => void): Promise<void>;
}

export async function startBotProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { name: string; cwd?: string; ipc?: boolean; onLine?: (line: string) => void },
): Promise<BotProcess> {
  const childEnv = { ...env };
  delete childEnv.NODE_OPTIONS;
  const child = spawn(process.execPath, [...args], { env: childEnv, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (onKill?: (pid: number) => void): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      onKill?.(pid);
      child.kill('SIGKILL');
      await exited;
    }
  };
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        options.onLine?.(line);
        if (line.includes('"msg":"opsbot started"')) resolve();
      });
      void exited.then((code) => reject(new Error(`${options.name} exited (${code}) before it started: ${stderr.trim().slice(-800)}`)));
      setTimeout(() => reject(new Error(`${options.name} did not start within 30 s`)), 30_000).unref();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, pid, stop };
}
