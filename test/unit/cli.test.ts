import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { newId, Store } from '../../src/store/store.js';

const bin = join(process.cwd(), 'bin', 'opsbot.js');

/** Runs `opsbot …` as a user would (the package's bin), without waiting on anything else. */
function opsbot(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('opsbot CLI', () => {
  it('has --help for every command (exit 0) and says what it does', async () => {
    const results = await Promise.all([[], ['start'], ['console'], ['doctor'], ['deploy-commands'], ['backup']].map((c) => opsbot([...c, '--help'])));
    for (const r of results) expect(r.code).toBe(0);
    const [main, start, consoleHelp, doctor, deploy, backup] = results.map((r) => r.stdout);
    expect(main).toMatch(/^Usage: opsbot <command>/);
    for (const c of ['start', 'console', 'doctor', 'deploy-commands', 'backup FILE']) expect(main).toContain(`  ${c}`);
    expect(start).toMatch(/^Usage: opsbot start/);
    expect(consoleHelp).toMatch(/--as ROLE +viewer \(read-only\), operator \(default\) or approver/);
    expect(doctor).toMatch(/Exit code: 0 when everything passed, 1 otherwise/);
    expect(deploy).toMatch(/^Usage: opsbot deploy-commands/);
    expect(backup).toMatch(/SQLite's\s+online backup/);
    expect((await opsbot(['help', 'doctor'])).stdout).toBe(doctor);
  }, 90_000);

  it('answers a bad flag, a bad value, a missing argument or an unknown command with the reason and exit 2', async () => {
    const [flag, role, missing, extra, unknown, none] = await Promise.all([
      opsbot(['doctor', '--colour']),
      opsbot(['console', '--as', 'root']),
      opsbot(['backup']),
      opsbot(['backup', 'a.db', 'b.db']),
      opsbot(['deploy']),
      opsbot([]),
    ]);
    expect(flag).toMatchObject({ code: 2, stdout: '' });
    expect(flag.stderr).toMatch(/^opsbot doctor: Unknown option '--colour'.*\nTry 'opsbot doctor --help'\.\n$/);
    expect(role).toMatchObject({ code: 2, stderr: expect.stringContaining('--as must be viewer, operator or approver, not "root"') });
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('opsbot backup: missing the FILE to write') });
    expect(extra).toMatchObject({ code: 2, stderr: expect.stringContaining('too many arguments: b.db') });
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/^opsbot: unknown command "deploy"\./) });
    expect(none).toMatchObject({ code: 2, stderr: expect.stringMatching(/^Usage: opsbot <command>/) });
  }, 90_000);

  it('start and deploy-commands run the bot and the registration (here: refusing a configuration that cannot be read, exit 2)', async () => {
    const [start, deploy] = await Promise.all([
      opsbot(['start', '--config', '/nonexistent/opsbot.yaml'], { DISCORD_TOKEN: 'x'.repeat(60) }),
      opsbot(['deploy-commands', '--config', '/nonexistent/opsbot.yaml'], { DISCORD_TOKEN: 'x'.repeat(60) }),
    ]);
    expect(start).toMatchObject({ code: 2, stderr: expect.stringMatching(/^opsbot: cannot start: \/nonexistent\/opsbot\.yaml is invalid:\n {2}- cannot be read \(ENOENT\)/) });
    expect(deploy).toMatchObject({ code: 2, stderr: expect.stringMatching(/^deploy-commands: \/nonexistent\/opsbot\.yaml is invalid/) });
  }, 60_000);

  it('console without a configuration and without a compose file here says so (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-cli-'));
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const env = { ...process.env };
      delete env.OPSBOT_CONFIG;
      execFile(bin, ['console'], { cwd: dir, env, timeout: 60_000 }, (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no compose file (compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml) in ${dir}`);
  }, 60_000);

  it('backup: a valid SQLite copy of the audit database while the bot has it open and keeps writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-backup-'));
    const path = join(dir, 'opsbot.db');
    const store = new Store(openDatabase(path));
    const addRun = () =>
      store.createRun({ id: newId('r'), runbook: 'ps', host: 'h', params: '{}', requested_by: '1', requested_by_name: 'alice', channel_id: null, status: 'succeeded', target_key: null, created_at: Date.now() });
    for (let i = 0; i < 200; i++) addRun();
    // The "bot" keeps writing (its own connection, open throughout) while the backup runs in another process.
    const writer = setInterval(addRun, 5);
    const config = join(dir, 'opsbot.yaml');
    writeFileSync(config, `discord: {guildId: "100000000000000001", alertsChannel: alerts, roles: {viewer: v, operator: o, approver: a}}\nhosts: [{name: h, transport: local, projectDir: /srv}]\ndatabase: {path: ${path}}\n`);
    const target = join(dir, 'copy.db');
    const r = await opsbot(['backup', target, '--config', config]).finally(() => clearInterval(writer));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Backed up ${path} to ${target}: \\d+ runs, \\d+ KiB, integrity ok\\.\\n$`));
    const copied = Number(/: (\d+) runs/.exec(r.stdout)?.[1]);
    expect(copied).toBeGreaterThanOrEqual(200);

    const copy = new BetterSqlite3(target, { readonly: true, fileMustExist: true });
    expect(copy.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
    expect(copy.prepare('PRAGMA journal_mode').pluck().get()).toBe('delete'); // one self-contained file
    expect(copy.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(copied);
    copy.close();
    expect(existsSync(`${target}-wal`)).toBe(false);

    // An existing file is kept unless --force; --db names the database without a configuration.
    const again = await opsbot(['backup', target, '--db', path]);
    expect(again).toMatchObject({ code: 1, stderr: `opsbot backup: ${target} exists; choose a new name or pass --force to replace it\n` });
    expect((await opsbot(['backup', target, '--db', path, '--force'])).code).toBe(0);
    expect(await opsbot(['backup', join(dir, 'x.db'), '--db', join(dir, 'none.db')])).toMatchObject({ code: 1, stderr: expect.stringContaining('no database at') });
  }, 90_000);
});
