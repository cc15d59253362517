import { z } from 'zod';
import { defineRunbook, type StepContext } from '../src/engine/runbook.js';
import { containerLogs } from './docker-logs.js';
import { healthCheck } from './health-check.js';
import { getJsonOnHost, getOnHost, joinUrl, plural, strictEncode } from './on-host.js';
import { serviceName } from './params.js';

const params = z.object({
  alertname: z.string().regex(/^[A-Za-z_:][A-Za-z0-9_:]{0,99}$/, 'must be a Prometheus alert name (letters, digits, _ and :)').describe('The alert, e.g. AppEndpointDown'),
  service: serviceName.optional().describe("The service it concerns (default: the alert's service or job label)"),
});
type Params = z.infer<typeof params>;
type Ctx = Pick<StepContext<Params>, 'exec' | 'host' | 'params'>;

const LOG_LINES = 100;

const promOk = <T extends z.ZodType>(data: T) => z.object({ status: z.literal('success'), data });
const rulesReply = promOk(
  z.object({
    groups: z.array(
      z.object({
        name: z.string(),
        rules: z.array(
          z.looseObject({
            type: z.string(),
            name: z.string(),
            query: z.string(),
            state: z.string().optional(),
            duration: z.number().optional(),
            labels: z.record(z.string(), z.string()).optional(),
            alerts: z.array(z.looseObject({ labels: z.record(z.string(), z.string()), state: z.string(), activeAt: z.string().optional(), value: z.string().optional() })).optional(),
          }),
        ),
      }),
    ),
  }),
);
const vectorReply = promOk(z.object({ resultType: z.string(), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }));

export type AlertRule = z.infer<typeof rulesReply>['data']['groups'][number]['rules'][number];

/** The alerting rule of this name, from Prometheus' /api/v1/rules. */
async function alertRule(ctx: Ctx): Promise<{ ok: true; rule: AlertRule | undefined } | { ok: false; detail: string }> {
  const base = ctx.host.config.prometheusUrl ?? '';
  const r = await getJsonOnHost(ctx, joinUrl(base, '/api/v1/rules'));
  if (!r.ok) return r;
  const parsed = rulesReply.safeParse(r.json);
  if (!parsed.success) return { ok: false, detail: `${base}/api/v1/rules did not return Prometheus' rules` };
  return { ok: true, rule: parsed.data.data.groups.flatMap((g) => g.rules).find((x) => x.type === 'alerting' && x.name === ctx.params.alertname) };
}

/** An instant query through the host; each series as `labels = value`. */
async function instantQuery(ctx: Ctx, promql: string): Promise<{ ok: true; series: { metric: Record<string, string>; value: string }[] } | { ok: false; detail: string }> {
  const base = ctx.host.config.prometheusUrl ?? '';
  const r = await getJsonOnHost(ctx, joinUrl(base, `/api/v1/query?query=${strictEncode(promql)}`));
  if (!r.ok) return r;
  const parsed = vectorReply.safeParse(r.json);
  if (!parsed.success) return { ok: false, detail: `the query did not return an instant vector (${promql})` };
  return { ok: true, series: parsed.data.data.result.map((s) => ({ metric: s.metric, value: s.value[1] })) };
}

