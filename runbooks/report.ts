import { z } from 'zod';
import { isUserError } from '../src/engine/errors.js';
import { defineRunbook, type StepContext } from '../src/engine/runbook.js';
import { healthCheck } from './health-check.js';
import { firingAlerts } from './health.js';
import { bytes, parseSize, usageOfLine } from './stats.js';

/**
 * What one report run found on a host, as data: the report (src/report) turns it into findings,
 * compares it with the previous report's, and stores it. Absent sections were not read (a failed
 * read is listed in `problems`), so a delta is never computed against a guess.
 */
export const reportFacts = z.object({
  host: z.string(),
  at: z.number(),
  /** The host answered the first read; false: `error` says why, and nothing else was read. */
  reachable: z.boolean(),
  error: z.string().optional(),
  services: z
    .array(
      z.object({
        service: z.string(),
        containerId: z.string().nullable(),
        containerName: z.string().nullable(),
        state: z.string(),
        health: z.string().nullable(),
        startedAt: z.string().nullable(),
        createdAt: z.string().nullable().default(null),
        restartCount: z.number().default(0),
      }),
    )
    .optional(),
  /** The busiest containers by CPU, then memory (`docker stats --no-stream`). */
  top: z.array(z.object({ name: z.string(), cpuPercent: z.number(), memUsed: z.number(), memLimit: z.number(), memPercent: z.number() })).optional(),
  disk: z.object({ mount: z.string(), size: z.string(), used: z.string(), avail: z.string(), usePercent: z.number(), usedBytes: z.number() }).optional(),
  dockerDf: z.string().optional(),
  certificates: z.array(z.object({ name: z.string(), expiry: z.string(), days: z.number() })).optional(),
  /** The newest backup file; `at` null when the folder holds none. */
  backup: z.object({ path: z.string(), newest: z.string().nullable(), at: z.number().nullable() }).optional(),
  /** Firing Prometheus alerts, one line each; absent when no prometheusUrl is configured. */
  alerts: z.array(z.string()).optional(),
  healthUrls: z.array(z.object({ service: z.string(), url: z.string(), ok: z.boolean(), detail: z.string() })).optional(),
  /** Sections that could not be read, and why. */
  problems: z.array(z.object({ section: z.string(), message: z.string() })).default([]),
});
export type ReportFacts = z.infer<typeof reportFacts>;

const params = z.object({});
type Params = z.infer<typeof params>;

/**
 * Facts of runs in progress, by run id, taken by the report once its run has ended. Kept in
 * memory only: a run's steps and its caller live in the same process, and what is shown is stored.
 */
const drafts = new Map<string, { at: number; facts: ReportFacts }>();
const DRAFT_TTL_MS = 10 * 60_000;

function draft(ctx: StepContext<Params>): ReportFacts {
  let d = drafts.get(ctx.runId);
  if (!d) {
    const now = Date.now();
    // A /runbook report nobody takes must not stay forever.
    for (const [id, old] of drafts) if (now - old.at > DRAFT_TTL_MS) drafts.delete(id);
    d = { at: now, facts: { host: ctx.host.name, at: now, reachable: true, problems: [] } };
    drafts.set(ctx.runId, d);
  }
  return d.facts;
}

/** The facts a report run gathered (once: they are removed). */
export function takeFacts(runId: string): ReportFacts | undefined {
  const d = drafts.get(runId);
  drafts.delete(runId);
  return d?.facts;
}

const reason = (err: unknown): string => (isUserError(err) ? err.message : err instanceof Error ? err.message : String(err)).slice(0, 300);


/** `certbot certificates`: the name and expiry of each certificate, days left from the expiry date. */
export function parseCertificates(text: string, now = Date.now()): { name: string; expiry: string; days: number }[] {
  const out: { name: string; expiry: string; days: number }[] = [];
  let name: string | undefined;
  for (const line of text.split('\n')) {
    const n = /^\s*Certificate Name:\s*(\S+)/.exec(line);
    if (n) name = n[1];
    const e = /^\s*Expiry Date:\s*(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)([+-]\d\d:\d\d|Z)?\s*(?:\((?:VALID: (\d+) days?|INVALID[^)]*)\))?/.exec(line);
    if (e && name !== undefined) {
      const at = Date.parse(`${e[1]}T${e[2]}${e[3] ?? 'Z'}`);
      const days = Number.isFinite(at) ? Math.floor((at - now) / 86_400_000) : Number(e[4] ?? 0);
      out.push({ name, expiry: `${e[1]} ${e[2]}`, days });
      name = undefined;
    }
  }
  return out;
}

