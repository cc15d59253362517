import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDiscordDouble, type DiscordDouble, type DoubleMessage } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, readStaging, resetStaging, serviceStates, waitForServices } from '../staging/staging.js';
import { buttonId, buttonsOf, textOf } from './util.js';

/** The bot as its own process (the real entry point), so that it can be killed with SIGKILL. */
class BotProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(env: Record<string, string>) {
    // One process (node with tsx's loader, not the tsx CLI, which would run the bot in a child
    // that a SIGKILL of the parent leaves behind).
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => this.lines.push(...chunk.split('\n').filter((l) => l !== '')));
    }
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.lines.some((l) => l.includes('opsbot started'))) {
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`the bot did not start:\n${this.lines.slice(-30).join('\n')}`);
      await sleep(100);
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

interface RunRecord {
  status: string;
  error: string | null;
}

describe('kill -9 of the bot during a mutating step, then start', () => {
  const staging = readStaging();
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-crash-'));
  const dbPath = join(dir, 'opsbot.db');
  let double: DiscordDouble;
  let bot: BotProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    await resetStaging();
    double = await startDiscordDouble();
    const configFile = join(dir, 'opsbot.yaml');
    writeFileSync(
      configFile,
      stringify({
        discord: { guildId: double.guild.id, alertsChannel: 'alerts', roles: { viewer: 'viewer', operator: 'operator', approver: 'approver' } },
        hosts: [
          {
            name: 'staging',
            address: staging.sshHost,
            port: staging.sshPort,
            user: staging.user,
            keyPath: staging.keyPath,
            hostKeyFingerprint: staging.hostKeyFingerprint,
            projectDir: staging.projectDir,
            composeFiles: staging.composeFiles,
          },
        ],
        database: { path: dbPath },
        http: { listen: '127.0.0.1:0' },
        log: { level: 'info' },
      }),
    );
    env = { DISCORD_TOKEN: double.token, DISCORD_API_URL: double.apiUrl, OPSBOT_CONFIG: configFile };
  });

  afterAll(async () => {
    await bot?.kill('SIGTERM');
    await double?.close();
    rmSync(dir, { recursive: true, force: true });
    await resetStaging();
  });

  /** Reads the bot's database from outside, as an operator would after the crash. */
  function inDatabase<T>(read: (db: BetterSqlite3.Database) => T): T {
    const db = new BetterSqlite3(dbPath, { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  }
  const runRow = (id: string) => inDatabase((db) => db.prepare('SELECT status, error FROM runs WHERE id = ?').get(id) as RunRecord | undefined);
  const runIdOf = (gate: DoubleMessage) => buttonId(gate, 'Confirm').split(':')[1]!;

  it('marks the run interrupted, frees its lock, keeps its audit, and another pending gate still works', async () => {
    bot = new BotProcess(env);
    await bot.ready();

    // Run B waits at its gate across the crash.
    const b = await double.sendCommand({ name: 'restart', options: { service: 'nextjs' }, member: 'operator', channel: 'alerts' });
    const gateB = await b.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    const runB = runIdOf(gateB);

    // Run A is killed mid-way through its mutating step (watchtower takes 2 s to stop).
    const a = await double.sendCommand({ name: 'restart', options: { service: 'watchtower' }, member: 'operator', channel: 'alerts' });
    const gateA = await a.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    const runA = runIdOf(gateA);
    const mark = await commandsLogMark();
    await double.clickButton({ message: gateA, customId: buttonId(gateA, 'Confirm'), member: 'operator' });
    const deadline = Date.now() + 15_000;
    while (!(await commandsLogSince(mark)).some((l) => /restart watchtower/.test(l))) {
      if (Date.now() > deadline) throw new Error('the restart never reached the host');
      await sleep(50);
    }
    await sleep(300);
    await bot.kill('SIGKILL');
    expect(runRow(runA)?.status).toBe('running');

    bot = new BotProcess(env);
    await bot.ready();

    // A: interrupted, not resumed, its lock free.
    const a2 = runRow(runA);
    expect(a2?.status).toBe('failed');
    expect(a2?.error).toMatch(/interrupted/);
    const steps = inDatabase((db) => db.prepare('SELECT idx, status, summary FROM steps WHERE run_id = ? ORDER BY idx').all(runA) as { idx: number; status: string; summary: string | null }[]);
    expect(steps[0]?.status).toBe('succeeded');
    // The step cut off by the crash is not left "running" forever: its outcome is unknown, and says so.
    expect(steps[1]?.status).toBe('failed');
    expect(steps[1]?.summary).toMatch(/interrupted/);
    const approvals = inDatabase((db) => db.prepare('SELECT decision, accepted, user_name FROM approvals WHERE run_id = ?').all(runA));
    expect(approvals).toEqual([{ decision: 'confirm', accepted: 1, user_name: 'operator' }]);
    // The audit, as people read it.
    const audit = await double.sendCommand({ name: 'audit', options: { run: runA }, member: 'viewer', channel: 'alerts' });
    const auditText = textOf(await audit.waitForReply(undefined, { timeoutMs: 30_000 }));
    expect(auditText).toMatch(/failed/);
    expect(auditText).toMatch(/interrupted/);
    const whatRan = inDatabase((db) => db.prepare("SELECT text FROM outputs WHERE run_id = ? AND title LIKE 'audit of %'").all(runA) as { text: string }[]);
    expect(whatRan.at(-1)?.text).toMatch(/pressed confirm at step 2: accepted/);

    // The lock is free: a new restart of watchtower gets its own gate (and is cancelled here).
    const again = await double.sendCommand({ name: 'restart', options: { service: 'watchtower' }, member: 'operator', channel: 'alerts' });
    const gateAgain = await again.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    expect(textOf(gateAgain)).not.toMatch(/already running/);
    const cancel = await double.clickButton({ message: gateAgain, customId: buttonId(gateAgain, 'Cancel'), member: 'operator' });
    await cancel.waitForUpdate((m) => /cancelled/i.test(textOf(m)), { timeoutMs: 15_000 });

    // B: its gate, shown before the crash, is still open and runs once when confirmed.
    expect(runRow(runB)?.status).toBe('awaiting_confirmation');
    const confirmB = await double.clickButton({ message: gateB, customId: buttonId(gateB, 'Confirm'), member: 'operator' });
    const doneB = await confirmB.waitForUpdate((m) => /✅ \*\*Verify\*\*|❌/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(doneB)).toMatch(/✅ \*\*Restart\*\*/);
    expect(runRow(runB)?.status).toBe('succeeded');

    // The host: each restart ran exactly once (nothing was resumed or repeated after the crash)
    // and every service runs.
    const ran = await commandsLogSince(mark);
    expect(ran.filter((l) => /restart watchtower/.test(l))).toHaveLength(1);
    expect(ran.filter((l) => /restart nextjs/.test(l))).toHaveLength(1);
    await waitForServices();
    expect((await serviceStates()).watchtower?.state).toBe('running');
    expect(inDatabase((db) => db.prepare('PRAGMA integrity_check').get())).toEqual({ integrity_check: 'ok' });
    expect(double.violations).toEqual([]);
  });
});
