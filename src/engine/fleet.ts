import type { Logger } from 'pino';
import { newId } from '../store/store.js';
import { isUserError } from './errors.js';
import type { Field } from './runbook.js';
import type { Target } from './targets.js';
import type { OutputBlock, RunView } from './view.js';
import { mapLimit } from '../map-limit.js';
import { within } from '../within.js';

/**
 * A read-only runbook on a group of hosts (`host: production`, `host: all`): one ordinary run per
 * host (validated, audited and locked exactly as a run on that host alone), started together
 * with a bounded concurrency, and one combined view of them, a section per host under a summary.
 * A host that does not answer within its time is shown as such; it never holds the others back.
 */

/** How one host's run of a fleet run came out. */
export type HostState = 'ok' | 'failing' | 'unreachable' | 'timeout';

export interface HostOutcome {
  host: string;
  state: HostState;
  /** The host's run (also when it timed out: it goes on, and ends in /audit); null when none started. */
  runId: string | null;
  /** The run's own view, when it ended in time. */
  view?: RunView;
  /** Why it did not run, when no view says so (it could not start, or timed out). */
  error?: string;
  ms: number;
}

export interface FleetOptions {
  concurrency: number;
  /** Per host, from the moment its run starts. */
  hostTimeoutMs: number;
  /** The runbook's title, for the combined view. */
  title: string;
  log: Logger;
  /** Starts the run on one host under the given id (the engine's ordinary start). */
  start(host: string, runId: string): Promise<RunView>;
  /** Whether the bot is connected to the host now (a run that failed on a host it cannot reach is "unreachable"). */
  reachable(host: string): boolean;
}

/** Errors that say the bot never got to the host, as opposed to the host answering badly. */
const UNREACHABLE = new Set(['host.unreachable', 'host.key-mismatch', 'host.connection-lost']);

const ICON: Record<HostState, string> = { ok: '✅', failing: '❌', unreachable: '🔌', timeout: '⌛' };

/** A configured time as people wrote it: "30 s", or "0.3 s" below a second. */
const limitText = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);


async function runOne(host: string, o: FleetOptions): Promise<HostOutcome> {
  const runId = newId('r');
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const run = o.start(host, runId);
  try {
    const answered = await within(run, o.hostTimeoutMs);
    if (!answered) {
      // The run goes on (a step is never cut in half); its end is in /audit and in the log.
      run.then(
        (v) => o.log.info({ host, runId, status: v.status }, 'fleet: a host answered after its timeout'),
        (err: unknown) => o.log.info({ host, runId, err }, 'fleet: a host failed after its timeout'),
      );
      return { host, state: 'timeout', runId, error: `no answer within ${limitText(o.hostTimeoutMs)}; its run goes on (/audit run:${runId})`, ms: ms() };
    }
    const view = answered.value;
    const state: HostState = view.status === 'succeeded' ? 'ok' : o.reachable(host) ? 'failing' : 'unreachable';
    return { host, state, runId: view.runId, view, ms: ms() };
  } catch (err) {
    // It could not start: nothing ran there (e.g. its parts are missing, or it cannot be reached to check).
    if (!isUserError(err)) o.log.error({ host, runId, err }, 'fleet: a host run crashed');
    const error = isUserError(err) ? err.message : `internal error (run ${runId}); see the bot's log`;
    const state: HostState = isUserError(err) && UNREACHABLE.has(err.code) ? 'unreachable' : 'failing';
    return { host, state, runId: null, error, ms: ms() };
  }
}

/** Starts the runs on every host of the target and returns their combined view. */
export async function runOnFleet(target: Target, o: FleetOptions): Promise<RunView> {
  const started = performance.now();
  const outcomes = await mapLimit(target.hosts, o.concurrency, (host) => runOne(host, o));
  o.log.info({ target: target.name, hosts: outcomes.map((x) => ({ host: x.host, state: x.state, runId: x.runId, ms: x.ms })) }, 'fleet run ended');
  return fleetView(target, o.title, outcomes, Math.round(performance.now() - started), o.hostTimeoutMs);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A host's section: what its run showed (steps, failure), then its result fields, one line each. */
function sectionText(x: HostOutcome): string {
  if (!x.view) return x.error ?? x.state;
  const fields = x.view.fields.map((f) => `**${f.name}**: ${f.value.replace(/\n+/g, ' · ')}`);
  return [x.view.description, ...fields].filter((s) => s.length > 0).join('\n');
}

/** The summary counts as words (timeouts are unreachable too, said separately). */
export function summaryLine(outcomes: readonly HostOutcome[]): string {
  const count = (s: HostState) => outcomes.filter((x) => x.state === s).length;
  const timeouts = count('timeout');
  return `**${count('ok')} ok · ${count('failing')} failing · ${count('unreachable') + timeouts} unreachable**${timeouts > 0 ? ` (${timeouts} timed out)` : ''}`;
}

/** The neutral result of a fleet run: a summary on top, one line and one section per host, every host's outputs. */
export function fleetView(target: Target, title: string, outcomes: readonly HostOutcome[], totalMs: number, hostTimeoutMs: number): RunView {
  const what = target.kind === 'all' ? `all ${outcomes.length} hosts` : `group ${target.name} (${outcomes.length} hosts)`;
  const lineRoom = Math.max(40, Math.floor(1000 / Math.max(1, outcomes.length)));
  const lines = outcomes.map((x) => {
    const how = x.state === 'ok' ? 'ok' : x.state === 'failing' ? 'failing' : x.state === 'unreachable' ? 'unreachable' : `no answer within ${limitText(hostTimeoutMs)}`;
    return clip(`${ICON[x.state]} \`${x.host}\` ${how} · ${seconds(x.ms)}${x.runId ? ` · run \`${x.runId}\`` : ''}`, lineRoom);
  });
  const fields: Field[] = outcomes.map((x) => ({ name: `${ICON[x.state]} ${x.host}`, value: clip(sectionText(x), 1024) }));
  const blocks: OutputBlock[] = outcomes.flatMap((x) => (x.view?.blocks ?? []).map((b) => ({ ...b, title: `${x.host}: ${b.title}` })));
  const runs = outcomes.filter((x) => x.runId !== null).map((x) => x.runId!);
  return {
    runId: '-',
    title: `${title} · ${what}`,
    status: outcomes.every((x) => x.state === 'ok') ? 'succeeded' : 'failed',
    description: [summaryLine(outcomes), ...lines].join('\n'),
    fields,
    blocks,
    actions: [],
    footer: `${runs.length} run${runs.length === 1 ? '' : 's'} in ${seconds(totalMs)} · /audit run:<id> shows one · each host ${limitText(hostTimeoutMs)} at most`,
  };
}
