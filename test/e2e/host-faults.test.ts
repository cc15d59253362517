import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  commandsLogMark,
  commandsLogSince,
  killStagingSshSessions,
  readStaging,
  resetStaging,
  restoreStaging,
  serviceStates,
  stagingDaemonPid,
  stopStagingDaemon,
} from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { ask, mutatingCommands, textOf } from './util.js';

const execFileAsync = promisify(execFile);



/** Every service running (adonisjs healthy), as `up` leaves them: the host is whole again. */
async function expectHostWhole(): Promise<void> {
  const states = await serviceStates();
  for (const svc of readStaging().services) expect(states[svc]?.state, svc).toBe('running');
  expect(states.adonisjs?.health).toBe('healthy');
}

describe('sshd down when the bot starts, back later', () => {
  let h: Harness | undefined;
  beforeAll(async () => {
    await resetStaging();
  });
  afterAll(async () => {
    await h?.stop();
    // Whatever happened above, the staging sshd runs again for everyone after us.
    await restoreStaging();
  });

  it('answers "cannot connect" naming the host and that nothing ran, then works without a restart', async () => {
    await stopStagingDaemon('sshd');
    expect(stagingDaemonPid('sshd')).toBeUndefined();
    h = await startHarness();

    const started = Date.now();
    const ps = await ask(h, 'ps');
    expect(textOf(ps)).toMatch(/Cannot connect to host "staging" \(deploy@127\.0\.0\.1:\d+\):.*ECONNREFUSED.*Nothing was run\./s);
    expect(Date.now() - started).toBeLessThan(15_000);

    const restart = await ask(h, 'restart', { service: 'nextjs' }, 'operator');
    expect(textOf(restart)).toMatch(/Cannot connect to host "staging".*Nothing was run\./s);
    // Nothing half-started: no run holds the service's lock.
    expect(h.app.store.activeRunFor('staging:service:nextjs')).toBeUndefined();

    await restoreStaging();
    const mark = await commandsLogMark();
    const again = await ask(h, 'ps');
    expect(textOf(again)).toContain('all 5 services running');
    expect(await commandsLogSince(mark)).not.toEqual([]);
    expect(h.double.violations).toEqual([]);
    await expectHostWhole();
  });
});

describe('the host key changes while the bot runs', () => {
  const staging = readStaging();
  const tmp = mkdtempSync(join(tmpdir(), 'opsbot-newkey-'));
  let h: Harness | undefined;
  let impostor: number | undefined;

  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
  });
  // sshd forks before its child writes the pid file: on a busy machine the file comes a little
  // later. Left unknown, the impostor would outlive the test and hold the staging port.
  const impostorPid = async (): Promise<number | undefined> => {
    const file = join(tmp, 'sshd.pid');
    for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(50);
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  afterAll(async () => {
    await h?.stop();
    impostor ??= existsSync(join(tmp, 'sshd_config')) ? await impostorPid() : undefined;
    if (impostor !== undefined) {
      try {
        process.kill(impostor, 'SIGTERM');
      } catch {
        // already gone
      }
      while (existsSync(`/proc/${impostor}`) && !readFileSync(`/proc/${impostor}/stat`, 'utf8').includes(') Z')) await sleep(100);
    }
    rmSync(tmp, { recursive: true, force: true });
    await restoreStaging();
  });

  it('refuses to run anything and names the pinned and the seen fingerprint', async () => {
    const bot = h!;
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');

    // The same address and port, the same sshd settings, a new host key: a rebuilt host or a
    // machine in the middle. The bot's pooled connection goes down with the old sshd.
    const key = join(tmp, 'ssh_host_ed25519_key');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const seen = (await execFileAsync('ssh-keygen', ['-lf', `${key}.pub`])).stdout.split(' ')[1]!;
    const config = join(tmp, 'sshd_config');
    writeFileSync(
      config,
      readFileSync(join(staging.stagingDir, 'ssh', 'sshd_config'), 'utf8')
        .replace(/^HostKey .*$/m, `HostKey ${key}`)
        .replace(/^PidFile .*$/m, `PidFile ${join(tmp, 'sshd.pid')}`),
    );
    expect(killStagingSshSessions()).toBeGreaterThan(0);
    await stopStagingDaemon('sshd');
    await execFileAsync('/usr/sbin/sshd', ['-f', config, '-E', join(tmp, 'sshd.log')]);
    impostor = await impostorPid();

    const mark = await commandsLogMark();
    for (const [name, options, member] of [['ps', {}, 'viewer'], ['restart', { service: 'nextjs' }, 'operator'], ['stats', {}, 'viewer']] as const) {
      const body = textOf(await ask(bot, name, options, member));
      expect(body, name).toContain(`Refused to connect to host "staging"`);
      expect(body, name).toContain(`its host key is ${seen}`);
      expect(body, name).toContain(`the configuration pins ${staging.hostKeyFingerprint}`);
      expect(body, name).toContain('Nothing was run');
    }
    // Not a single command reached the host: the bot never logged in to the impostor.
    expect(await commandsLogSince(mark)).toEqual([]);
    expect(bot.app.store.activeRunFor('staging:service:nextjs')).toBeUndefined();
    expect(bot.double.violations).toEqual([]);
  });
});

