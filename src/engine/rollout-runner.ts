import type { Logger } from 'pino';
import type { RolloutStore } from '../store/rollouts.js';
import { ACTIVE, newId, type Store } from '../store/store.js';
import { isUserError } from './errors.js';
import { redact } from './redact.js';
import { afterRun, rolloutIdOf, rolloutOf, rolloutOrigin, startFailed, type Rollout, type Transition } from './rollout.js';
import type { StartRequest } from './engine.js';
import type { Target } from './targets.js';
import type { RunView } from './view.js';

export interface RolloutRunnerDeps {
  store: Store;
  rollouts: RolloutStore;
  log: Logger;
  /** Starts one host's run (the engine's start: its gate, its lock, its audit). */
  start: (req: StartRequest) => Promise<RunView>;
  view: (runId: string) => RunView;
}

/**
 * Carries rollouts (src/engine/rollout.ts) through their hosts: starts the canary's run, starts
 * the next host's run when one ends succeeded, stops at the first that does not, and settles
 * rollouts a bot stop left behind. Each host's run is an ordinary run of the engine.
 */
export class RolloutRunner {
  constructor(private readonly deps: RolloutRunnerDeps) {}

  /**
   * A runbook that changes hosts, on a group: the canary's run (the group's first host) starts
   * now, an ordinary run behind its usual gate; each following host's run is started when the one
   * before it ends succeeded (`after`), by the same person, in the same channel. The
   * rollout is stored, so a gate confirmed after a restart still carries it on.
   */
  async start(req: StartRequest, target: Target, params: Record<string, unknown>): Promise<RunView> {
    const now = Date.now();
    const runId = newId('r');
    const row = {
      id: newId('u'),
      runbook: req.runbook,
      target: target.name,
      params: JSON.stringify(params),
      hosts: JSON.stringify(target.hosts),
      runs: JSON.stringify([runId]),
      position: 0,
      status: 'running' as const,
      reason: null,
      requested_by: req.actor.id,
      requested_by_name: req.actor.name,
      channel_id: req.channelId,
      created_at: now,
      updated_at: now,
    };
    this.deps.rollouts.create(row);
    const rollout = rolloutOf(row);
    this.deps.log.info({ rollout: rollout.id, runbook: req.runbook, target: target.name, hosts: target.hosts }, 'rollout started');
    let view: RunView;
    try {
      view = await this.deps.start({ ...req, host: target.hosts[0], params, runId, origin: rolloutOrigin(rollout) });
    } catch (err) {
      this.deps.rollouts.update(rollout.id, 0, this.rowOf(startFailed(rollout, isUserError(err) ? err.message : `internal error; see the bot's log`)));
      throw err;
    }
    return this.withNext(view, await this.after(view.runId));
  }

  private rowOf(r: Rollout) {
    return { position: r.position, runs: JSON.stringify(r.runs), status: r.status, reason: r.reason };
  }

  /**
   * Moves the rollout of a run that has ended, synchronously (so two callers move it once):
   * stopped, done, or on to the next host, whose run the caller then starts.
   */
  moveOn(runId: string, canStart = true): { rollout: Rollout; step: Transition } | undefined {
    const run = this.deps.store.getRun(runId);
    const id = rolloutIdOf(run?.origin ?? null);
    const row = id === undefined ? undefined : this.deps.rollouts.get(id);
    if (!run || !row || ACTIVE.includes(run.status)) return undefined;
    const rollout = rolloutOf(row);
    const step = afterRun(rollout, runId, run.status, newId('r'), canStart);
    if (!step || !this.deps.rollouts.update(rollout.id, rollout.position, this.rowOf(step.rollout))) return undefined;
    this.deps.log.info({ rollout: rollout.id, runId, ended: run.status, status: step.rollout.status, next: step.start?.host }, 'rollout moved on');
    return { rollout, step };
  }

  /**
   * After a run ended: carries its rollout on. Returns undefined when the run is in none (or it
   * changed nothing), else the next host's view when its run started (at its gate, usually).
   */
  async after(runId: string): Promise<{ next?: RunView } | undefined> {
    const moved = this.moveOn(runId);
    if (!moved) return undefined;
    const { step } = moved;
    if (!step.start) return {};
    const row = this.deps.rollouts.get(step.rollout.id)!;
    let view: RunView;
    try {
      view = await this.deps.start({
        runbook: row.runbook,
        host: step.start.host,
        params: JSON.parse(row.params) as unknown,
        actor: { id: row.requested_by, name: row.requested_by_name, roles: [] },
        channelId: row.channel_id,
        runId: step.start.runId,
        origin: rolloutOrigin(step.rollout),
      });
    } catch (err) {
      // Nothing ran on that host; the rollout stops there, and says why on the run before it.
      if (!isUserError(err)) this.deps.log.error({ rollout: row.id, host: step.start.host, err }, 'rollout: the next host could not start');
      const why = isUserError(err) ? redact(err.message) : `internal error; see the bot's log`;
      this.deps.rollouts.update(row.id, step.rollout.position, this.rowOf(startFailed(step.rollout, why)));
      this.deps.log.info({ rollout: row.id, host: step.start.host }, 'rollout stopped: the next host could not start');
      return {};
    }
    return { next: this.withNext(view, await this.after(view.runId)) };
  }

  /** A run's view after its rollout moved: shown anew (it names the rollout's state), with the next host's run to show. */
  withNext(view: RunView, after: { next?: RunView } | undefined): RunView {
    if (!after) return view;
    const fresh = this.deps.view(view.runId);
    return after.next ? { ...fresh, next: after.next } : fresh;
  }

  /**
   * Rollouts whose current run ended without moving them (the bot stopped in between: an
   * interrupted run, or one that succeeded just before the stop) are stopped, saying so: the next
   * host is never started with nobody there to see its gate.
   */
  settle(now: number): void {
    try {
      for (const row of this.deps.rollouts.running()) {
        const current = (JSON.parse(row.runs) as string[])[row.position];
        const run = current === undefined ? undefined : this.deps.store.getRun(current);
        if (run) {
          if (!ACTIVE.includes(run.status)) this.moveOn(run.id, false);
        } else if (now - row.updated_at > 10 * 60_000) {
          const r = rolloutOf(row);
          this.deps.rollouts.update(r.id, r.position, this.rowOf(startFailed(r, 'the bot stopped before its run started')), now);
        }
      }
    } catch (err) {
      this.deps.log.error({ err }, 'could not settle rollouts');
    }
  }
}
