import { describe, expect, it } from 'vitest';
import { newestFile, parseCertificates, parseDf, type ReportFacts } from '../../runbooks/report.js';
import { configSchema } from '../../src/config/schema.js';
import { computeDeltas, deltaText, findingsOf, sectionsOf, verdictOf } from '../../src/report/build.js';
import { missedFire } from '../../src/report/schedule.js';

const NOW = Date.parse('2026-11-29T09:00:30Z');
const T = { certificateDays: 30, backupMaxAgeHours: 26, diskPercent: 85 };

function facts(over: Partial<ReportFacts> = {}): ReportFacts {
  return {
    host: 'prod',
    at: NOW,
    reachable: true,
    services: [
      { service: 'adonisjs', containerId: 'a1', containerName: 'bb_adonisjs_1', state: 'running', health: 'healthy', startedAt: '2026-11-29T08:00:00Z', createdAt: '2026-11-01T00:00:00Z', restartCount: 0 },
      { service: 'mongo', containerId: 'm1', containerName: 'bb_mongo_1', state: 'running', health: null, startedAt: '2026-11-20T08:00:00Z', createdAt: '2026-11-01T00:00:00Z', restartCount: 0 },
    ],
    disk: { mount: '/', size: '100G', used: '40G', avail: '60G', usePercent: 40, usedBytes: 40 * 1024 ** 3 },
    certificates: [{ name: 'example.com', expiry: '2027-02-01 00:00:00', days: 64 }],
    backup: { path: '/backups', newest: 'dump.gz', at: NOW - 3_600_000 },
    alerts: [],
    healthUrls: [{ service: 'adonisjs', url: 'http://127.0.0.1:3333/health', ok: true, detail: 'HTTP 200' }],
    problems: [],
    ...over,
  };
}

describe('report parsers', () => {
  it('reads certbot certificates: name, expiry and whole days left from the expiry date', () => {
    const out = `Found the following certs:
  Certificate Name: brainbytes.example.com
    Serial Number: 48c3
    Domains: brainbytes.example.com
    Expiry Date: 2026-12-09 09:00:30+00:00 (VALID: 10 days)
    Certificate Path: /etc/letsencrypt/live/brainbytes.example.com/fullchain.pem
  Certificate Name: old.example.com
    Expiry Date: 2026-11-01 00:00:00+00:00 (INVALID: EXPIRED)
`;
    expect(parseCertificates(out, NOW)).toEqual([
      { name: 'brainbytes.example.com', expiry: '2026-12-09 09:00:30', days: 10 },
      { name: 'old.example.com', expiry: '2026-11-01 00:00:00', days: -29 },
    ]);
  });

  it('finds the newest regular file in ls -l --full-time (busybox and GNU), ignoring links and folders', () => {
    const busybox = `total 12
-rw-r--r--    1 1001     1001           121 2026-11-26 03:00:00 +0000 brainbytes-2026-11-26T0300.dump.gz
-rw-r--r--    1 1001     1001           121 2026-11-28 03:00:00 +0000 brainbytes-2026-11-28T0300.dump.gz
lrwxrwxrwx    1 1001     1001            34 2026-11-29 08:00:00 +0000 latest.dump -> brainbytes-2026-11-28T0300.dump.gz
drwxr-xr-x    2 1001     1001          4096 2026-11-29 08:00:00 +0000 tmp`;
    expect(newestFile(busybox)).toEqual({ name: 'brainbytes-2026-11-28T0300.dump.gz', at: Date.parse('2026-11-28T03:00:00Z') });
    const gnu = '-rw-r--r-- 1 mongodb mongodb 2048 2026-11-28 04:00:00.123456789 +0100 nightly dump.gz';
    expect(newestFile(gnu)).toEqual({ name: 'nightly dump.gz', at: Date.parse('2026-11-28T03:00:00Z') });
    expect(newestFile('total 0')).toBeNull();
  });

  it('reads df -h -P', () => {
    const d = parseDf('Filesystem      Size  Used Avail Use% Mounted on\n/dev/vda        252G   23G   79G  23% /\n');
    expect(d).toMatchObject({ mount: '/', size: '252G', used: '23G', usePercent: 23 });
    expect(d.usedBytes).toBe(23 * 1024 ** 3);
  });
});

