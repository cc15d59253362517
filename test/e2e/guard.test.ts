import { execFile } from 'node:child_process';
import { chownSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine } from '../../src/host/quote.js';
import { SshTransport } from '../../src/host/ssh.js';
import { commandsLogMark, commandsLogSince, readStaging, resetStaging, type StagingEnv } from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { buttonId, buttonsOf, textOf } from './util.js';

const execFileAsync = promisify(execFile);

/** Lines of the guard's log written after `mark` (a byte offset), without their timestamps. */
async function guardLogSince(env: StagingEnv, mark: number): Promise<string[]> {
  const handle = await open(env.guardLog, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - mark));
    await handle.read(buffer, 0, buffer.length, mark);
    return buffer.toString('utf8').split('\n').filter(Boolean).map((l) => l.slice(l.indexOf(' ') + 1));
  } finally {
    await handle.close();
  }
}

/** The system OpenSSH client as deploy, host key checked against env.json's: exit code and output. */
async function rawSsh(env: StagingEnv, extra: string[], command?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    '-F', '/dev/null', '-i', env.keyPath, '-p', String(env.sshPort),
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${env.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    ...extra, `${env.user}@${env.sshHost}`, ...(command === undefined ? [] : [command]),
  ];
  try {
    const { stdout, stderr } = await execFileAsync('ssh', args, { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(process.env.OPSBOT_NO_STAGING === '1')('the staging key is forced through deploy/opsbot-guard', () => {
  let env: StagingEnv;
  let transport: SshTransport;
  // deploy may delete or create these without the guard: the files live in /tmp and belong to deploy.
  const victim = `/tmp/opsbot-guard-victim-${process.pid}`;
  const pwned = `/tmp/opsbot-guard-pwned-${process.pid}`;
  const exec = (argv: string[], cwd: string | undefined = env.projectDir) =>
    transport.exec(argv, { timeoutMs: 30_000, ...(cwd === undefined ? {} : { cwd }) });

  beforeAll(async () => {
    env = readStaging();
    const { stdout } = await execFileAsync('id', ['-u', env.user]);
    writeFileSync(victim, 'precious\n');
    chownSync(victim, Number(stdout.trim()), -1);
    transport = new SshTransport({
      name: 'staging', address: env.sshHost, port: env.sshPort, user: env.user, keyPath: env.keyPath, hostKeyFingerprint: env.hostKeyFingerprint,
    });
  });
  afterAll(async () => {
    await transport?.close();
    rmSync(victim, { force: true });
    rmSync(pwned, { force: true });
  });

  const OUTSIDE: string[][] = [
    ['rm', '-rf', victim],
    ['sh', '-c', `touch ${pwned}`],
    ['docker', 'run', '--rm', '-v', '/tmp:/host-tmp', 'opsbot-staging/busybox:latest', 'touch', `/host-tmp/${pwned.slice(5)}`],
    ['cat', '/etc/shadow'],
    ['docker-compose', '-f', 'docker/compose.prod.yml', 'exec', '-T', 'adonisjs', 'sh', '-c', 'id'],
    // The release runbooks' shapes, bent: a password in an argv, tee onto another file.
    ['docker', 'login', '-u', 'deploy', '-p', 'guessed', '127.0.0.1:5000'],
    ['tee', victim],
  ];

  it('refuses argv outside the allow-list on the host, even sent through the bot transport: exit 126, why, nothing changed, logged', async () => {
    const commands = await commandsLogMark();
    const guard = (await stat(env.guardLog)).size;
    for (const argv of OUTSIDE) {
      const res = await exec(argv);
      expect(res.exitCode, argv.join(' ')).toBe(126);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(`opsbot-guard: refused: not an allowed command: ${argv.join(' ')}\n`);
    }
    expect(existsSync(victim)).toBe(true);
    expect(existsSync(pwned)).toBe(false);
    const lines = OUTSIDE.map((argv) => commandLine(argv, env.projectDir));
    // The command log shows what reached the host; the guard's log, that each was refused and why.
    expect(await commandsLogSince(commands)).toEqual(lines);
    expect(await guardLogSince(env, guard)).toEqual(
      OUTSIDE.map((argv, i) => `from=127.0.0.1 refused (not an allowed command: ${argv.join(' ')}): ${lines[i]}`),
    );
  });

  it('refuses raw command lines outside the bot grammar, a login shell and port forwarding', async () => {
    const guard = (await stat(env.guardLog)).size;
    const lines = [
      `docker ps; touch ${pwned}`,
      `exec docker ps; touch ${pwned}`,
      `exec docker ps && touch ${pwned}`,
      `exec $(touch ${pwned})`,
      `$(touch ${pwned})`,
      `exec \`touch ${pwned}\``,
      `exec docker ps\ntouch ${pwned}`,
      `cd /tmp && exec docker ps > ${pwned}`,
      `cd /tmp && exec cat .env`,
    ];
    for (const line of lines) {
      const res = await rawSsh(env, [], line);
      expect(res.code, line).toBe(126);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(/^opsbot-guard: refused: [^\n]+\n$/);
    }
    const login = await rawSsh(env, ['-T']);
    expect(login.code).toBe(126);
    expect(login.stderr).toMatch(/^opsbot-guard: refused: no command/);
    const forward = await rawSsh(env, ['-W', `127.0.0.1:${env.ports.adonisjs}`]);
    expect(forward.code).toBe(255);
    expect(forward.stderr).toMatch(/stdio forwarding failed/);
    expect(existsSync(pwned)).toBe(false);
    const refusals = await guardLogSince(env, guard);
    expect(refusals.filter((l) => l.includes(' refused ('))).toHaveLength(lines.length + 1);
    expect(refusals.filter((l) => l.includes(' ran: '))).toEqual([]);
  });

  it('runs the allowed shapes, quoted words included, and the Docker API over dial-stdio', async () => {
    const guard = (await stat(env.guardLog)).size;
    const services = await exec(['docker-compose', '-f', env.composeFiles[0]!, 'config', '--services']);
    expect(services.stdout.split('\n').filter(Boolean).sort()).toEqual([...env.services].sort());
    expect((await exec(['docker', 'ps', '-q'])).stdout.trim().split('\n')).toHaveLength(env.services.length);
    expect((await exec(['docker', 'inspect', '--format', "{{.Name}} it's", 'watchtower'])).stdout).toBe("/watchtower it's\n");
    expect((await exec(['cat', '.env'])).stdout).toContain(env.secrets.JWT_SECRET);
    expect((await exec(['df', '-h', env.projectDir])).stdout).toMatch(/^Filesystem/);
    const stats = await exec(['docker', 'stats', '--no-stream', '--no-trunc', '--format', '{{json .}}']);
    expect(stats.exitCode).toBe(0);
    expect(stats.stdout.trim().split('\n').map((l) => JSON.parse(l) as { Name: string })).toHaveLength(env.services.length);

    const socket = await transport.openDockerStream();
    const ping = await new Promise<string>((resolve, reject) => {
      let out = '';
      socket.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('\r\n\r\nOK')) resolve(out);
      });
      socket.on('error', reject);
      socket.write('GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n');
    });
    socket.destroy();
    expect(ping).toMatch(/^HTTP\/1\.1 200 OK/);

    const decisions = await guardLogSince(env, guard);
    expect(decisions.filter((l) => !l.startsWith('from=127.0.0.1 ran: '))).toEqual([]);
    expect(decisions).toContain('from=127.0.0.1 ran: exec docker system dial-stdio');
  });

  describe('the bot itself', () => {
    let h: Harness;
    beforeAll(async () => {
      await resetStaging();
      h = await startHarness();
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('sends nothing the guard refuses: /ps, /stats, /logs, /top and a confirmed /restart', { timeout: 120_000 }, async () => {
      const guard = (await stat(env.guardLog)).size;
      for (const [name, options] of [['ps', {}], ['stats', {}], ['logs', { service: 'adonisjs', lines: 20 }], ['top', { service: 'nextjs' }]] as const) {
        const handle = await h.double.sendCommand({ name, options, member: 'viewer', channel: 'alerts' });
        const reply = await handle.waitForReply((m) => m.embeds.length > 0, { timeoutMs: 30_000 });
        expect(textOf(reply), name).not.toMatch(/opsbot-guard|refused/i);
      }
      const handle = await h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member: 'operator', channel: 'alerts' });
      const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
      const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
      const done = await click.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 90_000 });
      expect(textOf(done)).toMatch(/✅ \*\*Verify\*\* — healthy/);

      const decisions = await guardLogSince(env, guard);
      expect(decisions.filter((l) => !l.startsWith('from=127.0.0.1 ran: '))).toEqual([]);
      for (const shape of [/ran: exec docker system dial-stdio$/, / exec docker stats --no-stream /, / restart adonisjs$/, / exec (curl|wget) /]) {
        expect(decisions.some((l) => shape.test(l)), String(shape)).toBe(true);
      }
      expect(h.double.violations).toEqual([]);
    });
  });
});
