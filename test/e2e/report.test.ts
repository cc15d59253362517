import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runbooks } from '../../runbooks/index.js';
import type { DoubleMessage } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, hostCompose, killStagingSshSessions, readStaging, resetStaging, restoreStaging, stopStagingDaemon, waitForServices } from '../staging/staging.js';
import { prometheusConfig, startPrometheus, type PrometheusDaemon } from '../support/prometheus.js';
import { startHarness, type Harness } from './harness.js';
import { ask, buttonId, buttonsOf, mutatingCommands, textOf } from './util.js';

const execFileAsync = promisify(execFile);
const RED = 0xe74c3c;
const BACKUP_AGE_MS = 3 * 86_400_000;

/** A daily cron expression (seconds first) for `secondsAhead` from now, in UTC. */
function dailyAt(secondsAhead: number): { cron: string; at: number } {
  const at = new Date(Date.now() + secondsAhead * 1000);
  at.setUTCMilliseconds(0);
  return { cron: `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`, at: at.getTime() };
}

const reportsIn = (h: { double: { channelMessages(c: 'alerts'): DoubleMessage[] } }, host = 'staging'): DoubleMessage[] =>
  h.double.channelMessages('alerts').filter((m) => (m.embeds?.[0]?.title ?? '').includes(`Health report · ${host}`));

const description = (m: DoubleMessage): string => m.embeds?.[0]?.description ?? '';
const field = (m: DoubleMessage, name: string): string => m.embeds?.[0]?.fields?.find((f) => f.name === name)?.value ?? '';


/**
 * The daily health report against the staging host: the schedule posts it to #alerts, its
 * content matches the host's real state (a certificate 10 days from expiry, a backup planted 3
 * days old), deltas over two reports, a finding's button starts its runbook at its gate, an
 * unreachable host is a red section, and a report missed while the bot was down comes once, late.
 */