describe('report findings, deltas and verdict', () => {
  it('all good when every threshold holds', () => {
    const f = facts();
    const findings = findingsOf(f, computeDeltas(f, undefined), T, NOW);
    expect(findings).toEqual([]);
    expect(verdictOf(findings)).toEqual({ tone: 'ok', text: '✅ **All good**' });
  });

  it('thresholds: a certificate under 30 days, a backup over 26 h, a disk over 85 % each need attention, with their fixes', () => {
    const f = facts({
      certificates: [{ name: 'example.com', expiry: '2026-12-09 00:00:00', days: 10 }],
      backup: { path: '/backups', newest: 'dump.gz', at: NOW - 27 * 3_600_000 },
      disk: { mount: '/', size: '100G', used: '90G', avail: '10G', usePercent: 90, usedBytes: 90 * 1024 ** 3 },
    });
    const findings = findingsOf(f, computeDeltas(f, undefined), T, NOW);
    expect(findings.map((x) => x.text)).toEqual([
      'Disk 90% full on / (threshold 85%)',
      'Certificate **example.com** expires in 10 days (2026-12-09 00:00:00; threshold 30 days)',
      'Newest backup is 27.0 h old (dump.gz; threshold 26 h)',
    ]);
    expect(findings[1]!.fixes[0]).toMatchObject({ runbook: 'ssl-renew' });
    expect(verdictOf(findings)).toMatchObject({ tone: 'warn', text: '⚠️ **3 things need attention**' });
    // Just inside each threshold: nothing.
    const edge = facts({ certificates: [{ name: 'e', expiry: '', days: 30 }], backup: { path: '/b', newest: 'd', at: NOW - 26 * 3_600_000 }, disk: { ...f.disk!, usePercent: 85 } });
    expect(findingsOf(edge, computeDeltas(edge, undefined), T, NOW)).toEqual([]);
  });

  it('a service down is red with a restart fix; an unreachable host is one red finding', () => {
    const f = facts();
    f.services![1]!.state = 'exited';
    const findings = findingsOf(f, computeDeltas(f, undefined), T, NOW);
    expect(findings).toEqual([{ text: '**mongo** is exited', severe: true, fixes: [{ runbook: 'restart', params: { service: 'mongo' }, label: 'Restart mongo' }] }]);
    expect(verdictOf(findings).tone).toBe('fail');
    const down: ReportFacts = { host: 'prod', at: NOW, reachable: false, error: 'Cannot connect', problems: [] };
    expect(findingsOf(down, computeDeltas(down, facts()), T, NOW).map((x) => x.text)).toEqual(['Host **prod** cannot be reached: Cannot connect']);
    expect(sectionsOf(down, computeDeltas(down, facts()), T, NOW)).toEqual([]);
  });

  it('deltas: a manual restart, a recreation, crashes by the restart policy, disk growth, new alerts', () => {
    const before = facts({ at: NOW - 86_400_000, alerts: ['HighLoad [warning] instance=a (since 2026-11-28T01:00:00Z)'] });
    const now = facts({
      alerts: ['HighLoad [warning] instance=a (since 2026-11-28T01:00:00Z)', 'DiskFull [critical] (since 2026-11-29T08:00:00Z)'],
      disk: { ...before.disk!, usedBytes: before.disk!.usedBytes + 1024 ** 3 },
    });
    now.services![0]!.startedAt = '2026-11-29T08:30:00Z'; // adonisjs: restarted by hand
    now.services![1] = { ...now.services![1]!, containerId: 'm2', restartCount: 2 }; // mongo: recreated, then crashed twice
    const d = computeDeltas(now, before);
    expect(d.restarts).toEqual([
      { service: 'adonisjs', count: 1, how: 'restarted' },
      { service: 'mongo', count: 3, how: 'recreated' },
    ]);
    expect(d.crashes).toEqual([{ service: 'mongo', count: 2 }]);
    expect(d.diskGrowthBytes).toBe(1024 ** 3);
    expect(d.newAlerts).toEqual(['DiskFull [critical] (since 2026-11-29T08:00:00Z)']);
    expect(deltaText(d)).toBe('Since the last report (2026-11-28 09:00 UTC): 4 new restarts (adonisjs: restarted, mongo: recreated ×3) · disk +1.0GiB · 1 new alert');
    const texts = findingsOf(now, d, T, NOW).map((x) => x.text);
    expect(texts).toContain('**mongo** was restarted 2 times by Docker since the last report (it exited on its own)');
    expect(texts.filter((x) => x.startsWith('Alert firing'))).toHaveLength(2);
    expect(deltaText(computeDeltas(now, undefined))).toMatch(/First report/);
  });
});

describe('report schedule and configuration', () => {
  it('finds the newest fire time missed between the last one and now, in the time zone', () => {
    const day = 86_400_000;
    const nine = Date.parse('2026-11-29T09:00:00Z');
    expect(missedFire('0 9 * * *', 'UTC', nine - day, nine + 1000)).toBe(nine);
    expect(missedFire('0 9 * * *', 'UTC', nine - 3 * day, nine + 1000)).toBe(nine); // one late report, not three
    expect(missedFire('0 9 * * *', 'UTC', nine, nine + day - 1000)).toBeUndefined();
    // 09:00 in Berlin is 08:00 UTC in winter.
    expect(missedFire('0 9 * * *', 'Europe/Berlin', nine - day, nine)).toBe(nine - 3_600_000);
  });

  it('report thresholds have defaults; a bad schedule or time zone is refused by key', () => {
    const base = {
      discord: { guildId: '123456789012345678', alertsChannel: 'alerts', roles: { viewer: 'v', operator: 'o', approver: 'a' } },
      hosts: [{ name: 'prod', transport: 'local', projectDir: '/srv/app' }],
    };
    expect(configSchema.parse(base).report).toEqual({ schedule: '0 9 * * *', timeZone: 'UTC', certificateDays: 30, backupMaxAgeHours: 26, diskPercent: 85 });
    const bad = configSchema.safeParse({ ...base, report: { schedule: '0 99 * * * *', timeZone: 'Mars/Olympus' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['report.schedule', 'report.timeZone']);
  });
});
