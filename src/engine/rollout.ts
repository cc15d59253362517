import type { RolloutRow } from '../store/rollouts.js';
import type { RunStatus } from '../store/store.js';

/**
 * A runbook that changes hosts, on a group: one ordinary run per host, one host at a time, in the
 * group's order (the first host is the canary). Each run has its own gate and audit; when one
 * ends succeeded the next host's run is started, when one ends otherwise (failed, its health
 * check included, cancelled, expired) the rollout stops and the hosts after it are not started.
 * These are the pure transitions; the engine stores them (src/store/rollouts.ts) and starts runs.
 */

export interface Rollout {
  id: string;
  runbook: string;
  target: string;
  hosts: string[];
  /** The run of each host started so far (index = host position). */
  runs: string[];
  /** The host whose run is current. */
  position: number;
  status: RolloutRow['status'];
  reason: string | null;
}

export const rolloutOf = (row: RolloutRow): Rollout => ({
  id: row.id,
  runbook: row.runbook,
  target: row.target,
  hosts: JSON.parse(row.hosts) as string[],
  runs: JSON.parse(row.runs) as string[],
  position: row.position,
  status: row.status,
  reason: row.reason,
});

/** What the origin of a rollout's run says (shown on the run, and how a run finds its rollout). */
export const rolloutOrigin = (r: Pick<Rollout, 'id' | 'runbook' | 'target'>): string => `rollout ${r.id} · ${r.runbook} over ${r.target === 'all' ? 'all hosts' : `group ${r.target}`}`;

/** The rollout id in a run's origin, when the run is part of one. */
export const rolloutIdOf = (origin: string | null): string | undefined => /^rollout (u[\w-]+) · /.exec(origin ?? '')?.[1];

export interface Transition {
  rollout: Rollout;
  /** The next host's run to start (under this id), when the one before succeeded. */
  start?: { host: string; runId: string };
}

/**
 * The current host's run ended with `ended`. Returns undefined when that changes nothing (the
 * run is not the current one, or the rollout is over). `canStart: false` stops the rollout
 * instead of starting the next host (nobody is there to show its gate to, e.g. after a restart).
 */
export function afterRun(r: Rollout, runId: string, ended: RunStatus, nextRunId: string, canStart = true): Transition | undefined {
  if (r.status !== 'running' || r.runs[r.position] !== runId) return undefined;
  if (ended === 'running' || ended === 'awaiting_confirmation') return undefined;
  const host = r.hosts[r.position]!;
  if (ended !== 'succeeded') {
    return { rollout: { ...r, status: 'stopped', reason: `${host} ${ended}${notStarted(r, r.position)}` } };
  }
  const next = r.position + 1;
  if (next >= r.hosts.length) return { rollout: { ...r, status: 'succeeded', reason: null } };
  if (!canStart) {
    return { rollout: { ...r, status: 'stopped', reason: `the bot stopped after ${host} succeeded, before starting ${r.hosts[next]!}${notStarted(r, r.position)}` } };
  }
  return { rollout: { ...r, position: next, runs: [...r.runs, nextRunId] }, start: { host: r.hosts[next]!, runId: nextRunId } };
}

/** The current host's run could not start (unreachable, a service it lacks, its target locked): the rollout stops there. */
export function startFailed(r: Rollout, error: string): Rollout {
  const host = r.hosts[r.position]!;
  return { ...r, runs: r.runs.slice(0, r.position), status: 'stopped', reason: `${host} could not start: ${error}${notStarted(r, r.position)}` };
}

const notStarted = (r: Rollout, at: number): string => {
  const rest = r.hosts.slice(at + 1);
  return rest.length === 0 ? '' : `; not started: ${rest.join(', ')}`;
};

const ICON: Record<RunStatus, string> = { succeeded: '✅', failed: '❌', running: '⏳', awaiting_confirmation: '⏸️', cancelled: '🚫', expired: '⌛' };

/**
 * The rollout as one line for a run's view, e.g. `Rollout over group production · host 2 of 3:
 * ✅ staging (canary) → ⏸️ staging-2 → ▫️ staging-3`, then how it ended. `statusOf` reads a run's status.
 */
export function progressText(r: Rollout, runId: string, statusOf: (runId: string) => RunStatus | undefined): string {
  const at = r.runs.indexOf(runId);
  const hosts = r.hosts.map((h, i) => {
    const run = r.runs[i];
    const status = run === undefined ? undefined : statusOf(run);
    const icon = status !== undefined ? ICON[status] : i === r.position && r.status === 'stopped' ? '❌' : '▫️';
    return `${icon} ${h}${i === 0 ? ' (canary)' : ''}`;
  });
  const what = r.target === 'all' ? 'all hosts' : `group ${r.target}`;
  const lines = [`🚦 **Rollout over ${what}${at >= 0 ? ` · host ${at + 1} of ${r.hosts.length}` : ''}:** ${hosts.join(' → ')}`];
  if (r.status === 'succeeded') lines.push(`Rollout done: all ${r.hosts.length} hosts succeeded.`);
  else if (r.status === 'stopped') lines.push(`**Rollout stopped:** ${r.reason ?? 'stopped'}.`);
  else if (at >= 0 && at < r.position) lines.push(`Next: ${r.hosts[r.position]!} (its own confirmation).`);
  return lines.join('\n');
}
