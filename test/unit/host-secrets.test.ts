import { parse as parseYaml } from 'yaml';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hostSchema } from '../../src/config/schema.js';
import { redact } from '../../src/engine/redact.js';
import { Host } from '../../src/host/host.js';
import { composeEnvironment, learnHostSecrets, parseDotenv } from '../../src/host/secrets.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/host/transport.js';

/** A host whose `.env` and `compose config` are given; records what ran, can be disconnected. */
class ScriptedTransport implements Transport {
  readonly description = 'scripted';
  readonly calls: { argv: string[]; cwd: string | undefined }[] = [];
  private listeners: (() => void)[] = [];
  constructor(private readonly answers: (argv: readonly string[]) => Partial<ExecResult>) {}
  async exec(argv: readonly string[], o: ExecOptions): Promise<ExecResult> {
    this.calls.push({ argv: [...argv], cwd: o.cwd });
    await new Promise((r) => setTimeout(r, 5));
    return { argv: [...argv], exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 1, timedOut: false, truncated: false, ...this.answers(argv) };
  }
  openDockerStream(): Promise<Duplex> {
    return Promise.reject(new Error('no docker here'));
  }
  onDisconnect(listener: () => void): void {
    this.listeners.push(listener);
  }
  disconnect(): void {
    for (const l of this.listeners) l();
  }
  async close(): Promise<void> {}
}

const DOTENV = [
  '# comment',
  'NODE_ENV=production',
  'APP_PORT=3333',
  'SESSION_SALT=s4lty-session-value',
  'export SENTRY_DSN="https://0123abcd4567ef89@o1.ingest.sentry.io/42"',
  "QUOTED='single quoted value 1'",
].join('\n');
const CONFIG = `
services:
  api:
    environment:
      DB_URL: postgres://app:db-p4ss-xyz@db:5432/app
      WORKERS: 4
  worker:
    environment:
      - QUEUE_TOKEN=queue-t0ken-value
      - LOG_LEVEL=info
`;

const hostWith = (answers: (argv: readonly string[]) => Partial<ExecResult>) => {
  const t = new ScriptedTransport(answers);
  const host = new Host(hostSchema.parse({ name: 'prod', transport: 'local', projectDir: '/srv/app', composeFiles: ['docker/compose.prod.yml'], compose: 'v2' }), t);
  return { t, host };
};

describe('the host\'s own secrets', () => {
  it('parses .env and both forms of compose environment', () => {
    expect(parseDotenv(DOTENV)).toContainEqual(['SENTRY_DSN', 'https://0123abcd4567ef89@o1.ingest.sentry.io/42']);
    expect(parseDotenv(DOTENV)).toContainEqual(['QUOTED', 'single quoted value 1']);
    expect(composeEnvironment(parseYaml(CONFIG) as Record<string, unknown>)).toEqual([
      ['DB_URL', 'postgres://app:db-p4ss-xyz@db:5432/app'],
      ['WORKERS', '4'],
      ['QUEUE_TOKEN', 'queue-t0ken-value'],
      ['LOG_LEVEL', 'info'],
    ]);
  });

  it('reads .env and compose config once (single flight, exactly two argv shapes) and masks every value after', async () => {
    const { t, host } = hostWith((argv) => (argv[0] === 'cat' ? { stdout: DOTENV } : argv.includes('config') ? { stdout: CONFIG } : {}));
    const counts = await Promise.all(Array.from({ length: 20 }, () => learnHostSecrets(host)));
    expect(new Set(counts)).toEqual(new Set([5]));
    expect(t.calls).toEqual([
      { argv: ['cat', '.env'], cwd: '/srv/app' },
      { argv: ['docker', 'compose', '-f', 'docker/compose.prod.yml', 'config'], cwd: '/srv/app' },
    ]);
    const out = redact('salt s4lty-session-value q queue-t0ken-value db postgres://app:db-p4ss-xyz@db NODE_ENV production 3333 single quoted value 1');
    for (const secret of ['s4lty-session-value', 'queue-t0ken-value', 'db-p4ss-xyz', 'single quoted value 1']) expect(out).not.toContain(secret);
    expect(out).toContain('production 3333');
    await learnHostSecrets(host);
    expect(t.calls).toHaveLength(2);
    // A reconnect learns again: the values may have changed meanwhile.
    t.disconnect();
    await learnHostSecrets(host);
    expect(t.calls).toHaveLength(4);
  });

  it('a missing .env is fine; a failing compose config rejects and is tried again next time', async () => {
    let configOk = false;
    const { t, host } = hostWith((argv) => (argv[0] === 'cat' ? { exitCode: 1, stderr: 'cat: .env: No such file' } : { exitCode: configOk ? 0 : 1, stdout: configOk ? CONFIG : '' }));
    await expect(learnHostSecrets(host)).rejects.toThrow(/Cannot read the compose configuration on host "prod"/);
    configOk = true;
    expect(await learnHostSecrets(host)).toBe(2);
    expect(t.calls.filter((c) => c.argv[0] === 'cat')).toHaveLength(2);
  });
});
