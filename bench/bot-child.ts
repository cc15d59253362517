/**
 * The bot as a process of its own, for memory figures that include nothing but the bot: the real
 * entry point (src/main.ts: config from OPSBOT_CONFIG, DISCORD_TOKEN, DISCORD_API_URL), plus an
 * IPC handler that answers `{ type: 'mem' }` with process.memoryUsage() after a full GC.
 *
 * bench/run.ts transpiles this file with src/, commands/ and runbooks/ to plain JavaScript in a
 * temporary folder and starts it with `node --expose-gc`, so no TypeScript loader (tsx) adds its
 * own memory to the figure.
 */
interface MemRequest {
  type: 'mem';
  gc?: boolean;
}

const isMemRequest = (m: unknown): m is MemRequest => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'mem';

process.on('message', (msg: unknown) => {
  if (!isMemRequest(msg)) return;
  if (msg.gc === true) globalThis.gc?.();
  process.send?.({ type: 'mem', gcAvailable: typeof globalThis.gc === 'function', ...process.memoryUsage() });
});
// The parent went away (e.g. Ctrl-C): do not outlive it.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));

await import('../src/main.js');