describe('daily health report', () => {
  let bot: Harness | undefined;
  // Set once the staging host is reset, so the fire time is still ahead when the bot starts.
  let schedule = { cron: '', at: 0 };
  /** The report the schedule posted at `schedule.at` (the first test). */
  let onTime = '';
  beforeAll(async () => {
    await resetStaging();
    // The newest backup is 3 days old (the seed's files are written just now).
    const dir = join(readStaging().projectDir, 'backups');
    const old = new Date(Date.now() - BACKUP_AGE_MS);
    for (const name of readdirSync(dir)) if (lstatSync(join(dir, name)).isFile()) utimesSync(join(dir, name), old, old);
    schedule = dailyAt(6);
    bot = await startHarness({ report: { schedule: schedule.cron, timeZone: 'UTC' } });
  });
  afterAll(async () => {
    await bot?.stop();
    // sshd back (restoreStaging), then the seed's backups with their fresh times (resetStaging).
    await restoreStaging();
    await resetStaging();
  });
  afterEach(() => {
    expect(bot?.double.violations).toEqual([]);
  });
  const h = new Proxy({} as Harness, { get: (_t, key) => Reflect.get(bot!, key) as unknown });

  it('the schedule posts a report to #alerts that matches the host: services, disk, certificates, old backup, health URL; it is in /audit', async () => {
    const post = await h.double.waitForChannelMessage('alerts', (m) => (m.embeds?.[0]?.title ?? '').includes('Health report · staging'), { timeoutMs: 40_000 });
    onTime = post.id;
    expect(Date.now()).toBeGreaterThanOrEqual(schedule.at);
    const text = textOf(post);
    expect(description(post)).toMatch(/\d+ things need attention/);

    for (const s of h.staging.services) expect(field(post, 'Services')).toMatch(new RegExp(`✅ \\*\\*${s}\\*\\* running`));
    expect(field(post, 'Services')).toMatch(/adonisjs\*\* running · healthy · up/);

    // Disk: the same Use% the host's own df shows.
    const df = (await execFileAsync('df', ['-h', '-P', h.staging.projectDir])).stdout.split('\n')[1]!.trim().split(/\s+/);
    expect(field(post, 'Disk')).toContain(`${df[4]} used on \`${df[5]}\``);
    expect(field(post, 'Disk')).toMatch(/TYPE\s+TOTAL\s+ACTIVE/); // docker system df

    // Certificates: the seeded ones; the one near expiry is a finding, the other is fine.
    for (const c of h.staging.certificates) {
      const line = field(post, 'Certificates').split('\n').find((l) => l.includes(c.domain + ':'));
      const days = Number(/(\d+) days? left/.exec(line ?? '')?.[1]);
      expect(Math.abs(days - c.expiresInDays)).toBeLessThanOrEqual(1);
      expect(line?.startsWith(c.expiresInDays < 30 ? '❌' : '✅')).toBe(true);
    }
    const near = h.staging.certificates.find((c) => c.expiresInDays < 30)!;
    expect(description(post)).toMatch(new RegExp(`Certificate \\*\\*${near.domain.replace(/\./g, '\\.')}\\*\\* expires in \\d+ days`));
    const sslRenew = runbooks.some((r) => r.id === 'ssl-renew');
    const renew = buttonsOf(post).filter((b) => b.label === `Renew ${near.domain}`);
    expect(renew.length).toBe(sslRenew ? 1 : 0);
    if (sslRenew) {
      // Its button starts ssl-renew for that certificate, stopped at its gate.
      const mark = await commandsLogMark();
      const preview = await h.double.clickButton({ message: post, customId: renew[0]!.custom_id!, member: 'operator' }).waitForReply((m) => buttonsOf(m).some((b) => b.label === 'Confirm'), { timeoutMs: 30_000 });
      expect(textOf(preview)).toContain(`Started from report`);
      expect(textOf(preview)).toContain(near.domain);
      expect(mutatingCommands(await commandsLogSince(mark)).filter((l) => /certbot renew(?! --dry-run)/.test(l))).toEqual([]);
      await h.double.clickButton({ message: preview, customId: buttonId(preview, 'Cancel'), member: 'operator' }).waitForUpdate();
    }

    // Backups: the planted 3-day-old one.
    expect(field(post, 'Newest backup')).toMatch(/❌ brainbytes-.*\.dump\.gz: 3\.0 days old/);
    expect(description(post)).toMatch(/Newest backup is 3\.0 days old/);

    expect(field(post, 'Health URLs')).toMatch(/✅ adonisjs http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/);
    expect(field(post, 'CPU / memory (top 5)')).toMatch(/% CPU/);
    expect(text).toMatch(/First report for this host/);

    // Through the engine like any run, by the scheduler, and in /audit.
    const runId = /run (r[A-Za-z0-9_-]{8})/.exec(post.embeds?.[0]?.footer?.text ?? '')?.[1];
    expect(runId).toBeDefined();
    const audit = await ask(h, 'audit', { run: runId! });
    expect(textOf(audit)).toMatch(/\*\*report\*\* on `staging`/);
    expect(textOf(audit)).toMatch(/Started from the report schedule/);
    expect(h.app.store.getRun(runId!)?.requested_by).toBe('scheduler');
  });

  it('/report after a restart says "1 new restart" against the previous report', async () => {
    await hostCompose(['restart', 'adonisjs']);
    await waitForServices();
    const before = reportsIn(h).length;
    const reply = await ask(h, 'report');
    expect(textOf(reply)).toMatch(/Health report posted/);
    const posts = reportsIn(h);
    expect(posts.length).toBe(before + 1);
    const post = posts.at(-1)!;
    expect(description(post)).toMatch(/Since the last report \([^)]*\): 1 new restart \(adonisjs: restarted\)/);
    expect(description(post)).toMatch(/disk [+−]/);
    expect(field(post, 'Services')).toMatch(/adonisjs\*\* running · healthy · up [^\n]*· 1 restart since last report/);
    expect(field(post, 'Services')).toMatch(/nextjs\*\* running · up [^\n]*· 0 restarts since last report/);
  });

  it("a finding's button starts its runbook at its gate: nothing changes before Confirm", async () => {
    await hostCompose(['stop', 'nextjs']);
    try {
      await ask(h, 'report');
      const post = reportsIn(h).at(-1)!;
      expect(description(post)).toMatch(/\*\*nextjs\*\* is exited → \*\*Restart nextjs\*\*/);
      expect(post.embeds?.[0]?.color).toBe(RED);
      const mark = await commandsLogMark();
      const preview = await h.double.clickButton({ message: post, customId: buttonId(post, 'Restart nextjs'), member: 'operator' }).waitForReply((m) => buttonsOf(m).length > 0);
      expect(textOf(preview)).toMatch(/Started from report p\S+ on staging: nextjs is exited/);
      expect(buttonsOf(preview).map((b) => b.label)).toContain('Confirm');
      expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
      await h.double.clickButton({ message: preview, customId: buttonId(preview, 'Cancel'), member: 'operator' }).waitForUpdate();
    } finally {
      await hostCompose(['start', 'nextjs']);
    }
  });

  it('a host that cannot be reached is a red section naming it, not a missing report', async () => {
    // No new connections, and the bot's pooled one gone with its sessions.
    killStagingSshSessions();
    await stopStagingDaemon('sshd');
    try {
      const reply = await ask(h, 'report');
      expect(textOf(reply)).toMatch(/staging/);
      const post = reportsIn(h).at(-1)!;
      expect(post.embeds?.[0]?.title).toBe('🔴 Health report · staging');
      expect(post.embeds?.[0]?.color).toBe(RED);
      expect(description(post)).toMatch(/Host \*\*staging\*\* cannot be reached: Cannot connect to host "staging"/);
    } finally {
      await restoreStaging();
    }
  });

  it('a report missed while the bot was down is posted once at the next start, saying it is late', async () => {
    // The bot last fired yesterday (stored as it would be), so at its next start today's slot counts as missed.
    const lastFiredYesterday = () => {
      const db = new BetterSqlite3(h.config.database.path);
      try {
        db.prepare('UPDATE report_schedule SET last_fire = ? WHERE id = 1').run(schedule.at - 86_400_000);
      } finally {
        db.close();
      }
    };
    // First as if the fire time was not recorded although the report went out (the first test's):
    // the slot's post comes back from Discord for its nonce, and nothing new is posted.
    let before = reportsIn(h).length;
    lastFiredYesterday();
    await h.restartBot();
    await h.app.reportSchedule.catchUp;
    expect(reportsIn(h).length).toBe(before);
    expect(h.logs.some((l) => l.includes('a scheduled report was missed while the bot was down'))).toBe(true);

    // Then truly down over the fire time: the report of that slot was never posted.
    const stored = h.double.world.messages.get(onTime);
    if (stored) h.double.world.deleteMessage(stored);
    before = reportsIn(h).length;
    lastFiredYesterday();
    await h.restartBot();
    const late = await h.double.waitForChannelMessage('alerts', (m) => (m.embeds?.[0]?.title ?? '') === 'Health report · staging (late)', { timeoutMs: 30_000 });
    expect(description(late)).toContain(`was due at ${new Date(schedule.at).toISOString().slice(0, 16).replace('T', ' ')} UTC; the bot was not running then`);
    await h.app.reportSchedule.catchUp;
    // Once: another restart does not post it again.
    await h.restartBot();
    await h.app.reportSchedule.catchUp;
    expect(reportsIn(h).length).toBe(before + 1);
  });
});