/** `ls -l --full-time DIR` (GNU or busybox): the newest regular file and its time. */
export function newestFile(text: string): { name: string; at: number } | null {
  let best: { name: string; at: number } | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith('-')) continue; // regular files only: not `total`, folders or the latest.dump link
    const m = /\s(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)? ([+-]\d{4})\s+(.+)$/.exec(line);
    if (!m) continue;
    const zone = `${m[3]!.slice(0, 3)}:${m[3]!.slice(3)}`;
    const at = Date.parse(`${m[1]}T${m[2]}${zone}`);
    if (Number.isFinite(at) && (best === null || at > best.at)) best = { name: m[4]!, at };
  }
  return best;
}

/** `df -h -P DIR`: the filesystem's line. */
export function parseDf(text: string): NonNullable<ReportFacts['disk']> {
  const line = text.split('\n').filter((l) => l.trim() !== '')[1];
  const cols = line?.trim().split(/\s+/) ?? [];
  if (cols.length < 6) throw new Error(`unexpected df output: ${text.slice(0, 200)}`);
  const [, size = '', used = '', avail = '', pct = ''] = cols;
  const usedBytes = parseSize(used.replace(/([KMGTP])$/i, '$1iB'));
  return { mount: cols.slice(5).join(' '), size, used, avail, usePercent: Number.parseInt(pct, 10), usedBytes: Number.isFinite(usedBytes) ? usedBytes : 0 };
}

/** The container of a compose service (its first), to run a read-only tool in. */
function containerOf(facts: ReportFacts, service: string): string {
  const row = facts.services?.find((s) => s.service === service && s.containerName !== null && s.state === 'running');
  if (!row?.containerName) throw new Error(`service "${service}" has no running container`);
  return row.containerName;
}

/**
 * What the report reads besides the services, each section on its own: one that fails is listed
 * as a problem and the others still count. They run at once (over the host's SSH channels): the
 * slowest, `docker stats` sampling for about 2 s, sets the time, not their sum.
 */
const SECTIONS: { name: string; read: (ctx: StepContext<Params>, facts: ReportFacts) => Promise<string> }[] = [
  {
    name: 'CPU and memory',
    async read(ctx, facts) {
      const res = await ctx.exec(['docker', 'stats', '--no-stream', '--no-trunc', '--format', '{{json .}}'], { timeoutMs: 60_000 });
      if (res.exitCode !== 0) throw new Error(`docker stats exited ${res.exitCode}: ${res.stderr.trim().slice(0, 200)}`);
      const rows = res.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => usageOfLine(JSON.parse(l)));
      rows.sort((a, b) => b.cpuPercent - a.cpuPercent || b.memUsed - a.memUsed);
      facts.top = rows.slice(0, 5).map((r) => ({ name: r.name, cpuPercent: r.cpuPercent, memUsed: r.memUsed, memLimit: r.memLimit, memPercent: r.memPercent }));
      return `${rows.length} containers; busiest ${facts.top.map((r) => `${r.name} ${r.cpuPercent.toFixed(1)}%`).join(', ') || '—'}`;
    },
  },
  {
    name: 'Disk',
    async read(ctx, facts) {
      const [df, sys] = await Promise.all([ctx.exec(['df', '-h', '-P', ctx.host.config.projectDir], { timeoutMs: 15_000 }), ctx.exec(['docker', 'system', 'df'], { timeoutMs: 60_000 })]);
      if (sys.exitCode === 0) facts.dockerDf = sys.stdout.trimEnd();
      else facts.problems.push({ section: 'Docker disk usage', message: `docker system df exited ${sys.exitCode}: ${sys.stderr.trim().slice(0, 200)}` });
      if (df.exitCode !== 0) throw new Error(`df exited ${df.exitCode}: ${df.stderr.trim().slice(0, 200)}`);
      facts.disk = parseDf(df.stdout);
      return `${facts.disk.usePercent}% used on ${facts.disk.mount} (${facts.disk.used} of ${facts.disk.size}; ${bytes(facts.disk.usedBytes)})`;
    },
  },
  {
    name: 'Certificates',
    async read(ctx, facts) {
      const res = await ctx.exec(['docker', 'exec', containerOf(facts, ctx.host.config.parts.proxy), 'certbot', 'certificates'], { timeoutMs: 60_000 });
      if (/No certificates found/i.test(res.stdout + res.stderr)) {
        facts.certificates = [];
        return 'no certificates';
      }
      if (res.exitCode !== 0) throw new Error(`certbot certificates exited ${res.exitCode}: ${res.stderr.trim().slice(0, 200)}`);
      facts.certificates = parseCertificates(res.stdout);
      return facts.certificates.map((c) => `${c.name}: ${c.days} days`).join(', ') || 'no certificates';
    },
  },
  {
    name: 'Backups',
    async read(ctx, facts) {
      const { database, backupsDir } = ctx.host.config.parts;
      const res = await ctx.exec(['docker', 'exec', containerOf(facts, database), 'ls', '-l', '--full-time', backupsDir], { timeoutMs: 30_000 });
      if (res.exitCode !== 0) throw new Error(`ls ${backupsDir} exited ${res.exitCode}: ${res.stderr.trim().slice(0, 200)}`);
      const newest = newestFile(res.stdout);
      facts.backup = { path: backupsDir, newest: newest?.name ?? null, at: newest?.at ?? null };
      return newest ? `${newest.name}, ${((Date.now() - newest.at) / 3_600_000).toFixed(1)} h old` : `no backup files in ${backupsDir}`;
    },
  },
  {
    name: 'Prometheus alerts',
    async read(ctx, facts) {
      const base = ctx.host.config.prometheusUrl;
      if (base === undefined) return 'skipped: no prometheusUrl configured for this host';
      const res = await ctx.exec(['curl', '-sS', '--max-time', '10', `${base.replace(/\/+$/, '')}/api/v1/alerts`], { timeoutMs: 15_000 });
      if (res.exitCode !== 0) throw new Error(`Prometheus did not answer (curl exit ${res.exitCode}): ${res.stderr.trim().slice(0, 200)}`);
      facts.alerts = firingAlerts(res.stdout);
      return facts.alerts.length === 0 ? 'no firing alerts' : `${facts.alerts.length} firing`;
    },
  },
  {
    name: 'Health URLs',
    async read(ctx, facts) {
      const checks = Object.entries(ctx.host.config.healthChecks);
      facts.healthUrls = await Promise.all(checks.map(async ([service, hc]) => ({ service, url: hc.url, ...(await healthCheck(ctx, hc.url, hc.timeoutSeconds)) })));
      return checks.length === 0 ? 'none configured' : `${facts.healthUrls.filter((r) => r.ok).length} of ${checks.length} answer 2xx`;
    },
  },
];

