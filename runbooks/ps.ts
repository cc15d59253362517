import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { formatAge } from './params.js';

const ICON: Record<string, string> = { running: '🟢', restarting: '🟡', paused: '🟡', created: '⚪', exited: '🔴', dead: '🔴', missing: '⚫' };

export const ps = defineRunbook({
  id: 'ps',
  title: 'Compose services',
  summary: 'The compose services on the host: state, health and uptime.',
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
      async run({ host, note }) {
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