const labelsText = (m: Record<string, string>) => `{${Object.entries(m).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;

/** The service: the param, else the firing alert's `service` or `job` label when the host has such a service. */
async function serviceOf(ctx: Ctx): Promise<string | undefined> {
  if (ctx.params.service !== undefined) return ctx.params.service;
  const r = await alertRule(ctx);
  if (!r.ok || r.rule === undefined) return undefined;
  const services = await ctx.host.services();
  const labels = [...(r.rule.alerts ?? []).map((a) => a.labels), r.rule.labels ?? {}];
  for (const key of ['service', 'job']) for (const l of labels) if (l[key] !== undefined && services.includes(l[key])) return l[key];
  return undefined;
}

/** The job whose `up` to read: the param's service, else the alert's job label. */
async function jobOf(ctx: Ctx): Promise<string | undefined> {
  if (ctx.params.service !== undefined) return ctx.params.service;
  const r = await alertRule(ctx);
  if (!r.ok || r.rule === undefined) return undefined;
  return [...(r.rule.alerts ?? []).map((a) => a.labels), r.rule.labels ?? {}].map((l) => l.job).find((j) => j !== undefined);
}

export interface ErrorRates {
  total: number;
  byClass: Record<string, number>;
  lines: string[];
}

/** Traefik's request counters by status class (`*_requests_total{code=…}`), and the error lines (4xx/5xx). */
export function traefikErrors(metrics: string): ErrorRates {
  const byClass: Record<string, number> = {};
  const lines: string[] = [];
  let total = 0;
  for (const line of metrics.split('\n')) {
    // Entrypoint counters only: each request is counted once there (router and service counters repeat it).
    const m = /^traefik_entrypoint_requests_total\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const code = /(?:^|,)code="(\d{3})"/.exec(m[1] ?? '')?.[1];
    const n = Number(m[2]);
    if (code === undefined || !Number.isFinite(n)) continue;
    total += n;
    const cls = `${code[0]}xx`;
    byClass[cls] = (byClass[cls] ?? 0) + n;
    if (code >= '400') lines.push(line);
  }
  return { total, byClass, lines };
}

export const alertInvestigation = defineRunbook({
  id: 'alert-investigation',
  title: (p: Params) => `Alert: ${p.alertname}${p.service ? ` (${p.service})` : ''}`,
  summary: "An alert's own query and up{job=…} from Prometheus, Traefik's error rates, the service's health URL and last 100 log lines.",
  docs: {
    seedSection: 'Alert Investigation Playbook',
    trigger: ['AppEndpointDown alert', 'HighTraefikErrorRate', 'Resource exhaustion alerts'],
    expected: ['Alert resolved or root cause identified', 'Monitoring gaps addressed', 'Runbook updated with new findings'],
    escalation: ['For P1 alerts: page the on-call engineer', 'For unresolved issues: escalate to senior staff'],
  },
  params,
  serviceParams: ['service'],
  needs: ['prometheus'],
  steps: [
    {
      title: "The alert's rule and its query now",
      mutates: false,
      async run(ctx) {
        const r = await alertRule(ctx);
        if (!r.ok) return { ok: true, summary: `⚠️ Prometheus: ${r.detail}` };
        if (r.rule === undefined) return { ok: true, summary: `⚠️ Prometheus has no alerting rule named ${ctx.params.alertname}` };
        const rule = r.rule;
        const firing = (rule.alerts ?? []).filter((a) => a.state === 'firing');
        const q = await instantQuery(ctx, rule.query);
        const now = q.ok ? (q.series.length === 0 ? '(empty: the condition does not hold now)' : q.series.slice(0, 20).map((s) => `${labelsText(s.metric)} ${s.value}`).join('\n')) : `⚠️ ${q.detail}`;
        return {
          ok: true,
          summary: `${rule.state ?? '?'}: ${plural(firing.length, 'instance')} firing; the query returns ${q.ok ? plural(q.series.length, 'series') : 'nothing readable'}`,
          fields: [{ name: 'Query', value: `\`${rule.query.slice(0, 1000)}\`` }],
          output: [`${rule.name} [${rule.state ?? '?'}] for ${rule.duration ?? 0} s`, ...(rule.alerts ?? []).map((a) => `  ${a.state} ${labelsText(a.labels)}${a.activeAt ? ` since ${a.activeAt}` : ''}${a.value ? ` value ${a.value}` : ''}`), '', 'query now:', now].join('\n'),
          outputTitle: `${rule.name}: rule and query`,
        };
      },
    },
    {
      title: 'up{job=…}',
      mutates: false,
      async run(ctx) {
        const job = await jobOf(ctx);
        if (job === undefined) return { ok: true, summary: 'skipped: no service given and the alert has no job label' };
        const q = await instantQuery(ctx, `up{job="${job}"}`);
        if (!q.ok) return { ok: true, summary: `⚠️ Prometheus: ${q.detail}` };
        if (q.series.length === 0) return { ok: true, summary: `⚠️ Prometheus scrapes no target of job "${job}"` };
        const down = q.series.filter((s) => s.value !== '1');
        return {
          ok: true,
          summary: down.length === 0 ? `job ${job}: ${q.series.length} of ${q.series.length} targets up` : `⚠️ job ${job}: ${down.length} of ${q.series.length} targets down`,
          fields: [{ name: `up{job="${job}"}`, value: q.series.map((s) => `${s.value === '1' ? '✅' : '❌'} ${s.metric.instance ?? labelsText(s.metric)}`).join('\n').slice(0, 1024) }],
        };
      },
    },
    {
      title: 'Traefik error rates',
      mutates: false,
      async run(ctx) {
        const url = joinUrl(ctx.host.config.parts.proxyApiUrl, '/metrics');
        const r = await getOnHost(ctx, url);
        if (!r.ok) return { ok: true, summary: `⚠️ Traefik metrics (parts.proxyApiUrl): ${r.detail}` };
        const e = traefikErrors(r.body);
        if (e.total === 0) return { ok: true, summary: `no traefik_entrypoint_requests_total counters at ${url}` };
        const share = (cls: string) => (((e.byClass[cls] ?? 0) / e.total) * 100).toFixed(2);
        return {
          ok: true,
          summary: `${e.total} requests since Traefik started: 5xx ${share('5xx')}%, 4xx ${share('4xx')}%${(e.byClass['5xx'] ?? 0) > 0 ? ' ⚠️' : ''}`,
          output: e.lines.join('\n') || '(no 4xx or 5xx counters)',
          outputTitle: 'Traefik error counters (code ≥ 400)',
        };
      },
    },
    {
      title: 'Health URL',
      mutates: false,
      async run(ctx) {
        const service = await serviceOf(ctx);
        if (service === undefined) return { ok: true, summary: 'skipped: no service given and none in the alert labels' };
        const hc = ctx.host.config.healthChecks[service];
        if (!hc) return { ok: true, summary: `no health URL configured for ${service} (healthChecks)` };
        const r = await healthCheck(ctx, hc.url, hc.timeoutSeconds);
        return { ok: true, summary: `${r.ok ? '✅' : '⚠️'} ${service} ${hc.url}: ${r.detail}` };
      },
    },
    {
      title: `Last ${LOG_LINES} log lines`,
      mutates: false,
      async run(ctx) {
        const service = await serviceOf(ctx);
        if (service === undefined) return { ok: true, summary: 'skipped: no service given and none in the alert labels' };
        const c = await ctx.host.containerOf(service);
        if (!c) return { ok: true, summary: `⚠️ ${service} has no container` };
        ctx.note(`docker API: logs ${service} --tail ${LOG_LINES}`);
        const { text } = await containerLogs(ctx.host, c.Id, { tail: LOG_LINES });
        return { ok: true, summary: `${service}: ${text.split('\n').filter(Boolean).length} lines`, output: text.trimEnd() || '(no log lines)', outputTitle: `${service}: last ${LOG_LINES} log lines` };
      },
    },
  ],
});
