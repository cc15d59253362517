import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configSchema } from './config/schema.js';

/**
 * The image's HEALTHCHECK: GET /healthz on the configured `http.listen`; exit 0 when it answers
 * 2xx within 4 s, 1 otherwise. Reads only the `http` key of the mounted config (it must not fail
 * where the bot would start, nor load the bot's code every 30 s).
 */
async function main(): Promise<number> {
  const path = process.env.OPSBOT_CONFIG ?? './opsbot.yaml';
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as { http?: unknown };
  const { listen } = configSchema.shape.http.parse(doc.http);
  const colon = listen.lastIndexOf(':');
  const bound = listen.slice(0, colon).replace(/^\[|\]$/g, '');
  // A wildcard address is reached on loopback from inside the container.
  const host = bound === '0.0.0.0' || bound === '::' || bound === '' ? '127.0.0.1' : bound;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${listen.slice(colon + 1)}/healthz`;
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (res.ok) return 0;
  process.stderr.write(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}\n`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
