import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { defineRunbook } from '../src/engine/runbook.js';
import { serviceName } from './params.js';

export const top = defineRunbook({
  id: 'top',
  title: (p: { service: string }) => `Processes in ${p.service}`,
  summary: 'The processes running inside a service container (docker top).',
  docs: {
    seedSection: 'Handle High CPU/Memory Usage',
    trigger: ['CPU > 80% for 5 minutes', 'Memory > 85% utilization', 'Container restarts due to OOM'],
    expected: ['The process list identifies the culprit'],
    escalation: ['Immediate notification to the DevOps team', 'If the issue persists: escalate to a senior engineer'],
  },
  params: z.object({ service: serviceName }),
  serviceParams: ['service'],
  steps: [
    {
      title: 'List processes',
      mutates: false,
      async run({ host, params: p, note }) {
        const c = await host.requireContainer(p.service);
        if (c.State !== 'running') throw new UserError('service.not-running', `Service "${p.service}" is ${c.State}; there are no processes to list.`);
        note(`docker API: top ${p.service}`);
        const res = (await host.docker.getContainer(c.Id).top()) as { Titles: string[]; Processes: string[][] };
        const rows = [res.Titles, ...res.Processes];
        const widths = res.Titles.map((_, i) => Math.max(...rows.map((r) => (i === res.Titles.length - 1 ? 0 : (r[i] ?? '').length))));
        const text = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
        return { ok: true, summary: `${res.Processes.length} process${res.Processes.length === 1 ? '' : 'es'}`, output: text, outputTitle: `${p.service} processes` };
      },
    },
  ],
});
