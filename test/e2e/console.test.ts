import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { stagingConfig, writeStagingConfig } from '../staging/config.js';
import { commandsLogMark, commandsLogSince, containerStartedAt, readStaging, startStagingFleet } from '../staging/staging.js';
import { Tty } from '../tty.js';
import { stagingHostSettings } from './harness.js';
import { mutatingCommands } from './util.js';

const repo = process.cwd();
const bin = join(repo, 'bin', 'opsbot.js');
const PROMPT = (role: string, host = 'staging') => new RegExp(`${role}@${host}> `);
const sessions: Tty[] = [];
const tty = (command: string, opts: Parameters<typeof Tty.start>[1] = {}) => {
  const t = Tty.start(command, opts);
  sessions.push(t);
  return t;
};

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
});

describe('opsbot console (a terminal adapter: no Discord)', () => {
  it('`npm run demo`: /ps against the staging host, then a restart that runs only once confirmed at the prompt', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'opsbot-console-')), 'audit.db');
    const t = tty(`env -u NO_COLOR -u FORCE_COLOR npm run --silent demo -- --db ${db}`, { cwd: repo });
    await t.waitFor(PROMPT('operator'), { timeoutMs: 60_000 });

    t.type('/ps');
    let screen = await t.waitFor(/── Compose services ── ✔ succeeded[\s\S]*operator@staging> /);
    for (const service of readStaging().services) expect(screen).toMatch(new RegExp(`^ {2}${service} +🟢 running`, 'm'));
    // A terminal gets colours (and NO_COLOR would turn them off).
    expect(t.screen(true)).toContain('\x1b[');

    const before = await containerStartedAt('adonisjs');
    const mark = await commandsLogMark();
    t.type('/restart adonisjs');
    screen = await t.waitFor(/Confirm\? \[y\]es runs it/);
    expect(screen).toMatch(/── Restart adonisjs ── ⏸ waiting for confirmation/);
    expect(screen).toMatch(/This will run on staging:\n +docker-compose -f docker\/compose\.prod\.yml restart adonisjs/);
    // Shown, not run: nothing has changed on the host while the question is open.
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(await containerStartedAt('adonisjs')).toBe(before);

    t.type('y');
    screen = await t.waitFor(/── Restart adonisjs ── ✔ succeeded[\s\S]*operator@staging> /, { timeoutMs: 90_000 });
    expect(screen).toMatch(/✅ Verify — healthy/);
    expect(screen).toMatch(/http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/);
    expect(screen).toMatch(/requested by \S+@console · confirmed by \S+@console/);
    expect(await containerStartedAt('adonisjs')).not.toBe(before);
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([expect.stringMatching(/docker-compose -f docker\/compose\.prod\.yml restart adonisjs$/)]);

    t.type('/audit count:1');
    await t.waitFor(/restart service=adonisjs +succeeded +[\d.]+s {2}✔\S+@console/);
    t.type('quit');
    await t.waitFor(/\[exited 0\]/);
  }, 150_000);

  it('--as viewer: /ps works, a restart is refused before anything reaches the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-console-'));
    const config = writeStagingConfig(join(dir, 'opsbot.yaml'), { databasePath: join(dir, 'audit.db') });
    const t = tty(`env -u FORCE_COLOR node ${bin} console --config ${config} --as viewer`, { env: { NO_COLOR: '1' } });
    await t.waitFor(PROMPT('viewer'), { timeoutMs: 30_000 });
    const mark = await commandsLogMark();
    t.type('/restart adonisjs');
    const screen = await t.waitFor(/You need the operator role \(or above\) for this; you are viewer.*Nothing was run\./);
    expect(screen).not.toMatch(/Confirm\?/);
    t.type('/ps');
    await t.waitFor(/── Compose services ── ✔ succeeded/);
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(t.screen(true)).not.toContain('\x1b[3'); // NO_COLOR: no colours
    t.type('quit');
    await t.waitFor(/\[exited 0\]/);
  }, 60_000);

  it('reads a piped script too; a confirmation left open at quit is cancelled, nothing run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-console-'));
    const config = writeStagingConfig(join(dir, 'opsbot.yaml'), { databasePath: join(dir, 'audit.db') });
    const mark = await commandsLogMark();
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(bin, ['console', '--config', config], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
      child.stdin?.end('/restart adonisjs\n\n/runbook list\nquit\n');
    });
    expect(out).toMatch(/Confirm\? \[y\]es runs it, \[n\]o cancels, Enter decides later: \n/);
    expect(out).toMatch(/operator@staging> \/runbook list\n(.*\n)* {2}ps +The compose services on the host/);
    expect(out).toMatch(/Cancelled the confirmation left open: Restart adonisjs \(run r[\w-]+\); nothing was run\.\n$/);
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
  }, 60_000);

  it('without a configuration: the local Docker engine and the compose project of the current directory', async () => {
    const s = readStaging();
    const t = tty(`env -u OPSBOT_CONFIG node ${bin} console -f ${s.composeFiles[0]!}`, { cwd: s.projectDir, env: { DOCKER_HOST: s.dockerHost, NO_COLOR: '1' } });
    await t.waitFor(PROMPT('operator', 'local'), { timeoutMs: 30_000 });
    expect(t.screen()).toContain(`opsbot console — local (${s.composeFiles[0]!} in ${s.projectDir}, local Docker engine)`);
    t.type('/ps');
    const screen = await t.waitFor(/── Compose services ── ✔ succeeded[\s\S]*operator@local> /);
    expect(screen).toMatch(/all 5 services running/);
    expect(screen).toMatch(/^ {2}adonisjs +🟢 running/m);
    t.type('/runbook help restart');
    await t.waitFor(/Expected outcome/);
    t.type('/logs nosuchservice');
    await t.waitFor(/Host "local" has no compose service "nosuchservice"\. Its services: .*\. Nothing was run\./);
    t.type('quit');
    await t.waitFor(/\[exited 0\]/);
  }, 60_000);

  it('a rollout at the prompt: /restart on a group asks for the canary, then for the next host, each restarted on its own host once confirmed', async () => {
    const [member] = await startStagingFleet(1);
    const main = readStaging();
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-console-'));
    const config = stagingConfig({ databasePath: join(dir, 'audit.db') });
    const hosts = config.hosts as Record<string, unknown>[];
    hosts[0] = { ...hosts[0], groups: ['web'] };
    hosts.push({ name: 'staging-b', ...stagingHostSettings(member!), groups: ['web'] });
    const file = join(dir, 'opsbot.yaml');
    writeFileSync(file, stringify(config));
    const restarts = (lines: string[]) => mutatingCommands(lines).filter((l) => /restart nextjs$/.test(l));

    const t = tty(`node ${bin} console --config ${file}`, { cwd: repo, env: { NO_COLOR: '1' } });
    await t.waitFor(PROMPT('operator'), { timeoutMs: 60_000 });
    const marks = [await commandsLogMark(main), await commandsLogMark(member)];
    t.type('/restart nextjs host:web');
    let screen = await t.waitFor(/Confirm\? \[y\]es runs it/, { timeoutMs: 60_000 });
    expect(screen).toContain('Rollout over group web · host 1 of 2: ⏸️ staging (canary) → ▫️ staging-b');
    expect(restarts(await commandsLogSince(marks[0]!, main))).toEqual([]);

    t.type('y');
    // The canary runs, then the next host's run stops at its own gate.
    screen = await t.waitFor(/host 2 of 2: ✅ staging \(canary\) → ⏸️ staging-b[\s\S]*Confirm\? \[y\]es runs it/, { timeoutMs: 90_000 });
    expect(restarts(await commandsLogSince(marks[0]!, main))).toHaveLength(1);
    expect(restarts(await commandsLogSince(marks[1]!, member))).toEqual([]);

    t.type('y');
    await t.waitFor(/Rollout done: all 2 hosts succeeded\./, { timeoutMs: 90_000 });
    expect(restarts(await commandsLogSince(marks[0]!, main))).toHaveLength(1);
    expect(restarts(await commandsLogSince(marks[1]!, member))).toHaveLength(1);
    t.type('quit');
    await t.waitFor(/\[exited 0\]/);
  }, 240_000);
});
