import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { defineRunbook, type StepContext, type StepOutcome } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { containerLogs, serviceLogs } from './docker-logs.js';
import { serviceName } from './params.js';
import { statsTable, usageOfLine } from './stats.js';
import { swarmScaleArgv, swarmScaleTo, swarmUsage } from './swarm.js';

const params = z.object({
  service: serviceName.describe('Service using too much CPU or memory'),
  replicas: z.number().int().min(1).max(10).describe('Containers to run after the mitigation (1–10)'),
  /** The count found before the scale, recorded by the first step; the rollback scales back to it. */
  before: z.coerce.number().int().min(0).max(10).optional(),
});
type Params = z.infer<typeof params>;

const LOG_LINES = 200;

/** The service's running containers, oldest first. */
async function running(host: Host, service: string) {
  const project = await host.projectName();
  const list = await host.docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`], status: ['running'] } });
  return list.sort((a, b) => a.Created - b.Created);
}

/** `up -d --scale`: only this service (no deps), and the containers already running are kept as they are. */
const scaleArgs = (service: string, n: number) => ['up', '-d', '--no-deps', '--no-recreate', '--scale', `${service}=${n}`, service];

/** Runs the scale, then waits until exactly `n` containers of the service run, and are still running a moment later. */
async function scaleTo(ctx: StepContext<Params>, n: number): Promise<StepOutcome> {
  const { host, params: p } = ctx;
  const res = await ctx.compose(scaleArgs(p.service, n));
  const out = (res.stdout + res.stderr).trim();
  if (res.exitCode !== 0) return { ok: false, summary: res.timedOut ? 'timed out' : `exit code ${res.exitCode}`, output: out || '(no output)', outputTitle: 'compose up output' };
  ctx.note(`docker API: list running ${p.service} containers until there are ${n}`);
  const deadline = Date.now() + 30_000;
  let count = (await running(host, p.service)).length;
  while (count !== n && Date.now() < deadline) {
    await sleep(500);
    count = (await running(host, p.service)).length;
  }
  // A second container of a service that binds a fixed port (host networking) starts, then dies.
  if (count === n) {
    await sleep(2000);
    count = (await running(host, p.service)).length;
  }
  return {
    ok: count === n,
    summary: count === n ? `${n} container${n === 1 ? '' : 's'} running` : `${count} running, ${n} wanted (a service that binds a fixed host port cannot run twice)`,
    fields: [{ name: 'Containers', value: `${count} running (wanted ${n})`, inline: true }],
    ...(out ? { output: out, outputTitle: 'compose up output' } : {}),
  };
}

export const highUsage = defineRunbook({
  id: 'high-usage',
  title: (p: Params) => `High usage: ${p.service}`,
  summary: "A service's stats, processes and last 200 log lines; then (confirmed) scale it to N containers (on a swarm host: `docker service scale`).",
  docs: {
    seedSection: 'Handle High CPU/Memory Usage',
    trigger: ['CPU > 80% for 5 minutes', 'Memory > 85% utilization', 'Container restarts due to OOM'],
    expected: ['Resource usage returns to normal levels', 'Application remains responsive', 'No data loss or corruption'],
    escalation: ['Immediate notification to the DevOps team', 'If the issue persists: escalate to a senior engineer', 'If service degradation: consider failover to a backup region'],
  },
  params,
  serviceParams: ['service'],
  internalParams: ['before'],
  target: (p) => `service:${p.service}`,
  steps: [
    {
      title: 'Container stats',
      mutates: false,
      async run(ctx) {
        const { host, params: p, exec } = ctx;
        // A stack's service: its replicas and nodes (its tasks may run on other nodes than the manager).
        if (host.swarm) return swarmUsage(ctx, p.service);
        const mine = await running(host, p.service);
        if (mine.length === 0) throw new UserError('service.not-running', `Service "${p.service}" has no running container; there is no usage to look at. /ps shows its state.`);
        const names = mine.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
        const res = await exec(['docker', 'stats', '--no-stream', '--no-trunc', '--format', '{{json .}}', ...names], { timeoutMs: 60_000 });
        if (res.exitCode !== 0) return { ok: false, summary: `docker stats exited ${res.exitCode}: ${res.stderr.trim().slice(0, 300)}` };
        const rows = res.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => usageOfLine(JSON.parse(l)));
        const cpu = rows.reduce((t, r) => t + r.cpuPercent, 0);
        const mem = Math.max(0, ...rows.map((r) => r.memPercent));
        return {
          ok: true,
          summary: `${mine.length} container${mine.length === 1 ? '' : 's'} · CPU ${cpu.toFixed(1)}% · memory up to ${mem.toFixed(1)}%`,
          fields: [{ name: 'Containers before', value: String(mine.length), inline: true, record: 'before' }],
          output: statsTable(rows),
          outputTitle: `docker stats ${p.service}`,
        };
      },
    },
    {
      title: 'Processes',
      mutates: false,
      async run({ host, params: p, note }) {
        if (host.swarm) return { ok: true, summary: 'not read on a swarm host: the tasks may run on any node (the manager cannot list their processes)' };
        const c = (await running(host, p.service)).at(-1);
        if (!c) throw new UserError('service.not-running', `Service "${p.service}" has no running container.`);
        note(`docker API: top ${p.service}`);
        const res = (await host.docker.getContainer(c.Id).top({ ps_args: 'aux' }).catch(() => host.docker.getContainer(c.Id).top())) as { Titles: string[]; Processes: string[][] };
        const text = [res.Titles, ...res.Processes].map((r) => r.join('  ')).join('\n');
        return { ok: true, summary: `${res.Processes.length} process${res.Processes.length === 1 ? '' : 'es'}`, output: text, outputTitle: `${p.service} processes` };
      },
    },
    {
      title: `Last ${LOG_LINES} log lines`,
      mutates: false,
      async run({ host, params: p, note }) {
        let text: string;
        if (host.swarm) {
          note(`docker API: service logs ${host.swarmServiceName(p.service)} --tail ${LOG_LINES}`);
          ({ text } = await serviceLogs(host, host.swarmServiceName(p.service), { tail: LOG_LINES }));
        } else {
          const c = (await running(host, p.service)).at(-1);
          if (!c) throw new UserError('service.not-running', `Service "${p.service}" has no running container.`);
          note(`docker API: logs ${p.service} --tail ${LOG_LINES}`);
          ({ text } = await containerLogs(host, c.Id, { tail: LOG_LINES }));
        }
        return { ok: true, summary: `${text.split('\n').filter(Boolean).length} lines`, output: text.trimEnd() || '(no log lines)', outputTitle: `${p.service}: last ${LOG_LINES} log lines` };
      },
    },
    {
      title: 'Scale up (temporary mitigation)',
      mutates: true,
      plan: async ({ host, params: p }) => [host.swarm ? swarmScaleArgv(host, p.service, p.replicas) : await host.composeArgv(scaleArgs(p.service, p.replicas))],
      run: (ctx) => (ctx.host.swarm ? swarmScaleTo(ctx, ctx.params.service, ctx.params.replicas) : scaleTo(ctx, ctx.params.replicas)),
    },
  ],
  // Scaling is a mitigation to take back once the cause is fixed, not only after a failure.
  rollbackAfterSuccess: true,
  rollback: [
    {
      title: 'Scale back to the count recorded before',
      mutates: true,
      plan: async ({ host, params: p }) => {
        if (p.before === undefined || p.before < 1) throw new UserError('rollback.no-record', `The run recorded no container count for ${p.service} before scaling; nothing was run. Use /ps and /runbook high-usage to set the count you want.`);
        return [host.swarm ? swarmScaleArgv(host, p.service, p.before) : await host.composeArgv(scaleArgs(p.service, p.before))];
      },
      run: (ctx) => (ctx.host.swarm ? swarmScaleTo(ctx, ctx.params.service, ctx.params.before ?? 1) : scaleTo(ctx, ctx.params.before ?? 1)),
    },
  ],
  followUps: (p, host) => [{ id: `logs:${host}:${p.service}`, label: 'Logs', style: 'secondary' }],
});
