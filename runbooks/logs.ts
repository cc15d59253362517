import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { containerLogs } from './docker-logs.js';
import { serviceName, since, sinceToUnix } from './params.js';

const params = z.object({
  service: serviceName,
  lines: z.number().int().min(1).max(10_000).optional(),
  since: since.optional(),
});

/** The most lines `since` alone returns: a bound on memory, said out loud when reached. */
export const SINCE_MAX_LINES = 50_000;

/** Without `since`, the last 100 lines; with it, every line since then (up to SINCE_MAX_LINES) unless `lines` caps it. */
const tailOf = (p: z.infer<typeof params>): number => p.lines ?? (p.since ? SINCE_MAX_LINES + 1 : 100);

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
        let text = await containerLogs(host, c.Id, { tail, ...(p.since ? { since: sinceToUnix(p.since) } : {}) });
        let lines = text.length === 0 ? [] : text.replace(/\n$/, '').split('\n');
        let summary = `${lines.length} line${lines.length === 1 ? '' : 's'}`;
        if (p.lines === undefined && lines.length > SINCE_MAX_LINES) {
          lines = lines.slice(-SINCE_MAX_LINES);
          text = `${lines.join('\n')}\n`;
          summary = `more than ${SINCE_MAX_LINES} lines since ${p.since ?? ''}: showing the last ${SINCE_MAX_LINES}; use a later \`since\` to see the rest`;
        }
        return { ok: true, summary, output: text || '(no log lines)', outputTitle: `${p.service} logs` };
      },
    },
  ],
});
