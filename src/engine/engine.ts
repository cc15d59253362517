import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { FLEET_DEFAULTS, type Config } from '../config/schema.js';
import type { Host } from '../host/index.js';
import { displayCommand } from '../host/quote.js';
import { gateDecisions, runbookRuns, stepDuration } from '../metrics.js';
import { learnHostSecrets } from '../host/secrets.js';
import { ACTIVE, TargetBusyError, newId, type CommandRecord, type GateRow, type RunRow, type Store } from '../store/store.js';
import { RolloutStore } from '../store/rollouts.js';
import { UserError, isUserError } from './errors.js';
import { missingParts } from './parts.js';
import { redact } from './redact.js';
import { mutates, rolesOf } from './catalog.js';
import { runOnFleet } from './fleet.js';
import { RolloutRunner } from './rollout-runner.js';
import { RunViews, planHash } from './run-views.js';
import { resolveTarget, targetSuggestions, type Target } from './targets.js';
import type { AnyRunbook, Field, Step, StepContext, StepOutcome } from './runbook.js';
import type { Action, Actor, Role, RunView } from './view.js';

/** A service name as compose allows it: checked before anything reaches a host. */
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** "3 min ago" / "in 2 min": plain words, so any adapter can show it. */
export function ago(at: number, now = Date.now()): string {
  const s = Math.round((now - at) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3600)} h`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export interface Decision {
  run: RunRow;
  stepIdx: number;
  decision: 'confirm' | 'cancel';
}

export interface StartRequest {
  runbook: string;
  host?: string | undefined;
  params: unknown;
  actor: Actor;
  channelId: string | null;
  /** What it was started from when not a command (an alert, a report finding): shown on the run. */
  origin?: string | undefined;
  /** The run's id, chosen by the caller (a fleet run names its runs first, to point to one that times out). */
  runId?: string;
}

/** A runbook the bot proposes (a report finding, an alert): one button that starts it through the usual gates. */
export interface OfferRequest {
  runbook: string;
  host: string;
  params: Record<string, unknown>;
  label: string;
  origin?: string;
}

/**
 * The runbook runner: validates parameters, runs read-only steps at once, stops at a gate before
 * every mutating step, records every command and its (redacted) output, and enforces one active
 * run per target. It knows nothing about Discord: it returns RunViews.
 */
export class Engine {
  private readonly runbooks = new Map<string, AnyRunbook>();
  /** Runbooks started by a command of their own name (`/restart`), the others by `/runbook <id>`; set by the adapter (unset: every runbook has its own). */
  commandAliases: ReadonlySet<string> | undefined;
  /** Aborted runs whose failure the database did not take yet (run id → error text). */
  private readonly unrecorded = new Map<string, string>();
  /** Runs executing now (started, or confirmed and about to continue). */
  private busy = 0;
  /** The latest progress line of each run's running step (StepContext.progress). */
  private readonly progressNow = new Map<string, { idx: number; summary: string }>();
  /** Who wants a run's view each time its running step reports progress (see proceed). */
  private readonly progressListeners = new Map<string, (view: RunView) => void>();
  /** Rollouts of runbooks that change hosts over a group, one host at a time. */
  private readonly rollout: RolloutRunner;
  private readonly views: RunViews;

  constructor(
    private readonly store: Store,
    private readonly hosts: Map<string, Host>,
    private readonly config: Pick<Config, 'gates' | 'defaultHost'> & Partial<Pick<Config, 'fleet'>>,
    private readonly log: Logger,
    runbooks: readonly AnyRunbook[],
  ) {
    for (const rb of runbooks) this.runbooks.set(rb.id, rb);
    const rollouts = new RolloutStore(store.db);
    this.views = new RunViews(store, rollouts, (id) => this.resolveRunbook(id), (runId) => this.progressNow.get(runId));
    this.rollout = new RolloutRunner({ store, rollouts, log, start: (req) => this.start(req), view: (runId) => this.view(runId) });
  }

  host(name?: string): Host {
    const wanted = name ?? this.config.defaultHost ?? [...this.hosts.keys()][0];
    const host = wanted === undefined ? undefined : this.hosts.get(wanted);
    if (!host) throw new UserError('host.unknown', `Unknown host "${name ?? ''}". Known hosts: ${[...this.hosts.keys()].join(', ')}.`);
    return host;
  }

  /** The syntactic check of a runbook's params: synchronous, touches no host. */
  parseParams(runbookId: string, raw: unknown): Record<string, unknown> {
    const runbook = this.resolveRunbook(runbookId);
    const parsed = runbook.params.safeParse(raw);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `• \`${i.path.join('.') || 'input'}\`: ${i.message}`).join('\n');
      throw new UserError('params.invalid', `Invalid input for ${runbook.id}:\n${detail}\nNothing was run.`);
    }
    return parsed.data as Record<string, unknown>;
  }

  /**
   * The host's own secret values, learned once per connection, so that they are masked in
   * everything it prints; if they cannot be read, the pattern rules still apply.
   */
  private secretsLearned(host: Host): Promise<void> {
    return learnHostSecrets(host).then(
      () => undefined,
      (err: unknown) => this.log.warn({ host: host.name, err }, "could not read the host's secret values; redacting by patterns only"),
    );
  }

  /**
   * Starts, without waiting and without touching the database, what a run on this host asks
   * first: the SSH connection, the compose configuration with the host's secrets, the project's
   * containers. Concurrent and later callers share these lookups.
   */
  warm(hostName?: string): void {
    let hosts: Host[];
    try {
      hosts = this.target(hostName).hosts.map((n) => this.host(n));
    } catch {
      return; // an unknown host is the run's to report
    }
    for (const host of hosts) {
      void this.secretsLearned(host);
      host.projectName().catch(() => undefined);
    }
  }

  /** What a `host:` value stands for: one host, a group, or all (src/engine/targets.ts). */
  target(value?: string): Target {
    return resolveTarget([...this.hosts.values()].map((h) => h.config), value, this.config.defaultHost);
  }

  /** What a `host:` option suggests for this runbook: hosts, groups and `all` (a runbook that changes hosts rolls out over a group). */
  targetSuggestions(runbookId: string): { value: string; label: string }[] {
    this.resolveRunbook(runbookId);
    return targetSuggestions([...this.hosts.values()].map((h) => h.config));
  }

  /** The target of a run, checked without touching a host (an unknown name is refused). */
  checkTarget(runbookId: string, value?: string): Target {
    this.resolveRunbook(runbookId);
    return this.target(value);
  }

  /**
   * Starts a run on a host; on a group, one run per host: all at once and shown together for a
   * read-only runbook, one host at a time (a rollout, canary first) for one that changes hosts.
   */
  async startTarget(req: StartRequest): Promise<RunView> {
    const target = this.checkTarget(req.runbook, req.host);
    if (target.kind === 'host') return this.start({ ...req, host: target.name });
    if (mutates(this.resolveRunbook(req.runbook))) return this.rollout.start(req, target, this.parseParams(req.runbook, req.params));
    const params = this.parseParams(req.runbook, req.params);
    const runbook = this.resolveRunbook(req.runbook);
    const fleet = this.config.fleet ?? FLEET_DEFAULTS;
    return runOnFleet(target, {
      concurrency: fleet.concurrency,
      hostTimeoutMs: fleet.hostTimeoutSeconds * 1000,
      title: typeof runbook.title === 'string' ? runbook.title : runbook.title(params),
      log: this.log,
      start: (host, runId) => this.start({ ...req, host, runId }),
      reachable: (host) => this.host(host).transport.reach?.().connected !== false,
    });
  }

  /** Parses params without touching the host beyond reading its declared services. */
  async validate(runbook: AnyRunbook, host: Host, raw: unknown): Promise<unknown> {
    const params = this.parseParams(runbook.id, raw);
    const missing = await missingParts(runbook, host);
    if (missing.length > 0) throw new UserError('runbook.missing-part', `\`${runbook.id}\` cannot run on host "${host.name}": ${missing.join('; ')}. Nothing was run.`);
    let services: string[] | undefined;
    for (const key of runbook.serviceParams ?? []) {
      const value = params[key];
      if (typeof value !== 'string') continue;
      services ??= await host.services();
      if (!services.includes(value)) {
        throw new UserError('params.unknown-service', `Host "${host.name}" has no ${host.swarm ? `service in stack ${host.stack}` : 'compose service'} "${value}". Its services: ${services.join(', ')}. Nothing was run.`);
      }
    }
    if (runbook.check) await runbook.check(host, params);
    return params;
  }

  async start(req: StartRequest): Promise<RunView> {
    this.busy++;
    try {
      return await this.startCounted(req);
    } finally {
      this.busy--;
    }
  }

  private async startCounted(req: StartRequest): Promise<RunView> {
    const runbook = this.resolveRunbook(req.runbook);
    const host = this.host(req.host);
    // Started now, awaited before anything the host printed is stored or shown (runStep, advance):
    // the first run's steps need not wait for it, which matters on a cold start.
    const learning = this.secretsLearned(host);
    let params: unknown;
    try {
      params = await this.validate(runbook, host, req.params);
    } catch (err) {
      // Its message may quote the host (a compose error quotes the file): mask what it knows first.
      await learning;
      throw err;
    }
    const run: RunRow = {
      id: req.runId ?? newId('r'),
      runbook: runbook.id,
      host: host.name,
      params: JSON.stringify(params),
      requested_by: req.actor.id,
      requested_by_name: req.actor.name,
      channel_id: req.channelId,
      status: 'running',
      target_key: runbook.target ? `${host.name}:${runbook.target(params, host.config)}` : null,
      error: null,
      created_at: Date.now(),
      finished_at: null,
      origin: req.origin ?? null,
      whole_project: runbook.target && runbook.wholeProject === true ? 1 : 0,
    };
    try {
      this.store.createRun(run);
    } catch (err) {
      if (err instanceof TargetBusyError) {
        const h = err.holder;
        const held = `${h.requested_by_name} is already running ${h.runbook} on ${h.target_key ?? 'this target'} (run ${h.id}, ${h.status.replace('_', ' ')}, started ${ago(h.created_at)})`;
        const why =
          h.target_key === run.target_key ? ''
          : h.whole_project === 1 ? `, which changes every service on ${host.name}`
          : `, and ${runbook.id} changes every service on ${host.name}`;
        throw new UserError('run.locked', `${held}${why}. Wait for it to finish or cancel it; nothing was run.`);
      }
      throw err;
    }
    this.log.info({ runId: run.id, runbook: runbook.id, host: host.name, actor: req.actor.id }, 'run started');
    return this.advance(run, runbook, params, 0, -1);
  }

  /**
   * Stores a proposed run and returns the button that starts it. Params are checked now, so an
   * offer that could never start is not made (the caller shows the finding without a button).
   */
  offer(req: OfferRequest): Action {
    this.host(req.host);
    const params = this.parseParams(req.runbook, req.params);
    const id = newId('o');
    this.store.createOffer({ id, runbook: req.runbook, host: req.host, params: JSON.stringify(params), origin: req.origin ?? null, created_at: Date.now() });
    return { id: `offer:${id}`, label: req.label.slice(0, 80), style: 'primary' };
  }

  /** The role a person needs to start an offer (the runbook's own rule), or undefined when unknown. */
  offerRole(offerId: string): Role | undefined {
    const offer = this.store.getOffer(offerId);
    const runbook = offer && this.runbooks.get(offer.runbook);
    return runbook ? rolesOf(runbook, this.config.gates.fourEyes).start : undefined;
  }

  /** Starts an offered runbook as `actor`: a new run, with the same validation and gates as a command. */
  startOffer(offerId: string, actor: Actor, channelId: string | null): Promise<RunView> {
    const offer = this.store.getOffer(offerId);
    if (!offer) throw new UserError('offer.unknown', 'This button is unknown to the bot (its record is gone); start the runbook with /runbook instead. Nothing was run.');
    return this.start({ runbook: offer.runbook, host: offer.host, params: JSON.parse(offer.params) as unknown, actor, channelId, origin: offer.origin ?? undefined });
  }

  /**
   * Checks and claims a gate decision synchronously, so the adapter can refuse a click at once
   * and acknowledge an accepted one before the slow part. Exactly one of many racing clicks wins.
   */
  authorize(runId: string, stepIdx: number, decision: 'confirm' | 'cancel', actor: Actor, shownPlanHash?: string): Decision {
    const run = this.store.getRun(runId);
    const gate = this.store.getGate(runId, stepIdx);
    if (!run || !gate) throw new UserError('gate.unknown', 'This confirmation is unknown to the bot (its record is gone). Start the command again.');
    const refuse = (code: string, reason: string): never => {
      this.store.recordApproval({ runId, stepIdx, userId: actor.id, userName: actor.name, decision, accepted: false, reason: code });
      this.log.info({ runId, stepIdx, decision, actor: actor.id, code }, 'gate click refused');
      gateDecisions.inc({ runbook: run.runbook, decision, result: code });
      throw new UserError(code, reason);
    };
    if (gate.state === 'expired') refuse('gate.expired', this.expiredText(run, gate));
    if (gate.state !== 'open') refuse('gate.decided', `This step was already ${gate.state}${this.deciderOf(runId, stepIdx)}. Nothing more was run.`);
    if (Date.now() >= gate.expires_at) {
      this.expireGate(gate);
      refuse('gate.expired', this.expiredText(run, gate));
    }
    if (decision === 'confirm' && shownPlanHash !== undefined && gate.plan !== null && planHash(gate) !== shownPlanHash) {
      refuse('gate.plan-changed', 'What this step will run changed after the preview you clicked; nothing was run. Check the updated preview and confirm it there.');
    }
    const isRequester = actor.id === run.requested_by;
    if (decision === 'cancel') {
      if (!isRequester && !actor.roles.includes('operator')) refuse('gate.forbidden', 'Only the requester or a member with the operator role can cancel this.');
    } else if (gate.four_eyes === 1) {
      if (isRequester) refuse('gate.self-approval', 'This runbook needs a second person: you requested it, so someone else with the approver role must confirm.');
      if (!actor.roles.includes('approver')) refuse('gate.forbidden', 'This runbook needs a confirmation by a member with the approver role. Nothing was run.');
    } else if (!actor.roles.includes('operator')) {
      refuse('gate.forbidden', 'Only members with the operator role can confirm this. Nothing was run.');
    }
    const won = this.store.decideGate(
      decision === 'confirm'
        ? { runId, stepIdx, state: 'confirmed', userId: actor.id, userName: actor.name, runStatus: 'running', runError: null }
        : { runId, stepIdx, state: 'cancelled', userId: actor.id, userName: actor.name, runStatus: 'cancelled', runError: `cancelled by ${actor.name}` },
    );
    if (!won) {
      const now = this.store.getGate(runId, stepIdx);
      refuse('gate.decided', `Someone else already ${now?.state ?? 'decided'} this step${this.deciderOf(runId, stepIdx)}. Nothing more was run.`);
    }
    this.log.info({ runId, stepIdx, decision, actor: actor.id }, 'gate decided');
    gateDecisions.inc({ runbook: run.runbook, decision, result: 'accepted' });
    if (decision === 'cancel') runbookRuns.inc({ runbook: run.runbook, outcome: 'cancelled' });
    if (decision === 'confirm') this.busy++; // until proceed() has run it
    return { run, stepIdx, decision };
  }

  /**
   * Carries out an authorized decision: runs the confirmed step and what follows it.
   * `onProgress` gets the run's view each time a running step reports progress (a long step,
   * such as a rolling update, can be followed while it runs); it must not throw.
   */
  async proceed(d: Decision, onProgress?: (view: RunView) => void): Promise<RunView> {
    if (d.decision === 'cancel') {
      this.rollout.moveOn(d.run.id); // a cancelled host stops its rollout
      return this.view(d.run.id);
    }
    if (onProgress) this.progressListeners.set(d.run.id, onProgress);
    try {
      const runbook = this.resolveRunbook(d.run.runbook);
      let view: RunView;
      try {
        view = await this.advance({ ...d.run, status: 'running' }, runbook, JSON.parse(d.run.params) as unknown, d.stepIdx, d.stepIdx);
      } catch (err) {
        this.rollout.moveOn(d.run.id); // it failed: its rollout stops
        throw err;
      }
      // Only an ended run moves its rollout; a view at a (re-opened) gate is kept as it is.
      return ACTIVE.includes(view.status) ? view : this.rollout.withNext(view, await this.rollout.after(d.run.id));
    } finally {
      this.busy--;
      this.progressListeners.delete(d.run.id);
      this.progressNow.delete(d.run.id);
    }
  }

  async decide(runId: string, stepIdx: number, decision: 'confirm' | 'cancel', actor: Actor): Promise<RunView> {
    return this.proceed(this.authorize(runId, stepIdx, decision, actor));
  }

  /** Starts the rollback of a failed run: a new run of the runbook's rollback steps, gated as ever. */
  async rollback(runId: string, actor: Actor, channelId: string | null): Promise<RunView> {
    const run = this.store.getRun(runId);
    if (!run) throw new UserError('run.unknown', `Run ${runId} is unknown.`);
    const base = this.resolveRunbook(run.runbook);
    if (!base.rollback || base.rollback.length === 0) throw new UserError('rollback.none', `${base.id} has no rollback steps.`);
    // An old button would recreate whatever is on disk weeks later: only the newest failure, recently.
    const undoable = run.status === 'failed' || (run.status === 'succeeded' && base.rollbackAfterSuccess === true);
    if (!undoable) throw new UserError('rollback.not-failed', `Run ${runId} ${run.status.replace('_', ' ')}; only a failed run can be rolled back. Nothing was run.`);
    const newer = run.target_key === null ? undefined : this.store.latestRunFor(run.target_key);
    if (newer && newer.id !== run.id) {
      throw new UserError('rollback.superseded', `Run ${runId} is no longer the latest on ${run.target_key ?? 'its target'}: ${newer.runbook} (run ${newer.id}) ran after it, ${ago(newer.created_at)}. Rolling back now could undo that; nothing was run. Check /ps and start what is needed.`);
    }
    const windowMs = this.config.gates.rollbackWindowMinutes * 60_000;
    if (Date.now() - (run.finished_at ?? run.created_at) > windowMs) {
      throw new UserError('rollback.too-old', `Run ${runId} failed ${ago(run.finished_at ?? run.created_at)}; its Roll back button works for ${this.config.gates.rollbackWindowMinutes} min. Nothing was run; check /ps and start what is needed.`);
    }
    // Values the run recorded for its rollback (e.g. the replica count before a scale) become its params.
    const recorded = this.store.stepsOf(runId).flatMap((st) => (st.fields ? (JSON.parse(st.fields) as Field[]) : [])).filter((f) => f.record !== undefined).map((f) => [f.record, f.value]);
    return this.start({ runbook: `${base.id}:rollback`, host: run.host, params: { ...(JSON.parse(run.params) as object), ...Object.fromEntries(recorded) }, actor, channelId });
  }

  /** Gates whose time is up: marked expired (their runs too), returned so the adapter can disable buttons. */
  expireDue(now = Date.now()): { gate: GateRow; view: RunView }[] {
    const out: { gate: GateRow; view: RunView }[] = [];
    for (const [runId, error] of this.unrecorded) {
      try {
        this.store.setRunStatus(runId, 'failed', error, now);
        this.unrecorded.delete(runId);
      } catch {
        break; // still refused: next sweep
      }
    }
    for (const gate of this.store.dueGates(now)) {
      // One bad gate (its runbook gone in an upgrade, the database busy) must not stop the sweep.
      try {
        if (this.expireGate(gate, now)) {
          this.rollout.moveOn(gate.run_id); // an expired host stops its rollout
          out.push({ gate, view: this.view(gate.run_id) });
        }
      } catch (err) {
        this.log.error({ err, runId: gate.run_id, stepIdx: gate.step_idx }, 'could not expire a gate');
      }
    }
    this.rollout.settle(now);
    return out;
  }

  private expireGate(gate: GateRow, now = Date.now()): boolean {
    if (!this.store.decideGate({ runId: gate.run_id, stepIdx: gate.step_idx, state: 'expired', userId: null, userName: null, runStatus: 'expired', runError: 'confirmation expired before anyone confirmed' }, now)) return false;
    this.log.info({ runId: gate.run_id, stepIdx: gate.step_idx }, 'gate expired');
    const runbook = this.store.getRun(gate.run_id)?.runbook ?? 'unknown';
    gateDecisions.inc({ runbook, decision: 'none', result: 'expired' });
    runbookRuns.inc({ runbook, outcome: 'expired' });
    return true;
  }

  /** What happened and when, and the command that starts the run again (its runbook's alias with the same input). */
  private expiredText(run: RunRow, gate: GateRow): string {
    const at = new Date(gate.expires_at).toISOString();
    const when = Date.now() - gate.expires_at < 12 * 3_600_000 ? at.slice(11, 16) : `${at.slice(0, 10)} ${at.slice(11, 16)}`;
    const minutes = this.config.gates.expiryMinutes;
    const base = run.runbook.split(':')[0] ?? run.runbook;
    const internal = this.runbooks.get(base)?.internalParams ?? [];
    const args = Object.entries(JSON.parse(run.params) as Record<string, unknown>)
      .filter(([k]) => !internal.includes(k))
      .map(([k, v]) => (k === 'service' ? String(v) : `${k}:${String(v)}`));
    if (run.host !== (this.config.defaultHost ?? [...this.hosts.keys()][0])) args.push(`host:${run.host}`);
    const again = [!this.commandAliases || this.commandAliases.has(base) ? `/${base}` : `/runbook ${base}`, ...args].join(' ');
    return `This confirmation expired at ${when} UTC (after ${minutes >= 1 ? `${minutes} min` : `${Math.round(minutes * 60)} s`}); nothing was run. Start again with ${again}.`;
  }

  /** " by <name>" of whoever decided a gate, for messages; empty when nobody did (it expired). */
  private deciderOf(runId: string, stepIdx: number): string {
    const a = this.store.approvalsOf(runId).filter((x) => x.accepted === 1 && x.step_idx === stepIdx).at(-1);
    return a ? ` by ${a.user_name}` : '';
  }

  recordGateMessage(runId: string, stepIdx: number, channelId: string, messageId: string): void {
    this.store.setGateMessage(runId, stepIdx, channelId, messageId);
  }

  private resolveRunbook(id: string): AnyRunbook {
    const [baseId, variant] = id.split(':') as [string, string | undefined];
    const base = this.runbooks.get(baseId);
    if (!base || (variant !== undefined && variant !== 'rollback')) {
      throw new UserError('runbook.unknown', `There is no runbook "${id}" in this version of the bot. Known: ${[...this.runbooks.keys()].join(', ')}.`);
    }
    if (variant === 'rollback') {
      const title = (p: unknown) => `Roll back: ${typeof base.title === 'string' ? base.title : base.title(p)}`;
      // Its check guards what the run asked for (a version to deploy): a rollback returns to what
      // was recorded, and must work even when the asked-for version has since gone.
      const { followUps: _none, check: _forward, ...rest } = base;
      return { ...rest, id, title, steps: base.rollback ?? [], rollback: [] };
    }
    return base;
  }

  /** Runs steps from `from` until a gate, a failure or the end. `approved` is the step whose gate was just confirmed. */
  /**
   * Waits (up to `timeoutMs`) until no run is executing: a stop must not cut a restart in half.
   * A confirmation counts from the moment it is claimed, not only once its step has started.
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.busy === 0) return 0;
    this.log.info({ runs: this.busy }, 'waiting for running steps to finish before stopping');
    const deadline = Date.now() + timeoutMs;
    while (this.busy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.busy;
  }

  private async advance(run: RunRow, runbook: AnyRunbook, params: unknown, from: number, approved: number): Promise<RunView> {
    try {
      return await this.runFrom(run, runbook, params, from, approved);
    } catch (err) {
      // Whatever went wrong between steps, the run must end (and free its target), not hang.
      // A user error can quote what the host printed: it is stored (and shown) redacted like output.
      await this.secretsLearned(this.host(run.host));
      this.log.error({ runId: run.id, err }, 'run aborted');
      runbookRuns.inc({ runbook: run.runbook, outcome: 'failed' });
      const reason = isUserError(err) ? redact(err.message) : `internal error (run ${run.id}); see the bot's log`;
      try {
        this.store.setRunStatus(run.id, 'failed', reason);
      } catch (storeErr) {
        // The database refuses too (full disk, held lock): keep the first error for the user and
        // retry at every expiry sweep, so the run does not hold its target's lock for good.
        this.unrecorded.set(run.id, reason);
        this.log.error({ runId: run.id, err: storeErr }, 'could not mark an aborted run failed; retrying');
      }
      throw err;
    }
  }

  private async runFrom(run: RunRow, runbook: AnyRunbook, params: unknown, from: number, approved: number): Promise<RunView> {
    const host = this.host(run.host);
    const steps = runbook.steps as Step<unknown>[];
    for (let idx = from; idx < steps.length; idx++) {
      const step = steps[idx]!;
      if (step.mutates && idx !== approved) {
        // The plan first: a gate nobody can see (its plan failed) must not be left open.
        const plan = await this.planOf(step, host, params);
        const context = await this.planContext(runbook, host, params);
        const expiresAt = Date.now() + this.config.gates.expiryMinutes * 60_000;
        const baseId = runbook.id.split(':')[0] ?? runbook.id;
        this.store.openGate(run.id, idx, runbook.fourEyes === true || this.config.gates.fourEyes.includes(baseId), expiresAt, { commands: JSON.stringify(plan), context });
        this.store.setRunStatus(run.id, 'awaiting_confirmation');
        return this.view(run.id, { stepIdx: idx, plan });
      }
      if (step.mutates && step.plan) {
        const changed = await this.planChanged(run, runbook, step, idx, host, params);
        if (changed) return changed;
      }
      const ok = await this.runStep(run, step, idx, host, params);
      if (!ok) {
        this.store.setRunStatus(run.id, 'failed', `step ${idx + 1} (${step.title}) failed`);
        runbookRuns.inc({ runbook: run.runbook, outcome: 'failed' });
        return this.view(run.id);
      }
    }
    this.store.setRunStatus(run.id, 'succeeded');
    this.log.info({ runId: run.id }, 'run succeeded');
    runbookRuns.inc({ runbook: run.runbook, outcome: 'succeeded' });
    return this.view(run.id);
  }

  /**
   * A confirmation is bound to what its preview showed: the commands, and the compose definitions
   * of the services they act on (the image a restart brings back, its environment…). Just before
   * the confirmed step runs, both are made again from the host as it is now (compose file re-read):
   * a service that has gone fails the run; any other change withdraws the confirmation and shows a
   * fresh preview. Nothing runs in either case.
   */
  private async planChanged(run: RunRow, runbook: AnyRunbook, step: Step<unknown>, idx: number, host: Host, params: unknown): Promise<RunView | undefined> {
    const gate = this.store.getGate(run.id, idx);
    if (!gate || gate.plan === null) return undefined; // a gate from before plans were kept
    host.forgetComposeConfig();
    await this.validate(runbook, host, params);
    const plan = await this.planOf(step, host, params);
    const context = await this.planContext(runbook, host, params);
    const commands = JSON.stringify(plan);
    if (commands === gate.plan && context === gate.plan_context) return undefined;
    const by = this.store.approvalsOf(run.id).filter((a) => a.accepted === 1 && a.step_idx === idx).at(-1);
    this.store.reopenGate({ runId: run.id, stepIdx: idx, plan: { commands, context }, expiresAt: Date.now() + this.config.gates.expiryMinutes * 60_000, userId: by?.user_id ?? 'unknown', userName: by?.user_name ?? 'unknown' });
    this.log.warn({ runId: run.id, stepIdx: idx, shown: gate.plan, now: plan, contextChanged: context !== gate.plan_context }, 'plan changed between preview and confirmation; nothing run');
    const services = (runbook.serviceParams ?? []).map((k) => (params as Record<string, unknown>)[k]).filter((v): v is string => typeof v === 'string');
    const why = commands === gate.plan ? `the compose definition of ${services.join(', ') || 'the service'} changed since the preview (image, environment, volumes…)` : 'what this step would run changed since the preview';
    return this.view(run.id, { stepIdx: idx, plan, changed: { why, shown: JSON.parse(gate.plan) as string[] } });
  }

  /** Fingerprint of the compose definitions of the runbook's service params, as the host resolves them now. */
  private async planContext(runbook: AnyRunbook, host: Host, params: unknown): Promise<string> {
    const keys = runbook.serviceParams ?? [];
    if (keys.length === 0) return '';
    const defs = (await host.composeConfig()).document.services as Record<string, unknown> | undefined;
    const bound = keys.map((k) => {
      const service = (params as Record<string, unknown>)[k];
      return typeof service === 'string' ? [service, defs?.[service] ?? null] : [k, null];
    });
    return createHash('sha256').update(JSON.stringify(bound)).digest('base64url').slice(0, 16);
  }

  private async planOf(step: Step<unknown>, host: Host, params: unknown): Promise<string[]> {
    if (!step.plan) return [step.title];
    try {
      return (await step.plan({ host, params })).map(displayCommand);
    } catch (err) {
      if (isUserError(err)) throw err;
      throw new UserError('plan.failed', `Could not prepare the command for "${step.title}": ${(err as Error).message}`, { cause: err });
    }
  }

  private async runStep(run: RunRow, step: Step<unknown>, idx: number, host: Host, params: unknown): Promise<boolean> {
    const commands: CommandRecord[] = [];
    this.store.startStep(run.id, idx, step.title, step.mutates);
    const started = performance.now();
    const record = (r: { argv: string[]; exitCode: number | null; durationMs: number; truncated?: boolean; stdout?: string }) => {
      if (r.truncated) r.stdout += '\n[opsbot: the output was longer than the bot keeps; the rest was cut here. Run the command on the host to see all of it.]';
      commands.push({ argv: r.argv, exitCode: r.exitCode, durationMs: r.durationMs });
      this.log.info({ runId: run.id, step: idx, argv: r.argv, exitCode: r.exitCode, durationMs: r.durationMs }, 'host command');
    };
    const ctx: StepContext<unknown> = {
      host,
      params,
      runId: run.id,
      exec: async (argv, o) => {
        const res = await host.exec(argv, { ...o, mutating: step.mutates });
        record(res);
        return res;
      },
      compose: async (args, o) => {
        const res = await host.compose(args, { ...o, mutating: step.mutates });
        record(res);
        return res;
      },
      note: (description) => record({ argv: [description], exitCode: 0, durationMs: 0 }),
      progress: (summary) => {
        this.progressNow.set(run.id, { idx, summary: redact(summary) });
        const listener = this.progressListeners.get(run.id);
        if (!listener) return;
        try {
          listener(this.view(run.id));
        } catch (err) {
          this.log.warn({ runId: run.id, err }, 'could not report progress');
        }
      },
    };
    let outcome: StepOutcome;
    try {
      outcome = await step.run(ctx);
    } catch (err) {
      if (isUserError(err)) {
        outcome = { ok: false, summary: err.message };
        this.log.warn({ runId: run.id, step: idx, code: err.code, err: err.cause ?? err }, 'step failed');
      } else {
        outcome = { ok: false, summary: `Internal error in this step (run ${run.id}); the details are in the bot's log.` };
        this.log.error({ runId: run.id, step: idx, err }, 'step crashed');
      }
    }
    this.progressNow.delete(run.id);
    await this.secretsLearned(host);
    const outputId = outcome.output === undefined ? null : this.store.saveOutput(run.id, outcome.outputTitle ?? step.title, redact(outcome.output));
    const summary = redact(outcome.summary);
    const fields = outcome.fields ? redact(JSON.stringify(outcome.fields)) : null;
    stepDuration.observe({ runbook: run.runbook, outcome: outcome.ok ? 'succeeded' : 'failed' }, (performance.now() - started) / 1000);
    this.store.finishStep(run.id, idx, {
      status: outcome.ok ? 'succeeded' : 'failed',
      commands,
      exitCode: commands.at(-1)?.exitCode ?? null,
      durationMs: Math.round(performance.now() - started),
      summary,
      fields,
      outputId,
    });
    return outcome.ok;
  }

  /** Everything the audit log holds about one run: who, when, each command with its exit code, decisions, outputs. */
  auditView(runId: string): RunView {
    return this.views.audit(runId);
  }

  /** Rebuilds the neutral result of a run from the store (also after a restart). */
  view(runId: string, gate?: { stepIdx: number; plan: string[]; changed?: { why: string; shown: string[] } }): RunView {
    return this.views.view(runId, gate);
  }
}