describe('docker engine stopped on the host', () => {
  let h: Harness | undefined;
  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
    await restoreStaging();
  });
  afterEach(() => expect(h?.double.violations).toEqual([]));

  it('/ps, /restart, /logs and /stats say Docker cannot be reached, promptly, and change nothing', async () => {
    const bot = h!;
    // Warm: the SSH link and the service list are in place, as on a bot that has been running.
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
    await stopStagingDaemon('dockerd');
    const mark = await commandsLogMark();

    for (const [name, options, member] of [
      ['ps', {}, 'viewer'],
      ['restart', { service: 'nextjs' }, 'operator'],
      ['logs', { service: 'nextjs' }, 'viewer'],
      ['stats', {}, 'viewer'],
    ] as const) {
      const started = Date.now();
      const body = textOf(await ask(bot, name, options, member));
      expect(body, name).toMatch(/Docker on host "staging" (is not running|cannot be reached)/);
      expect(body, name).not.toMatch(/Something went wrong|Internal error/);
      expect(Date.now() - started, name).toBeLessThan(20_000);
    }
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(bot.app.store.activeRunFor('staging:service:nextjs')).toBeUndefined();

    await restoreStaging();
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
    await expectHostWhole();
  });
});

describe('project dir or compose file missing or invalid', () => {
  const staging = readStaging();
  const composeFile = join(staging.projectDir, staging.composeFiles[0]!);
  const aside = `${composeFile}.moved-by-test`;
  const projectAside = `${staging.projectDir}.moved-by-test`;
  let h: Harness | undefined;

  beforeAll(async () => {
    await resetStaging();
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    // Put the files back as they were, whatever the test did.
    await rename(projectAside, staging.projectDir).catch(() => undefined);
    await rename(aside, composeFile).catch(() => undefined);
  });
  afterAll(async () => {
    await restoreStaging();
    await expectHostWhole();
  });

  // A fresh bot for each case: a running bot would answer from its (30 s) service list.
  it('a missing project dir is named, and nothing runs', async () => {
    await rename(staging.projectDir, projectAside);
    h = await startHarness();
    const mark = await commandsLogMark();
    for (const [name, options, member] of [['ps', {}, 'viewer'], ['restart', { service: 'nextjs' }, 'operator']] as const) {
      const body = textOf(await ask(h, name, options, member));
      expect(body, name).toContain(staging.projectDir);
      expect(body, name).toMatch(/does not exist|No such file or directory|can(no|')t cd/);
      expect(body, name).not.toMatch(/Something went wrong/);
    }
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(h.double.violations).toEqual([]);
  });

  it('a missing compose file is named, and nothing runs', async () => {
    await rename(composeFile, aside);
    h = await startHarness();
    const mark = await commandsLogMark();
    for (const [name, options, member] of [['ps', {}, 'viewer'], ['restart', { service: 'nextjs' }, 'operator']] as const) {
      const body = textOf(await ask(h, name, options, member));
      expect(body, name).toMatch(/compose\.prod\.yml/);
      expect(body, name).toMatch(/No such file|not found|does not exist/i);
      expect(body, name).not.toMatch(/Something went wrong/);
    }
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(h.double.violations).toEqual([]);
  });

  it('an invalid compose file: the compose error is shown, and nothing runs', async () => {
    await rename(composeFile, aside);
    await writeFile(composeFile, 'version: "2.4"\nservices:\n  nextjs:\n    image: [unclosed\n');
    h = await startHarness();
    const mark = await commandsLogMark();
    for (const [name, options, member] of [['ps', {}, 'viewer'], ['restart', { service: 'nextjs' }, 'operator']] as const) {
      const body = textOf(await ask(h, name, options, member));
      expect(body, name).toMatch(/Cannot read the compose (services|configuration) on host "staging"/);
      expect(body, name).toMatch(/compose\.prod\.yml/);
      expect(body, name).not.toMatch(/Something went wrong/);
    }
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(h.double.violations).toEqual([]);
  });
});