export const report = defineRunbook({
  id: 'report',
  title: 'Health report',
  summary: 'Reads what the daily health report shows (read-only).',
  docs: {
    seedSection: 'Monitor System Health',
    trigger: ['Daily, on the report schedule (posted to the alerts channel by `/report` or the scheduler)', 'Before and after maintenance, to compare'],
    expected: ['A verdict per host: all good, or the things that need attention, each with the runbook that fixes it'],
    escalation: ['A host that cannot be reached: check the machine and its SSH daemon', 'Certificates or backups past their thresholds: run the offered runbook, or escalate to the service owner'],
  },
  params,
  steps: [
    {
      title: 'Services',
      mutates: false,
      async run(ctx) {
        const facts = draft(ctx);
        ctx.note('docker API: list containers by compose labels + inspect');
        try {
          const rows = await ctx.host.serviceStates();
          facts.services = rows.map((r) => ({ service: r.service, containerId: r.containerId, containerName: r.containerName, state: r.state, health: r.health, startedAt: r.startedAt, createdAt: r.createdAt, restartCount: r.restartCount }));
        } catch (err) {
          // Nothing else can be read either: the report shows the host red, saying why.
          facts.reachable = false;
          facts.error = reason(err);
          return { ok: false, summary: `cannot read host "${ctx.host.name}": ${facts.error}` };
        }
        const down = facts.services.filter((s) => s.state !== 'running' || s.health === 'unhealthy');
        return { ok: true, summary: down.length === 0 ? `all ${facts.services.length} running` : `⚠️ ${down.map((s) => s.service).join(', ')} not healthy` };
      },
    },
    {
      title: 'Usage, disk, certificates, backups, alerts, health URLs',
      mutates: false,
      async run(ctx) {
        const facts = draft(ctx);
        const lines = await Promise.all(
          SECTIONS.map(async ({ name, read }) => {
            try {
              return `${name}: ${await read(ctx, facts)}`;
            } catch (err) {
              facts.problems.push({ section: name, message: reason(err) });
              return `${name}: ⚠️ could not read: ${reason(err)}`;
            }
          }),
        );
        const failed = facts.problems.length;
        return { ok: true, summary: failed === 0 ? `${SECTIONS.length} sections read` : `⚠️ ${failed} could not be read: ${facts.problems.map((p) => p.section).join(', ')}`, output: lines.join('\n'), outputTitle: 'what the report read' };
      },
    },
  ],
});
