import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandsLogMark,
  commandsLogSince,
  containerStartedAt,
  hostCompose,
  hostDocker,
  readStaging,
  resetStaging,
  serviceStates,
  stagingDaemonPid,
  stagingScripts,
  startStagingFleet,
  waitForServices,
  type StagingEnv,
} from './staging.js';

const execFileAsync = promisify(execFile);

/** OpenSSH client options: deploy's key only, and the host key checked against env.json's. */
function sshArgs(env: StagingEnv): string[] {
  return [
    '-F', '/dev/null',
    '-i', env.keyPath,
    '-p', String(env.sshPort),
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${env.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    `${env.user}@${env.sshHost}`,
  ];
}

async function sshRun(env: StagingEnv, command: string): Promise<string> {
  const { stdout } = await execFileAsync('ssh', [...sshArgs(env), command], { timeout: 30_000 });
  return stdout;
}

/** The host-key fingerprint as `ssh-keygen -lf` prints it: SHA256, base64 without padding. */
function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

async function logsOf(service: string): Promise<string> {
  return hostCompose(['logs', '--no-color', service]);
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pidOf(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

describe.skipIf(process.env.OPSBOT_NO_STAGING === '1')('staging host', () => {
  let env: StagingEnv;

  beforeAll(async () => {
    env = readStaging();
    await resetStaging();
  });

  afterAll(async () => {
    if (existsSync(`${env.stagingDir}/env.json`)) await resetStaging();
  });

  it('runs the five services, adonisjs healthy', async () => {
    const states = await serviceStates();
    expect(Object.keys(states).sort()).toEqual([...env.services].sort());
    for (const svc of env.services) expect(states[svc], svc).toMatchObject({ state: 'running', containers: 1 });
    expect(states.adonisjs?.health).toBe('healthy');
  });

  it('answers /health on 127.0.0.1', async () => {
    const res = await fetch(`http://127.0.0.1:${env.ports.adonisjs}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('leaks the planted secrets in the adonisjs logs, for the redaction tests', async () => {
    const logs = await logsOf('adonisjs');
    expect(logs).toContain(`booting with APP_KEY=${env.secrets.APP_KEY}`);
    expect(logs).toMatch(/Authorization: Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(logs).toContain('GET /health 200');
  });

  it('presents the host key whose fingerprint up printed', async () => {
    const { stdout: scan } = await execFileAsync('ssh-keyscan', ['-p', String(env.sshPort), '-t', 'ed25519', env.sshHost]);
    const keyLine = scan.split('\n').find((l) => l.includes('ssh-ed25519'));
    expect(keyLine).toBeDefined();
    const key = Buffer.from(keyLine?.split(' ')[2] ?? '', 'base64');
    expect(sha256Fingerprint(key)).toBe(env.hostKeyFingerprint);
  });

  it('lets deploy in with the generated key and runs docker-compose ps, recorded in the command log', async () => {
    const mark = await commandsLogMark();
    // The key's forced command (deploy/opsbot-guard) takes only lines shaped like the bot's.
    const command = `cd ${env.projectDir} && exec docker-compose -f ${env.composeFiles[0]} ps`;
    const out = await sshRun(env, command);
    for (const svc of env.services) expect(out).toContain(svc === 'watchtower' ? 'watchtower' : `brainbytes_${svc}_1`);
    expect(await commandsLogSince(mark)).toEqual([command]);
  });

  it('logs a multi-line command on one line, also one the guard refuses, and nothing when nothing ran', async () => {
    const mark = await commandsLogMark();
    expect(await commandsLogSince(mark)).toEqual([]);
    await expect(sshRun(env, 'echo one\necho two')).rejects.toThrow(/opsbot-guard: refused: /);
    expect(await commandsLogSince(mark)).toEqual(['echo one\\necho two']);
  });

  it('accepts a client that pins the SHA256 fingerprint and refuses one that pins another', async () => {
    const connect = (fingerprint: string) => {
      const ssh = new NodeSSH();
      return ssh.connect({
        host: env.sshHost,
        port: env.sshPort,
        username: env.user,
        privateKeyPath: env.keyPath,
        hostVerifier: (key: Buffer) => sha256Fingerprint(key) === fingerprint,
      });
    };
    const ssh = await connect(env.hostKeyFingerprint);
    try {
      // watchtower exists on the staging engine only: sshd's SetEnv DOCKER_HOST took effect.
      const res = await ssh.execCommand(`exec docker inspect --format '{{.Name}}' watchtower`);
      expect(res.stdout).toBe('/watchtower');
    } finally {
      ssh.dispose();
    }
    await expect(connect(`SHA256:${'A'.repeat(43)}`)).rejects.toThrow();
  });

  it('serves the Docker API over ssh with docker system dial-stdio', async () => {
    const child = spawn('ssh', [...sshArgs(env), 'exec docker system dial-stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stdin.write('GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n');
    await eventually(async () => out.includes('\r\n\r\nOK'));
    child.kill();
    expect(out).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('shows both certificates with certbot certificates', async () => {
    const out = await hostCompose(['exec', '-T', 'reverse-proxy', 'certbot', 'certificates']);
    for (const cert of env.certificates) {
      expect(out).toContain(`Certificate Name: ${cert.domain}`);
      expect(out).toContain(`(VALID: ${cert.expiresInDays} days)`);
    }
  });

  it('renews only the certificate due within 30 days, keeps the old files, and resets', async () => {
    const [due, notDue] = env.certificates;
    const dry = await hostCompose(['exec', '-T', 'reverse-proxy', 'certbot', 'renew', '--dry-run']);
    expect(dry).toContain(`Simulating renewal of an existing certificate for ${due?.domain}`);
    expect(await hostCompose(['exec', '-T', 'reverse-proxy', 'certbot', 'certificates'])).toContain(`(VALID: ${due?.expiresInDays} days)`);

    const renew = await hostCompose(['exec', '-T', 'reverse-proxy', 'certbot', 'renew']);
    expect(renew).toContain('Congratulations, all renewals succeeded');
    expect(renew).toContain(`${notDue?.domain}/fullchain.pem expires on`);
    const after = await hostCompose(['exec', '-T', 'reverse-proxy', 'certbot', 'certificates']);
    // Issued by pebble (real certbot, real ACME): pebble's certificates last five years.
    expect(Math.max(...[...after.matchAll(/VALID: (\d+) days/g)].map((m) => Number(m[1])))).toBeGreaterThan(1000);
    const archive = await hostCompose(['exec', '-T', 'reverse-proxy', 'ls', `/letsencrypt/archive/${due?.domain}`]);
    expect(archive.split('\n')).toEqual(expect.arrayContaining(['cert1.pem', 'cert2.pem', 'privkey1.pem']));

    await resetStaging();
    const reset = await hostCompose(['exec', '-T', 'reverse-proxy', 'certbot', 'certificates']);
    expect(reset).toContain(`(VALID: ${due?.expiresInDays} days)`);
  });

  it('logs a reload when reverse-proxy gets SIGHUP, and keeps running', async () => {
    const count = async () => (await logsOf('reverse-proxy')).split('received SIGHUP, reloading configuration').length - 1;
    const before = await count();
    const startedAt = await containerStartedAt('reverse-proxy');
    await hostCompose(['kill', '-s', 'SIGHUP', 'reverse-proxy']);
    await eventually(async () => (await count()) > before);
    expect((await serviceStates())['reverse-proxy']?.state).toBe('running');
    expect(await containerStartedAt('reverse-proxy')).toBe(startedAt);
  });

  it('restores a backup with mongorestore, logged in the mongo container too', async () => {
    const out = await hostCompose(['exec', '-T', 'mongo', 'mongorestore', '--drop', '--gzip', '--archive=/backups/latest.dump']);
    expect(out).toContain('restoring from /backups/latest.dump');
    expect(out).toMatch(/\tdone$/m);
    expect(await logsOf('mongo')).toContain('mongorestore: ');
    await expect(hostCompose(['exec', '-T', 'mongo', 'mongorestore', '--gzip', '--archive=/backups/nope.dump']))
      .rejects.toThrow(/archive file \/backups\/nope\.dump does not exist/);
  });

  it('restarts a service in well under the 10 s stop timeout', async () => {
    const before = await containerStartedAt('adonisjs');
    const t0 = Date.now();
    await hostCompose(['restart', 'adonisjs']);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await containerStartedAt('adonisjs')).not.toBe(before);
    await waitForServices();
  });

  it('resetStaging brings a stopped service back', async () => {
    await hostCompose(['stop', 'nextjs']);
    expect((await serviceStates()).nextjs?.state).toBe('exited');
    await resetStaging();
    expect((await serviceStates()).nextjs?.state).toBe('running');
  });

  it('runs the host docker CLI against the staging engine', async () => {
    expect((await hostDocker(['inspect', '--format', '{{.Name}}', 'watchtower'])).trim()).toBe('/watchtower');
  });

  describe('fleet members (parts/fleet)', () => {
    it('are hosts of their own: own sshd, user, key, host key, engine and project; a second start changes nothing; stop stops them by pid', { timeout: 240_000 }, async () => {
      const members = await startStagingFleet(2);
      const all = [env, ...members];
      expect(all.map((m) => m.user)).toEqual(['deploy', 'deploy1', 'deploy2']);
      for (const key of ['hostKeyFingerprint', 'sshPort', 'keyPath', 'dockerHost', 'projectDir', 'commandsLog'] as const) {
        expect(new Set(all.map((m) => m[key])).size, key).toBe(3);
      }
      expect(new Set(all.map((m) => m.ports.adonisjs)).size).toBe(3);
      const mainIds = new Set((await sshRun(env, 'exec docker ps -q')).trim().split('\n'));
      for (const m of members) {
        const mark = await commandsLogMark(m);
        const ids = (await sshRun(m, 'exec docker ps -q')).trim().split('\n');
        expect(ids, m.user).toHaveLength(5);
        // Its own engine: none of its containers is one of the main host's.
        expect(ids.filter((id) => mainIds.has(id))).toEqual([]);
        expect(await commandsLogSince(mark, m)).toEqual(['exec docker ps -q']);
        expect(await (await fetch(`http://127.0.0.1:${m.ports.adonisjs}/health`)).text()).toContain('ok');
      }
      // A member's key opens only its own host.
      await expect(sshRun({ ...env, keyPath: members[0]!.keyPath }, 'exec docker ps -q')).rejects.toThrow();

      const daemons = () => members.map((m) => [stagingDaemonPid('sshd', m.stagingDir), stagingDaemonPid('dockerd', m.stagingDir)]);
      const before = daemons();
      expect(before.flat().every((pid) => pid !== undefined)).toBe(true);
      await startStagingFleet(2);
      expect(daemons()).toEqual(before);

      await execFileAsync('bash', [stagingScripts.fleet, 'stop']);
      for (const pid of before.flat()) expect(existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '').not.toContain('/fleet/member-');
      for (const m of members) expect(existsSync(`${m.stagingDir}/env.json`)).toBe(false);
      // The main host is untouched.
      expect(await sshRun(env, 'exec docker system df')).toMatch(/^TYPE/);
    });
  });

  describe('up and down', () => {
    const pids = () => ({ dockerd: pidOf(`${env.stagingDir}/docker.pid`), sshd: pidOf(`${env.stagingDir}/sshd.pid`) });

    it('up again is quick and starts nothing twice', { timeout: 60_000 }, async () => {
      const before = { pids: pids(), adonisjs: await containerStartedAt('adonisjs'), mongo: await containerStartedAt('mongo') };
      const t0 = Date.now();
      const { stdout } = await execFileAsync('bash', [stagingScripts.up]);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(stdout).toContain(`host key fingerprint: ${env.hostKeyFingerprint}`);
      expect(pids()).toEqual(before.pids);
      expect(await containerStartedAt('adonisjs')).toBe(before.adonisjs);
      expect(await containerStartedAt('mongo')).toBe(before.mongo);
      expect(readStaging()).toEqual(env);
    });

    it('up repairs a half-up host: a dead sshd with a stale pidfile, a stopped service', { timeout: 60_000 }, async () => {
      const sshdPidFile = `${env.stagingDir}/sshd.pid`;
      const { sshd, dockerd } = pids();
      process.kill(Number(sshd), 'SIGTERM');
      await eventually(async () => !existsSync(`/proc/${sshd}/cmdline`) || readFileSync(`/proc/${sshd}/cmdline`, 'utf8') === '');
      // A pidfile naming a live process that is not our sshd (this test runner) must not fool up.
      writeFileSync(sshdPidFile, `${process.pid}\n`);
      await hostCompose(['stop', 'watchtower']);

      await execFileAsync('bash', [stagingScripts.up]);
      expect(pids().dockerd).toBe(dockerd);
      expect(pids().sshd).not.toBe(String(process.pid));
      expect((await serviceStates()).watchtower?.state).toBe('running');
      expect(await sshRun(env, 'exec docker system df')).toMatch(/^TYPE/);
    });

    it('down stops it all, and up brings it back with the same keys', { timeout: 180_000 }, async () => {
      const before = pids();
      await execFileAsync('bash', [stagingScripts.down]);
      expect(existsSync(`${env.stagingDir}/env.json`)).toBe(false);
      for (const pid of Object.values(before)) expect(existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '').not.toContain(env.stagingDir);
      await expect(fetch(`http://127.0.0.1:${env.ports.adonisjs}/health`)).rejects.toThrow();

      await execFileAsync('bash', [stagingScripts.up]);
      expect(readStaging()).toEqual(env);
      await waitForServices();
      expect((await sshRun(env, 'exec docker ps -q')).trim().split('\n')).toHaveLength(5);
    });
  });
});
