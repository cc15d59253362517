import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, resetStaging } from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { ask, buttonId, buttonsOf, textOf } from './util.js';


/** `PRAGMA integrity_check` from a connection of its own. */
function integrity(path: string): unknown {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return db.prepare('PRAGMA integrity_check').get();
  } finally {
    db.close();
  }
}

describe("the bot's database on a full filesystem", () => {
  const mnt = mkdtempSync(join(tmpdir(), 'opsbot-fullfs-'));
  const dbPath = join(mnt, 'opsbot.db');
  const filler = join(mnt, 'filler');
  let mounted = false;
  let h: Harness | undefined;

  beforeAll(async () => {
    await resetStaging();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=700', 'opsbot-test-fullfs', mnt]);
    mounted = true;
    h = await startHarness({ databasePath: dbPath });
  });
  afterAll(async () => {
    await h?.stop();
    if (mounted) execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('a command gets a clear error, nothing is corrupted, and it works again once there is space', async () => {
    const bot = h!;
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
    // A restart waits at its gate while the disk fills up.
    const gate = await ask(bot, 'restart', { service: 'nextjs' }, 'operator');
    expect(buttonsOf(gate).length).toBeGreaterThan(0);
    const [, runId = '', stepIdx] = buttonId(gate, 'Confirm').split(':');
    const runsBefore = bot.app.store.countRuns();

    // Fill the filesystem to the last page.
    const fd = openSync(filler, 'w');
    try {
      for (const size of [1024 * 1024, 64 * 1024, 4096, 512]) {
        const chunk = Buffer.alloc(size, 1);
        try {
          for (;;) writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        }
      }
    } finally {
      closeSync(fd);
    }

    const mark = await commandsLogMark();
    for (const [name, options, member] of [['ps', {}, 'viewer'], ['restart', { service: 'adonisjs' }, 'operator']] as const) {
      const body = textOf(await ask(bot, name, options, member));
      expect(body, name).toMatch(/cannot write to the bot's database \(.*opsbot\.db\): the disk holding it is full/);
      expect(body, name).not.toMatch(/Something went wrong/);
    }
    // A Confirm that cannot be recorded runs nothing, and the gate stays open for later.
    const click = await bot.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const refused = await Promise.any([click.waitForReply(undefined, { timeoutMs: 30_000 }), click.waitForFollowup(undefined, { timeoutMs: 30_000 })]);
    expect(textOf(refused)).toMatch(/the disk holding it is full/);
    expect(bot.app.store.getGate(runId, Number(stepIdx))?.state).toBe('open');
    expect(bot.logs.some((l) => l.includes('store.full'))).toBe(true);
    // Nothing that changes the host ran, and no run was half-recorded.
    expect((await commandsLogSince(mark)).filter((l) => /\brestart\b/.test(l))).toEqual([]);
    expect(bot.app.store.countRuns()).toBe(runsBefore);
    expect(integrity(dbPath)).toEqual({ integrity_check: 'ok' });

    unlinkSync(filler);
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
    // The same gate now confirms, and the restart runs once.
    const confirm = await bot.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await confirm.waitForUpdate((m) => /✅ \*\*Verify\*\*|❌/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Restart\*\*/);
    expect((await commandsLogSince(mark)).filter((l) => /\brestart nextjs\b/.test(l))).toHaveLength(1);
    expect(bot.app.store.countRuns()).toBe(runsBefore + 1);
    expect(integrity(dbPath)).toEqual({ integrity_check: 'ok' });
    expect(bot.double.violations).toEqual([]);
  });
});

describe("the bot's database used by another program at the same time", () => {
  let h: Harness | undefined;
  let other: ChildProcess | undefined;

  /** Runs `script` in a node process of its own against the database; resolves once it printed `ready`. */
  async function otherProgram(script: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), env: { ...process.env, DB: h!.config.database.path }, stdio: ['ignore', 'pipe', 'inherit'] });
    other = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the other program exited (${code}) before it was ready`)));
    });
    return child;
  }
  // A process killed by a signal keeps exitCode null (signalCode is set): both mean it is gone.
  const gone = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (gone(child) ? resolve() : child.once('exit', () => resolve())));

  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
    expect(textOf(await ask(h, 'ps'))).toContain('all 5 services running');
  });
  afterEach(async () => {
    if (other && !gone(other)) {
      other.kill('SIGKILL');
      await exited(other);
    }
    expect(h?.double.violations).toEqual([]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a backup (better-sqlite3 db.backup, page by page) running meanwhile does not get in the way', async () => {
    const bot = h!;
    const backupDir = mkdtempSync(join(tmpdir(), 'opsbot-backup-'));
    try {
      // Backups in a loop, one page per step, until killed: commands run while one is in progress.
      const child = await otherProgram(`
        const Db = require('better-sqlite3');
        const db = new Db(process.env.DB);
        let n = 0;
        (async () => {
          for (;;) {
            await db.backup(${JSON.stringify(backupDir)} + '/copy-' + (n++ % 2) + '.db', { progress: () => 1 });
            if (n === 1) console.log('ready');
          }
        })();
      `);
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      expect(child.exitCode).toBeNull(); // the backups were still going on
    } finally {
      if (other && !gone(other)) {
        other.kill('SIGKILL');
        await exited(other);
      }
      rmSync(backupDir, { recursive: true, force: true });
    }
    expect(integrity(bot.config.database.path)).toEqual({ integrity_check: 'ok' });
  });

  it('a write lock held briefly is waited for; one held past busy_timeout is said clearly, and then it works', async () => {
    const bot = h!;
    const lockFor = (ms: number) =>
      otherProgram(`
        const Db = require('better-sqlite3');
        const db = new Db(process.env.DB);
        db.exec('BEGIN IMMEDIATE');
        console.log('ready');
        setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, ${ms});
      `);

    // Shorter than the bot's busy_timeout (5 s): the command waits, then works.
    const brief = await lockFor(1500);
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
    await exited(brief);

    // Longer: a clear answer instead of an internal error, and nothing half-recorded.
    const runs = bot.app.store.countRuns();
    const long = await lockFor(9000);
    const body = textOf(await ask(bot, 'ps'));
    expect(body).toMatch(/The bot's database \(.*\) stayed locked by another program \(a backup\?\)/);
    expect(body).not.toMatch(/Something went wrong/);
    await exited(long);
    expect(bot.app.store.countRuns()).toBe(runs);
    expect(textOf(await ask(bot, 'ps'))).toContain('all 5 services running');
    expect(integrity(bot.config.database.path)).toEqual({ integrity_check: 'ok' });
  });
});
