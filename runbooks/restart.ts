import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineRunbook, type StepContext } from '../src/engine/runbook.js';
import { containerLogs } from './docker-logs.js';
import { healthCheck } from './health-check.js';
import { serviceName } from './params.js';
import { swarmCurrent, swarmForceUpdate, swarmForceUpdateArgv, swarmVerify } from './swarm.js';

const params = z.object({ service: serviceName });
type Params = z.infer<typeof params>;

// On a swarm host (orchestrator: swarm) the same steps use Swarm's own operations (runbooks/swarm.ts).
const compose = (args: string[]) => ({ host, params: p }: { host: StepContext<Params>['host']; params: Params }) => (host.swarm ? Promise.resolve([swarmForceUpdateArgv(host, p.service)]) : host.composeArgv([...args, p.service]).then((a) => [a]));

export const restart = defineRunbook({
  id: 'restart',
  title: (p: Params) => `Restart ${p.service}`,
  summary: 'Restart a compose service (on a swarm host: `docker service update --force`), then verify it runs, answers its health check and logs no errors.',
  docs: {
    seedSection: 'Restart AdonisJS Backend Service',
    trigger: ['5xx errors in application logs', 'High response times', 'Configuration changes requiring restart', 'Memory leaks observed'],
    expected: ['Service restarts with new configuration', 'Application responds with 200 OK on health check', 'No errors in logs after restart'],
    escalation: ["If service doesn't start: notify the DevOps team in #alerts", 'If the issue persists after rollback: escalate to a senior DevOps engineer'],
  },
  params,
  serviceParams: ['service'],
  target: (p) => `service:${p.service}`,
  steps: [
    {
      title: 'Current state',
      mutates: false,
      async run(ctx) {
        if (ctx.host.swarm) return swarmCurrent(ctx, ctx.params.service);
        ctx.note(`docker API: inspect ${ctx.params.service}`);
        const c = await ctx.host.requireContainer(ctx.params.service);
        return { ok: true, summary: `${c.State} (${c.Status})` };
      },
    },
    {
      title: 'Restart',
      mutates: true,
      plan: compose(['restart']),
      async run(ctx) {
        if (ctx.host.swarm) return swarmForceUpdate(ctx, ctx.params.service);
        const res = await ctx.compose(['restart', ctx.params.service]);
        const out = (res.stdout + res.stderr).trim();
        if (res.timedOut) return { ok: false, summary: `timed out after ${Math.round(res.durationMs / 1000)} s`, output: out };
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? `restarted in ${(res.durationMs / 1000).toFixed(1)} s` : `exit code ${res.exitCode}`, ...(out ? { output: out, outputTitle: 'restart output' } : {}) };
      },
    },
    {
      title: 'Verify',
      mutates: false,
      async run(ctx) {
        const { host, params: p } = ctx;
        if (host.swarm) return swarmVerify(ctx, p.service);
        ctx.note(`docker API: inspect ${p.service} until running`);
        const deadline = Date.now() + 60_000;
        let state = await host.docker.getContainer((await host.requireContainer(p.service)).Id).inspect();
        while (Date.now() < deadline && (!state.State.Running || state.State.Health?.Status === 'starting')) {
          await sleep(500);
          state = await host.docker.getContainer(state.Id).inspect();
        }
        const checks: string[] = [];
        let ok = state.State.Running;
        checks.push(state.State.Running ? `running since ${state.State.StartedAt}` : `not running (${state.State.Status})`);
        if (state.State.Health) {
          checks.push(`healthcheck: ${state.State.Health.Status}`);
          ok &&= state.State.Health.Status === 'healthy';
        }
        const hc = host.config.healthChecks[p.service];
        if (hc) {
          const r = await healthCheck(ctx, hc.url, hc.timeoutSeconds);
          checks.push(`${hc.url}: ${r.detail}`);
          ok &&= r.ok;
        }
        ctx.note(`docker API: logs ${p.service} --tail 20`);
        const { text: logs } = await containerLogs(host, state.Id, { tail: 20 });
        return {
          ok,
          summary: ok ? 'healthy' : 'verification failed',
          fields: [{ name: 'Verification', value: checks.join('\n') }],
          output: logs.trimEnd() || '(no log lines)',
          outputTitle: `${p.service}: last 20 log lines`,
        };
      },
    },
  ],
  followUps: (p, host) => [{ id: `logs:${host}:${p.service}`, label: 'Logs', style: 'secondary' }],
  rollback: [
    {
      title: 'Recreate from the compose file',
      mutates: true,
      plan: compose(['up', '-d', '--no-deps', '--force-recreate']),
      async run(ctx) {
        // A swarm service's tasks are recreated from its spec the same way a restart does it.
        if (ctx.host.swarm) return swarmForceUpdate(ctx, ctx.params.service);
        const res = await ctx.compose(['up', '-d', '--no-deps', '--force-recreate', ctx.params.service]);
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? 'recreated' : `exit code ${res.exitCode}`, output: (res.stdout + res.stderr).trim() || '(no output)', outputTitle: 'compose up output' };
      },
    },
  ],
});
