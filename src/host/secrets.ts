import { addSecretValues } from '../engine/redact.js';
import type { Host } from './host.js';

/** Lines of a `.env` file as `[name, value]`; quotes removed, comments and blank lines skipped. */
export function parseDotenv(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    let value = m[2] ?? '';
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    if (value !== '') out.push([m[1] ?? '', value]);
  }
  return out;
}

/** The `environment` of every service in a parsed `compose config` document: a map, or a list of `K=V`. */
export function composeEnvironment(config: Record<string, unknown>): [string, string][] {
  const doc = config as { services?: Record<string, { environment?: unknown } | null> };
  const out: [string, string][] = [];
  for (const service of Object.values(doc.services ?? {})) {
    const env = service?.environment;
    if (Array.isArray(env)) {
      for (const item of env) {
        if (typeof item !== 'string') continue;
        const eq = item.indexOf('=');
        if (eq > 0) out.push([item.slice(0, eq), item.slice(eq + 1)]);
      }
    } else if (env !== null && typeof env === 'object') {
      for (const [name, value] of Object.entries(env as Record<string, unknown>)) {
        if (value !== null && value !== undefined && typeof value !== 'object') out.push([name, String(value)]);
      }
    }
  }
  return out;
}

const learned = new WeakMap<Host, Promise<number>>();
const watched = new WeakSet<Host>();

/**
 * Reads the host's own secret values — every value of the project's `.env`, whatever its name
 * (SESSION_SALT, SENTRY_DSN), and the environment compose gives the services — and registers them
 * (with their encoded forms) for redaction everywhere. Resolves to how many values were taken.
 *
 * Once per connection and single-flight: callers arriving together share one read, and a
 * reconnect reads again (the host's configuration may have changed meanwhile). A failed read is
 * forgotten so that the next run tries again. Exactly two argv shapes reach the host, so that a
 * forced-command guard can allow them: `cat .env` (in the project directory) and compose `config` (through `Host.composeConfig`).
 * A missing `.env` is normal (exit code ≠ 0: nothing to learn from it).
 */
export function learnHostSecrets(host: Host): Promise<number> {
  const known = learned.get(host);
  if (known !== undefined) return known;
  if (!watched.has(host)) {
    watched.add(host);
    host.transport.onDisconnect(() => learned.delete(host));
  }
  const reading = (async () => {
    const entries: [string, string][] = [];
    // The compose configuration is the one the host layer reads for its services anyway (shared,
    // single-flight): learning the secrets adds one process on the host, `cat .env`.
    const [dotenv, config] = await Promise.allSettled([host.exec(['cat', '.env']), host.composeConfig()]);
    if (dotenv.status === 'fulfilled' && dotenv.value.exitCode === 0) entries.push(...parseDotenv(dotenv.value.stdout));
    if (config.status === 'fulfilled') entries.push(...composeEnvironment(config.value.document));
    // What could be read is masked even when the rest failed: a broken compose file's error
    // message quotes the file, .env values included.
    const taken = addSecretValues(entries);
    if (dotenv.status === 'rejected') throw dotenv.reason;
    if (config.status === 'rejected') throw config.reason;
    return taken;
  })();
  learned.set(host, reading);
  reading.catch(() => {
    if (learned.get(host) === reading) learned.delete(host);
  });
  return reading;
}
