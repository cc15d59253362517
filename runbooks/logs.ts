import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { containerLogs } from './docker-logs.js';
import { serviceName, since, sinceToUnix } from './params.js';

const params = z.object({
  service: serviceName,
  lines: z.number().int().min(1).max(10_000).optional(),
  since: since.optional(),
});

/** Without `since`, the last 100 lines; with it, every line since then unless `lines` caps it. */
const tailOf = (p: z.infer<typeof params>): number | 'all' => p.lines ?? (p.since ? 'all' : 100);

export const logs = defineRunbook({
  id: 'logs',
  title: (p: z.infer<typeof params>) => `Logs of ${p.service}`,
  summary: "A service's recent log lines, paginated, with the full text attached.",
  docs: {
    trigger: ['Errors reported', 'After a restart or deploy', 'An alert names a service'],
    expected: ['The recent output of the service, secrets redacted'],
    escalation: ['Errors persist: see the restart runbook or escalate to the DevOps lead'],
  },
  params,
  serviceParams: ['service'],
  steps: [
    {
      title: 'Read logs',
      mutates: false,
      async run({ host, params: p, note }) {
        const c = await host.requireContainer(p.service);
        const tail = tailOf(p);
        note(`docker API: logs ${p.service} --tail ${tail}${p.since ? ` --since ${p.since}` : ''}`);
        const text = await containerLogs(host, c.Id, { tail, ...(p.since ? { since: sinceToUnix(p.since) } : {}) });
        const count = text.length === 0 ? 0 : text.replace(/\n$/, '').split('\n').length;
        return { ok: true, summary: `${count} line${count === 1 ? '' : 's'}`, output: text || '(no log lines)', outputTitle: `${p.service} logs` };
      },
    },
  ],
});
