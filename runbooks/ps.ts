import { z } from 'zod';
import { defineRunbook, type StepContext, type StepOutcome } from '../src/engine/runbook.js';
import { formatAge } from './params.js';

const ICON: Record<string, string> = { running: '🟢', restarting: '🟡', paused: '🟡', created: '⚪', exited: '🔴', dead: '🔴', missing: '⚫' };

export const ps = defineRunbook({
  id: 'ps',
  title: 'Compose services',
  summary: 'The compose services on the host: state, health and uptime (on a swarm host: the stack\'s services, replicas and nodes).',
  docs: {
    seedSection: 'Monitor System Health',
    trigger: ['Routine check', 'Before and after any change', 'An alert names a service'],
    expected: ['Every service running, healthchecks healthy'],
    escalation: ['A service is down: see the restart runbook'],
  },
  params: z.object({}),
  steps: [
    {
      title: 'Read service states',
      mutates: false,
      async run(ctx) {
        const { host, note } = ctx;
        if (host.swarm) return stackStates(ctx);
        note('docker API: list containers by compose labels + inspect');
        const rows = await host.serviceStates();
        const down = rows.filter((r) => r.state !== 'running');
        const fields = rows.map((r) => ({
          name: r.service,
          value: [`${ICON[r.state] ?? '⚪'} ${r.state === 'running' ? 'running' : r.state === 'missing' ? 'not created' : `stopped (${r.state})`}`, r.health ? `health: ${r.health}` : 'health: —', `up ${formatAge(r.startedAt)}`].join('\n'),
          inline: true,
        }));
        const table = rows.map((r) => `${r.service.padEnd(20)} ${r.state.padEnd(10)} ${(r.health ?? '-').padEnd(10)} ${formatAge(r.startedAt)}`).join('\n');
        return {
          ok: true,
          summary: down.length === 0 ? `all ${rows.length} services running` : `${down.length} of ${rows.length} not running: ${down.map((d) => d.service).join(', ')}`,
          ...(rows.length > 24 ? { output: `SERVICE              STATE      HEALTH     UPTIME\n${table}`, outputTitle: 'Services' } : { fields }),
        };
      },
    },
  ],
});

/** A swarm host: the stack's services from the Swarm API, with replicas wanted/running and their nodes. */
async function stackStates({ host, note }: StepContext<unknown>): Promise<StepOutcome> {
  note(`docker API: services, tasks and nodes of stack ${host.stack}`);
  const rows = await host.stackStates();
  if (rows.length === 0) return { ok: false, summary: `stack "${host.stack}" has no services on host "${host.name}" (docker stack ls there)` };
  const short = rows.filter((r) => r.running < r.desired);
  const nodesOf = (r: (typeof rows)[number]) => (r.nodes.length === 0 ? 'no node' : r.nodes.map((n) => `${n.node}${n.tasks > 1 ? ` ×${n.tasks}` : ''}`).join(', '));
  const fields = rows.map((r) => ({
    name: r.service,
    value: [
      `${r.running >= r.desired && r.desired > 0 ? '🟢' : r.running === 0 ? '🔴' : '🟡'} ${r.running}/${r.desired} ${r.mode === 'global' ? 'global' : 'replicas'}`,
      `nodes: ${nodesOf(r)}`,
      ...(r.update && r.update.state !== 'completed' ? [`update: ${r.update.state}`] : []),
      ...(r.lastError ? [`last error: ${r.lastError.slice(0, 120)}`] : []),
    ].join('\n'),
    inline: true,
  }));
  const table = rows.map((r) => `${r.service.padEnd(20)} ${`${r.running}/${r.desired}`.padEnd(9)} ${nodesOf(r)}`).join('\n');
  return {
    ok: true,
    summary: short.length === 0 ? `stack ${host.stack}: all ${rows.length} services at their replicas` : `stack ${host.stack}: ${short.length} of ${rows.length} below their replicas: ${short.map((r) => `${r.service} ${r.running}/${r.desired}`).join(', ')}`,
    ...(rows.length > 24 ? { output: `SERVICE              REPLICAS  NODES\n${table}`, outputTitle: 'Services' } : { fields }),
  };
}
