import type { ReportFacts } from '../../runbooks/report.js';
import { bytes } from '../../runbooks/stats.js';
import type { Config } from '../config/schema.js';
import type { Field } from '../engine/runbook.js';

export type Thresholds = Pick<Config['report'], 'certificateDays' | 'backupMaxAgeHours' | 'diskPercent'>;

/** A runbook that would fix a finding, offered as a button when that runbook exists. */
export interface Fix {
  runbook: string;
  params: Record<string, unknown>;
  label: string;
}

/** One thing that needs attention; `severe` ones make the report red. */
export interface Finding {
  text: string;
  severe: boolean;
  /** Candidates in order of preference; the first runbook the bot has becomes the button. */
  fixes: Fix[];
}

/** What changed since the report before: the facts of two reports compared. */
export interface Deltas {
  /** When the compared report was made; absent for a host's first report. */
  since?: number;
  restarts: { service: string; count: number; how: string }[];
  /** Restarts Docker's restart policy did (the container exited on its own). */
  crashes: { service: string; count: number }[];
  diskGrowthBytes?: number;
  diskPercentBefore?: number;
  newAlerts: string[];
}

/** A firing alert without its "(since …)" tail: the same alert over two reports compares equal. */
const alertKey = (line: string): string => line.replace(/ \(since [^)]*\)$/, '');

