import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDiscordDouble, type DiscordDouble } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, readStaging, resetStaging, waitForServices } from '../staging/staging.js';
import { buttonId, buttonsOf, textOf } from './util.js';

/**
 * The Dockerfile users build, built and run for real on the staging engine: FROM a locally made
 * stand-in for node:24-slim (test/image/make-base; no registry is reachable here), started from
 * deploy/compose.yml against the staging host and the Discord double, both on loopback.
 */
const execFileAsync = promisify(execFile);
const BASE = 'opsbot-test/node:24-bookworm';
const IMAGE = 'opsbot-test/opsbot:test';
const PROJECT = 'opsbot-image-test';
const UID = 10001;
// Debian's docker.io client builds with the engine's BuildKit; a newer client without the buildx
// plugin (e.g. a static one in /usr/local/bin) would refuse DOCKER_BUILDKIT=1.
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

const staging = readStaging();
const dockerEnv = { ...process.env, DOCKER_HOST: staging.dockerHost, DOCKER_BUILDKIT: '1' };

async function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = dockerEnv, timeout = 120_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { env, timeout, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${(e.stderr ?? '').slice(-4000)}`);
  }
}
const docker = (...args: string[]) => sh(DOCKER, args);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('the container image (Dockerfile + deploy/compose.yml) on the staging engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-image-'));
  let double: DiscordDouble;
  let composeEnv: NodeJS.ProcessEnv;
  const compose = (...args: string[]) => sh('docker-compose', ['-p', PROJECT, '-f', 'deploy/compose.yml', '-f', join(dir, 'override.yml'), ...args], composeEnv);
  const containerId = async () => (await compose('ps', '-q', 'opsbot')).trim();
  const inspect = async (format: string) => (await docker('inspect', '-f', format, await containerId())).trim();
  const logs = async () => {
    const id = await containerId();
    const { stdout, stderr } = await execFileAsync(DOCKER, ['logs', id], { env: dockerEnv, maxBuffer: 64 * 1024 * 1024 });
    return stdout + stderr;
  };
  const started = (n: number) => waitFor(`bot start #${n}`, async () => ((await logs()).split('opsbot started').length - 1 >= n ? true : undefined));

  beforeAll(async () => {
    await resetStaging();
    const t0 = Date.now();
    await sh('bash', ['test/image/make-base', BASE], dockerEnv, 600_000);
    const t1 = Date.now();
    const previous = (await docker('image', 'ls', '-q', IMAGE)).trim();
    // OPSBOT_IMAGE_NO_CACHE=1 (with the base image removed) measures a fresh machine.
    const noCache = process.env.OPSBOT_IMAGE_NO_CACHE === '1' ? ['--no-cache'] : [];
    await sh(DOCKER, ['build', ...noCache, '--network', 'host', '--build-arg', `BASE_IMAGE=${BASE}`, '-t', IMAGE, '.'], dockerEnv, 1_200_000);
    // The image this run replaced (vfs keeps a full copy per layer): drop it unless still in use.
    if (previous !== '' && previous !== (await docker('image', 'ls', '-q', IMAGE)).trim()) await docker('rmi', previous).catch(() => undefined);
    const size = Number((await docker('image', 'inspect', '-f', '{{.Size}}', IMAGE)).trim());
    console.log(`[image] base ${((t1 - t0) / 1000).toFixed(0)} s, build ${((Date.now() - t1) / 1000).toFixed(0)} s; ${IMAGE}: ${(size / 1e6).toFixed(0)} MB`);

    double = await startDiscordDouble();
    // The key, as an operator would hand it to the image's user (uid 10001), read-only.
    mkdirSync(join(dir, 'keys'), { mode: 0o755 });
    copyFileSync(staging.keyPath, join(dir, 'keys', 'id_ed25519'));
    chownSync(join(dir, 'keys', 'id_ed25519'), UID, UID);
    const httpPort = await freePort();
    writeFileSync(
      join(dir, 'opsbot.yaml'),
      stringify({
        discord: { guildId: double.guild.id, alertsChannel: 'alerts', roles: { viewer: 'viewer', operator: 'operator', approver: 'approver' } },
        hosts: [
          {
            name: 'staging',
            address: staging.sshHost,
            port: staging.sshPort,
            user: staging.user,
            keyPath: '/keys/id_ed25519',
            hostKeyFingerprint: staging.hostKeyFingerprint,
            projectDir: staging.projectDir,
            composeFiles: staging.composeFiles,
          },
        ],
        database: { path: '/data/opsbot.db' },
        http: { listen: `127.0.0.1:${httpPort}` },
      }),
      { mode: 0o644 },
    );
    // Only what a test needs on top of the recipe: its own container name, the double's API and a
    // faster health probe.
    writeFileSync(
      join(dir, 'override.yml'),
      stringify({ services: { opsbot: { container_name: PROJECT, environment: ['DISCORD_API_URL'], healthcheck: { interval: '1s', start_period: '30s' } } } }),
    );
    composeEnv = {
      ...dockerEnv,
      OPSBOT_IMAGE: IMAGE,
      OPSBOT_CONFIG_FILE: join(dir, 'opsbot.yaml'),
      OPSBOT_KEYS_DIR: join(dir, 'keys'),
      DISCORD_TOKEN: double.token,
      DISCORD_API_URL: double.apiUrl,
    };
    await compose('down', '-v').catch(() => undefined); // a run cut short leaves its project
  }, 1_500_000);

  afterAll(async () => {
    if (composeEnv) await compose('down', '-v', '--timeout', '5').catch((err: unknown) => console.error(err));
    await double?.close();
    rmSync(dir, { recursive: true, force: true });
    await resetStaging();
  }, 120_000);

  it('runs as uid 10001, answers /ps against the staging host and turns healthy', async () => {
    await compose('up', '-d');
    await started(1);
    const pid = await inspect('{{.State.Pid}}');
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    expect(uid).toBe(String(UID));

    const reply = await double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' }).waitForReply(undefined, { timeoutMs: 30_000 });
    const body = textOf(reply);
    for (const s of staging.services) expect(body).toContain(s);
    expect(body).toContain('all 5 services running');

    expect(await waitFor('healthy', async () => ((await inspect('{{.State.Health.Status}}')) === 'healthy' ? true : undefined))).toBe(true);
    expect(double.violations).toEqual([]);
  }, 120_000);

  it('on SIGTERM (compose stop) lets a confirmed restart finish and report, then exits 0', async () => {
    const handle = await double.sendCommand({ name: 'restart', options: { service: 'watchtower' }, member: 'operator', channel: 'alerts' });
    const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    const mark = await commandsLogMark();
    const confirm = await double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    // watchtower takes 2 s to stop: the SIGTERM lands while the restart runs on the host.
    await waitFor('the restart on the host', async () => ((await commandsLogSince(mark)).some((l) => /restart watchtower/.test(l)) ? true : undefined), 15_000);
    const stopping = compose('stop', 'opsbot');
    const done = await confirm.waitForUpdate((m) => /✅ \*\*Verify\*\*|❌/.test(textOf(m)), { timeoutMs: 60_000 });
    await stopping;
    expect(textOf(done)).toMatch(/✅ \*\*Restart\*\*/);
    expect(textOf(done)).not.toMatch(/❌/);
    expect(await inspect('{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 0');
    expect(await logs()).toMatch(/"signal":"SIGTERM".*stopping/);
    expect((await commandsLogSince(mark)).filter((l) => /restart watchtower/.test(l))).toHaveLength(1);
    await waitForServices();
  }, 120_000);

  it('keeps the audit database on its volume when the container is replaced', async () => {
    const before = await containerId();
    await compose('rm', '-f', 'opsbot');
    await compose('up', '-d');
    expect(await containerId()).not.toBe(before);
    await started(1);
    const audit = textOf(await double.sendCommand({ name: 'audit', member: 'viewer', channel: 'alerts' }).waitForReply(undefined, { timeoutMs: 30_000 }));
    expect(audit).toMatch(/restart service=watchtower\s+succeeded/);
    // The CLI in the image: an online backup of the live database.
    const backup = await docker('exec', await containerId(), 'opsbot', 'backup', '/tmp/audit-copy.db');
    expect(backup).toMatch(/audit-copy\.db/);
    expect(double.violations).toEqual([]);
  }, 120_000);
});
