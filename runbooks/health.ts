import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { containerLogs } from './docker-logs.js';
import { healthCheck } from './health-check.js';

const params = z.object({
  lines: z.number().int().min(10).max(1000).default(100).describe('Log lines read per service (10–1000, default 100)'),
});

/** What the seed greps for (`grep -i error`), plus the other words a crash logs. */
const ERROR_LINE = /\b(error|fatal|panic|exception|uncaught)\b|\bERR\b|"s":"E"/i;

export interface ErrorCount {
  service: string;
  count: number;
  samples: string[];
}

/** Error lines of one log: how many, and the newest few (cut to a readable width). */
export function errorLines(service: string, log: string, samples = 3): ErrorCount {
  const hits = log.split('\n').filter((l) => ERROR_LINE.test(l));
  return { service, count: hits.length, samples: hits.slice(-samples).map((l) => (l.length > 200 ? `${l.slice(0, 199)}…` : l)) };
}

const alertsReply = z.object({
  status: z.string(),
  data: z.object({
    alerts: z.array(z.object({ state: z.string(), labels: z.record(z.string(), z.string()).default({}), annotations: z.record(z.string(), z.string()).default({}), activeAt: z.string().optional() })),
  }),
});

/** The firing alerts of a Prometheus `/api/v1/alerts` reply, one line each. */
export function firingAlerts(body: string): string[] {
  const reply = alertsReply.parse(JSON.parse(body));
  return reply.data.alerts
    .filter((a) => a.state === 'firing')
    .map((a) => {
      const { alertname = '(unnamed)', severity, ...rest } = a.labels;
      const where = Object.entries(rest).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}=${v}`).join(' ');
      const summary = a.annotations.summary ?? a.annotations.description;
      return `${alertname}${severity ? ` [${severity}]` : ''}${where ? ` ${where}` : ''}${summary ? ` — ${summary}` : ''}${a.activeAt ? ` (since ${a.activeAt})` : ''}`;
    });
}

export const health = defineRunbook({
  id: 'health',
  title: 'System health',
  summary: 'Service states, error lines in recent logs, health URLs and firing Prometheus alerts, read-only.',
  docs: {
    seedSection: 'Monitor System Health',
    trigger: ['Scheduled daily check', 'Alerts from the monitoring system', 'Performance degradation reported'],
    expected: ['All systems operational', 'No critical alerts', 'Resource usage within thresholds'],
    escalation: ['For critical alerts: immediate notification to the on-call engineer', 'For non-critical alerts: create a ticket for the next business day'],
  },
  params,
  steps: [
    {
      title: 'Service states',
      mutates: false,
      async run({ host, note }) {
        note('docker API: list containers by compose labels + inspect');
        const rows = await host.serviceStates();
        const bad = rows.filter((r) => r.state !== 'running' || r.health === 'unhealthy');
        const lines = rows.map((r) => `${r.service.padEnd(20)} ${r.state.padEnd(10)} ${r.health ?? '-'}`);
        return {
          ok: true,
          summary: bad.length === 0 ? `all ${rows.length} running` : `⚠️ ${bad.length} of ${rows.length} not healthy: ${bad.map((r) => `${r.service} (${r.health === 'unhealthy' ? 'unhealthy' : r.state})`).join(', ')}`,
          output: `SERVICE              STATE      HEALTH\n${lines.join('\n')}`,
          outputTitle: 'service states',
        };
      },
    },
    {
      title: 'Errors in recent logs',
      mutates: false,
      async run({ host, params: p, note }) {
        const rows = (await host.serviceStates()).filter((r) => r.containerId !== null);
        note(`docker API: logs --tail ${p.lines} of ${rows.length} containers`);
        const counts: ErrorCount[] = [];
        // One at a time: each read is a Docker API channel of the host's one SSH connection.
        for (const r of rows) counts.push(errorLines(r.containerName ?? r.service, (await containerLogs(host, r.containerId ?? '', { tail: p.lines })).text));
        const noisy = counts.filter((c) => c.count > 0);
        const text = counts.map((c) => [`${c.service}: ${c.count} error line${c.count === 1 ? '' : 's'} in the last ${p.lines}`, ...c.samples.map((s) => `  ${s}`)].join('\n')).join('\n');
        return {
          ok: true,
          summary: noisy.length === 0 ? `no error lines in the last ${p.lines} lines of ${counts.length} containers` : `⚠️ ${noisy.map((c) => `${c.service}: ${c.count}`).join(', ')}`,
          output: text || '(no containers)',
          outputTitle: `error lines (last ${p.lines} log lines per container)`,
        };
      },
    },
    {
      title: 'Health URLs',
      mutates: false,
      async run(ctx) {
        const checks = Object.entries(ctx.host.config.healthChecks);
        if (checks.length === 0) return { ok: true, summary: 'none configured (healthChecks in the host configuration)' };
        const results = [];
        for (const [service, hc] of checks) results.push({ service, url: hc.url, ...(await healthCheck(ctx, hc.url, hc.timeoutSeconds)) });
        const bad = results.filter((r) => !r.ok);
        return {
          ok: true,
          summary: bad.length === 0 ? `${results.length} of ${results.length} answer 2xx` : `⚠️ ${bad.length} of ${results.length} failing: ${bad.map((r) => r.service).join(', ')}`,
          fields: [{ name: 'Health URLs', value: results.map((r) => `${r.ok ? '✅' : '❌'} ${r.service} ${r.url}: ${r.detail}`).join('\n').slice(0, 1024) }],
        };
      },
    },
    {
      title: 'Prometheus alerts',
      mutates: false,
      async run({ host, exec }) {
        const base = host.config.prometheusUrl;
        if (base === undefined) return { ok: true, summary: 'skipped: no prometheusUrl configured for this host' };
        const url = `${base.replace(/\/+$/, '')}/api/v1/alerts`;
        const res = await exec(['curl', '-sS', '--max-time', '10', url], { timeoutMs: 15_000 });
        if (res.exitCode !== 0) return { ok: true, summary: `⚠️ Prometheus did not answer (curl exit ${res.exitCode}): ${res.stderr.trim().slice(0, 200)}` };
        let firing: string[];
        try {
          firing = firingAlerts(res.stdout);
        } catch {
          return { ok: true, summary: `⚠️ ${url} did not return Prometheus' alerts JSON` };
        }
        return firing.length === 0
          ? { ok: true, summary: 'no firing alerts' }
          : { ok: true, summary: `⚠️ ${firing.length} firing`, output: firing.join('\n'), outputTitle: 'firing alerts' };
      },
    },
  ],
});