export function computeDeltas(now: ReportFacts, before: ReportFacts | undefined): Deltas {
  const d: Deltas = { restarts: [], crashes: [], newAlerts: [] };
  if (!before || !now.reachable) return d;
  d.since = before.at;
  for (const s of now.services ?? []) {
    if (s.containerId === null) continue;
    const prev = before.services?.find((p) => p.service === s.service && p.containerName === s.containerName) ?? before.services?.find((p) => p.service === s.service);
    if (!prev || prev.containerId === null) continue;
    if (prev.containerId !== s.containerId) {
      d.restarts.push({ service: s.service, count: 1 + s.restartCount, how: 'recreated' });
      if (s.restartCount > 0) d.crashes.push({ service: s.service, count: s.restartCount });
      continue;
    }
    const byDocker = Math.max(0, s.restartCount - prev.restartCount);
    if (byDocker > 0) {
      d.restarts.push({ service: s.service, count: byDocker, how: 'by its restart policy' });
      d.crashes.push({ service: s.service, count: byDocker });
    } else if (s.startedAt !== null && prev.startedAt !== null && s.startedAt !== prev.startedAt) {
      // `docker restart`, `compose restart` and /restart do not count in RestartCount.
      d.restarts.push({ service: s.service, count: 1, how: 'restarted' });
    }
  }
  if (now.disk && before.disk) {
    d.diskGrowthBytes = now.disk.usedBytes - before.disk.usedBytes;
    d.diskPercentBefore = before.disk.usePercent;
  }
  if (now.alerts) {
    const old = new Set((before.alerts ?? []).map(alertKey));
    d.newAlerts = now.alerts.filter((a) => !old.has(alertKey(a)));
  }
  return d;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function findingsOf(f: ReportFacts, deltas: Deltas, t: Thresholds, now = Date.now()): Finding[] {
  if (!f.reachable) return [{ text: `Host **${f.host}** cannot be reached: ${f.error ?? 'unknown error'}`, severe: true, fixes: [] }];
  const out: Finding[] = [];
  for (const s of f.services ?? []) {
    if (s.state === 'missing') {
      out.push({ text: `**${s.service}** has no container`, severe: true, fixes: [{ runbook: 'bootstrap', params: { service: s.service }, label: `Bootstrap ${s.service}` }, { runbook: 'restart', params: { service: s.service }, label: `Restart ${s.service}` }] });
    } else if (s.state !== 'running') {
      out.push({ text: `**${s.service}** is ${s.state}`, severe: true, fixes: [{ runbook: 'restart', params: { service: s.service }, label: `Restart ${s.service}` }] });
    } else if (s.health === 'unhealthy') {
      out.push({ text: `**${s.service}** is unhealthy`, severe: true, fixes: [{ runbook: 'restart', params: { service: s.service }, label: `Restart ${s.service}` }] });
    }
  }
  for (const c of deltas.crashes) {
    out.push({ text: `**${c.service}** was restarted ${plural(c.count, 'time')} by Docker since the last report (it exited on its own)`, severe: false, fixes: [{ runbook: 'logs', params: { service: c.service, lines: 200 }, label: `Logs of ${c.service}` }] });
  }
  for (const h of f.healthUrls ?? []) {
    if (!h.ok) out.push({ text: `Health URL of **${h.service}** fails: ${h.url} (${h.detail})`, severe: true, fixes: [{ runbook: 'restart', params: { service: h.service }, label: `Restart ${h.service}` }] });
  }
  if (f.disk && f.disk.usePercent > t.diskPercent) {
    out.push({ text: `Disk ${f.disk.usePercent}% full on ${f.disk.mount} (threshold ${t.diskPercent}%)`, severe: f.disk.usePercent >= 95, fixes: [{ runbook: 'disk-cleanup', params: {}, label: 'Clean up disk' }, { runbook: 'cleanup', params: {}, label: 'Clean up disk' }] });
  }
  for (const c of f.certificates ?? []) {
    if (c.days < t.certificateDays) {
      out.push({
        text: c.days < 0 ? `Certificate **${c.name}** expired (${c.expiry})` : `Certificate **${c.name}** expires in ${plural(c.days, 'day')} (${c.expiry}; threshold ${t.certificateDays} days)`,
        severe: c.days < 7,
        fixes: [{ runbook: 'ssl-renew', params: { certificate: c.name }, label: `Renew ${c.name}` }],
      });
    }
  }
  if (f.backup) {
    const ageH = f.backup.at === null ? Number.POSITIVE_INFINITY : (now - f.backup.at) / 3_600_000;
    if (ageH > t.backupMaxAgeHours) {
      out.push({
        text: f.backup.at === null ? `No backup in ${f.backup.path}` : `Newest backup is ${ageText(now - f.backup.at)} old (${f.backup.newest ?? '?'}; threshold ${t.backupMaxAgeHours} h)`,
        severe: false,
        fixes: [{ runbook: 'backup', params: {}, label: 'Take a backup now' }, { runbook: 'mongo-backup', params: {}, label: 'Take a backup now' }],
      });
    }
  }
  for (const a of f.alerts ?? []) {
    const alertname = a.split(' ')[0] ?? '';
    out.push({ text: `Alert firing: ${a}`, severe: false, fixes: [{ runbook: 'alert-investigation', params: { alertname }, label: `Investigate ${alertname}` }] });
  }
  for (const p of f.problems) out.push({ text: `${p.section} could not be read: ${p.message}`, severe: false, fixes: [] });
  return out;
}

export function ageText(ms: number): string {
  const h = ms / 3_600_000;
  if (h < 1) return `${Math.max(0, Math.round(ms / 60_000))} min`;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} days`;
}

const utc = (at: number): string => `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** "1 new restart (adonisjs: restarted) · disk +1.2 MiB · 1 new alert": what changed, in one line. */
export function deltaText(d: Deltas): string {
  if (d.since === undefined) return 'First report for this host: nothing to compare with yet.';
  const parts: string[] = [];
  const restarts = d.restarts.reduce((n, r) => n + r.count, 0);
  parts.push(restarts === 0 ? 'no new restarts' : `${plural(restarts, 'new restart')} (${d.restarts.map((r) => `${r.service}: ${r.how}${r.count > 1 ? ` ×${r.count}` : ''}`).join(', ')})`);
  if (d.diskGrowthBytes !== undefined) parts.push(`disk ${d.diskGrowthBytes >= 0 ? '+' : '−'}${bytes(Math.abs(d.diskGrowthBytes))}`);
  parts.push(d.newAlerts.length === 0 ? 'no new alerts' : plural(d.newAlerts.length, 'new alert'));
  return `Since the last report (${utc(d.since)}): ${parts.join(' · ')}`;
}

function uptime(startedAt: string | null, now: number): string {
  if (startedAt === null) return '';
  const at = Date.parse(startedAt);
  return Number.isFinite(at) ? `up ${ageText(now - at)}` : '';
}

/** The report's sections as fields (the adapter clips and attaches what does not fit). */
export function sectionsOf(f: ReportFacts, d: Deltas, t: Thresholds, now = Date.now()): Field[] {
  if (!f.reachable) return [];
  const fields: Field[] = [];
  const read = (section: string) => f.problems.find((p) => p.section === section);
  if (f.services) {
    fields.push({
      name: 'Services',
      value: f.services
        .map((s) => {
          const ok = s.state === 'running' && s.health !== 'unhealthy';
          const restarts = d.restarts.filter((r) => r.service === s.service).reduce((n, r) => n + r.count, 0);
          const parts = [s.state, s.health ?? '', uptime(s.startedAt, now), d.since === undefined ? '' : `${plural(restarts, 'restart')} since last report`].filter((p) => p !== '');
          return `${ok ? '✅' : '❌'} **${s.service}** ${parts.join(' · ')}`;
        })
        .join('\n'),
    });
  }
  if (f.top) {
    fields.push({ name: 'CPU / memory (top 5)', value: f.top.length === 0 ? 'no running containers' : f.top.map((r) => `\`${r.name}\` ${r.cpuPercent.toFixed(1)}% CPU · ${bytes(r.memUsed)} (${r.memPercent.toFixed(1)}%)`).join('\n') });
  } else if (read('CPU and memory')) fields.push({ name: 'CPU / memory (top 5)', value: `⚠️ ${read('CPU and memory')!.message}` });
  if (f.disk) {
    const icon = f.disk.usePercent > t.diskPercent ? '❌' : '✅';
    const lines = [`${icon} ${f.disk.usePercent}% used on \`${f.disk.mount}\` (${f.disk.used} of ${f.disk.size}, ${f.disk.avail} free)`];
    if (f.dockerDf) lines.push('```', f.dockerDf, '```');
    fields.push({ name: 'Disk', value: lines.join('\n') });
  } else if (read('Disk')) fields.push({ name: 'Disk', value: `⚠️ ${read('Disk')!.message}` });
  if (f.certificates) {
    fields.push({
      name: 'Certificates',
      value: f.certificates.length === 0 ? 'none found' : f.certificates.map((c) => `${c.days < t.certificateDays ? '❌' : '✅'} ${c.name}: ${c.days < 0 ? 'expired' : `${plural(c.days, 'day')} left`} (${c.expiry})`).join('\n'),
    });
  } else if (read('Certificates')) fields.push({ name: 'Certificates', value: `⚠️ ${read('Certificates')!.message}` });
  if (f.backup) {
    const old = f.backup.at === null || (now - f.backup.at) / 3_600_000 > t.backupMaxAgeHours;
    fields.push({ name: 'Newest backup', value: f.backup.at === null ? `❌ none in ${f.backup.path}` : `${old ? '❌' : '✅'} ${f.backup.newest ?? '?'}: ${ageText(now - f.backup.at)} old` });
  } else if (read('Backups')) fields.push({ name: 'Newest backup', value: `⚠️ ${read('Backups')!.message}` });
  if (f.alerts) {
    const fresh = new Set(d.newAlerts);
    fields.push({ name: 'Prometheus alerts', value: f.alerts.length === 0 ? '✅ none firing' : f.alerts.map((a) => `🔥 ${a}${fresh.has(a) && d.since !== undefined ? ' (new)' : ''}`).join('\n') });
  } else if (read('Prometheus alerts')) fields.push({ name: 'Prometheus alerts', value: `⚠️ ${read('Prometheus alerts')!.message}` });
  else fields.push({ name: 'Prometheus alerts', value: 'not configured (prometheusUrl of the host)' });
  if (f.healthUrls && f.healthUrls.length > 0) {
    fields.push({ name: 'Health URLs', value: f.healthUrls.map((h) => `${h.ok ? '✅' : '❌'} ${h.service} ${h.url}: ${h.detail}`).join('\n') });
  } else if (read('Health URLs')) fields.push({ name: 'Health URLs', value: `⚠️ ${read('Health URLs')!.message}` });
  return fields;
}

/** The plain verdict on top. */
export function verdictOf(findings: readonly Finding[]): { tone: 'ok' | 'warn' | 'fail'; text: string } {
  if (findings.length === 0) return { tone: 'ok', text: '✅ **All good**' };
  const tone = findings.some((f) => f.severe) ? 'fail' : 'warn';
  return { tone, text: `${tone === 'fail' ? '🔴' : '⚠️'} **${findings.length === 1 ? '1 thing needs' : `${findings.length} things need`} attention**` };
}

export { utc as utcText };
