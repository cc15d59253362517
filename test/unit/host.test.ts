import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hostSchema } from '../../src/config/schema.js';
import { Host } from '../../src/host/host.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/host/transport.js';

/** A transport that answers from a table: enough to pin how the host builds its commands. */
class ScriptedTransport implements Transport {
  readonly description = 'scripted';
  readonly calls: { argv: string[]; cwd: string | undefined }[] = [];
  constructor(private readonly answers: (argv: readonly string[]) => Partial<ExecResult>) {}
  async exec(argv: readonly string[], o: ExecOptions): Promise<ExecResult> {
    this.calls.push({ argv: [...argv], cwd: o.cwd });
    return { argv: [...argv], exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 1, timedOut: false, truncated: false, ...this.answers(argv) };
  }
  openDockerStream(): Promise<Duplex> {
    return Promise.reject(new Error('no docker here'));
  }
  onDisconnect(): void {}
  async close(): Promise<void> {}
}

const config = (extra: Record<string, unknown> = {}) =>
  hostSchema.parse({ name: 'prod', transport: 'local', projectDir: '/srv/app', composeFiles: ['docker/compose.prod.yml', 'docker/compose.override.yml'], ...extra });

describe('compose on a host', () => {
  it('prefers the v2 plugin when the host has it', async () => {
    const t = new ScriptedTransport(() => ({ exitCode: 0 }));
    const host = new Host(config(), t);
    expect(await host.composeArgv(['restart', 'api'])).toEqual(['docker', 'compose', '-f', 'docker/compose.prod.yml', '-f', 'docker/compose.override.yml', 'restart', 'api']);
  });

  it('falls back to docker-compose v1 after one probe, and asks only once', async () => {
    const t = new ScriptedTransport((argv) => ({ exitCode: argv[1] === 'compose' ? 1 : 0 }));
    const host = new Host(config(), t);
    expect((await host.composeArgv(['ps']))[0]).toBe('docker-compose');
    await host.composeArgv(['ps']);
    expect(t.calls.map((c) => c.argv.join(' '))).toEqual(['docker compose version']);
  });

  it('uses the configured flavour without asking', async () => {
    const t = new ScriptedTransport(() => ({}));
    const host = new Host(config({ compose: 'v1' }), t);
    await host.composeArgv(['ps']);
    expect(t.calls).toEqual([]);
  });

  it('reads services from the compose configuration, in the project dir, and caches them', async () => {
    const t = new ScriptedTransport((argv) => (argv.at(-1) === 'config' ? { stdout: 'services:\n  nextjs:\n    image: n\n  adonisjs:\n    environment:\n      A: b\n' } : {}));
    const host = new Host(config({ compose: 'v2' }), t);
    expect(await host.services()).toEqual(['adonisjs', 'nextjs']);
    expect(await host.services()).toEqual(['adonisjs', 'nextjs']);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]?.cwd).toBe('/srv/app');
  });

  it('shares one probe and one configuration read among concurrent callers', async () => {
    const t = new SlowTransport((argv) => (argv.at(-1) === 'config' ? { stdout: 'services:\n  api: {}\n' } : { exitCode: argv[1] === 'compose' ? 1 : 0 }));
    const host = new Host(config(), t);
    const all = await Promise.all(Array.from({ length: 50 }, () => host.services()));
    expect(all.every((s) => s.join() === 'api')).toBe(true);
    expect(t.calls.map((c) => c.argv.join(' '))).toEqual(['docker compose version', 'docker-compose -f docker/compose.prod.yml -f docker/compose.override.yml config']);
  });

  it('does not keep a failed lookup: the next caller asks again', async () => {
    let fail = true;
    const t = new ScriptedTransport(() => (fail ? { exitCode: 1, stderr: 'yaml: bad' } : { stdout: 'services:\n  api: {}\n' }));
    const host = new Host(config({ compose: 'v2' }), t);
    await expect(host.services()).rejects.toThrow(/Cannot read the compose configuration on host "prod".*yaml: bad/);
    fail = false;
    expect(await host.services()).toEqual(['api']);
  });

  it('says so clearly when the host has no compose at all', async () => {
    const host = new Host(config(), new ScriptedTransport(() => ({ exitCode: 127, stderr: 'docker-compose: not found' })));
    await expect(host.services()).rejects.toThrow(/has neither `docker compose` nor `docker-compose`/);
  });
});

/** Answers after a tick, so concurrent callers really overlap. */
class SlowTransport extends ScriptedTransport {
  override async exec(argv: readonly string[], o: ExecOptions): Promise<ExecResult> {
    await new Promise((r) => setTimeout(r, 20));
    return super.exec(argv, o);
  }
}