describe('health report with Prometheus', () => {
  let bot: Harness | undefined;
  let prom: PrometheusDaemon | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-report-rules-'));
  beforeAll(async () => {
    await resetStaging();
    // One alert firing from the start, a second one only from a few seconds on: "new since the last report".
    const later = Math.round(Date.now() / 1000) + 8;
    writeFileSync(
      join(dir, 'rules.yml'),
      `groups:\n  - name: report-test\n    rules:\n      - alert: ReportProbeAlways\n        expr: vector(1)\n        labels: { severity: warning }\n` +
        `      - alert: ReportProbeLater\n        expr: vector(1) and on() (vector(time()) > ${later})\n        labels: { severity: critical }\n`,
    );
    prom = await startPrometheus({ config: prometheusConfig({ target: '127.0.0.1:9', ruleFiles: [join(dir, 'rules.yml')] }) });
    bot = await startHarness({ hostConfig: () => ({ prometheusUrl: prom!.url }) });
  });
  afterAll(async () => {
    await bot?.stop();
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists firing alerts and, in the next report, the ones new since the last', async () => {
    await prom!.waitFor('ALERTS{alertname="ReportProbeAlways",alertstate="firing"}', (r) => r.length === 1);
    await ask(bot!, 'report');
    const first = reportsIn(bot!).at(-1)!;
    expect(field(first, 'Prometheus alerts')).toMatch(/🔥 ReportProbeAlways \[warning\]/);
    expect(field(first, 'Prometheus alerts')).not.toMatch(/ReportProbeLater/);
    expect(buttonsOf(first).map((b) => b.label)).toEqual(expect.arrayContaining(runbooks.some((r) => r.id === 'alert-investigation') ? ['Investigate ReportProbeAlways'] : []));

    await prom!.waitFor('ALERTS{alertname="ReportProbeLater",alertstate="firing"}', (r) => r.length === 1, 30_000);
    await ask(bot!, 'report');
    const second = reportsIn(bot!).at(-1)!;
    expect(description(second)).toMatch(/Since the last report \([^)]*\): .* · 1 new alert/);
    expect(field(second, 'Prometheus alerts')).toMatch(/🔥 ReportProbeLater \[critical\][^\n]*\(new\)/);
    expect(field(second, 'Prometheus alerts')).not.toMatch(/ReportProbeAlways[^\n]*\(new\)/);
    expect(bot!.double.violations).toEqual([]);
  });
});
