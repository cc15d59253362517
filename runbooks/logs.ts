import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { LOG_BYTE_CAP, containerLogs, serviceLogs } from './docker-logs.js';
import { serviceName, since, sinceToUnix } from './params.js';

const params = z.object({
  service: serviceName,
  lines: z.number().int().min(1).max(10_000).optional(),
  since: since.optional(),
});

/** The most lines `since` alone returns: a bound on memory, said out loud when reached. */
export const SINCE_MAX_LINES = 50_000;

/** Lines in a text (a last line without its newline counts), without splitting it into copies. */
function lineCount(text: string): number {
  if (text.length === 0) return 0;
  let n = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) n++;
  return text.endsWith('\n') ? n : n + 1;
}

function nthNewline(text: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = text.indexOf('\n', at + 1);
  return at;
}

/** Without `since`, the last 100 lines; with it, every line since then (up to SINCE_MAX_LINES) unless `lines` caps it. */
const tailOf = (p: z.infer<typeof params>): number => p.lines ?? (p.since ? SINCE_MAX_LINES + 1 : 100);

export const logs = defineRunbook({
  id: 'logs',
  title: (p: z.infer<typeof params>) => `Logs of ${p.service}`,
  summary: "A service's recent log lines, paginated, with the full text attached.",
  docs: {
    seedSection: 'Monitor System Health',
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
        const tail = tailOf(p);
        const window = { tail, ...(p.since ? { since: sinceToUnix(p.since) } : {}) };
        let read;
        if (host.swarm) {
          // A stack's service: `docker service logs` through the API, every task on every node.
          note(`docker API: service logs ${host.swarmServiceName(p.service)} --tail ${tail}${p.since ? ` --since ${p.since}` : ''}`);
          read = await serviceLogs(host, host.swarmServiceName(p.service), window);
        } else {
          const c = await host.requireContainer(p.service);
          note(`docker API: logs ${p.service} --tail ${tail}${p.since ? ` --since ${p.since}` : ''}`);
          read = await containerLogs(host, c.Id, window);
        }
        let text = read.text;
        const count = lineCount(text);
        let summary = `${count} line${count === 1 ? '' : 's'}`;
        if (p.lines === undefined && count > SINCE_MAX_LINES) {
          text = text.slice(nthNewline(text, count - SINCE_MAX_LINES) + 1);
          summary = `more than ${SINCE_MAX_LINES} lines since ${p.since ?? ''}: showing the last ${SINCE_MAX_LINES}; use a later \`since\` to see the rest`;
        }
        if (read.droppedBytes > 0) {
          summary += ` — the log was larger than ${LOG_BYTE_CAP / 1048576} MiB: its oldest ${(read.droppedBytes / 1048576).toFixed(1)} MiB were left out (the newest ${LOG_BYTE_CAP / 1048576} MiB are shown); use a smaller \`lines\` or a later \`since\``;
        }
        return { ok: true, summary, output: text || '(no log lines)', outputTitle: `${p.service} logs` };
      },
    },
  ],
});
