import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { StatementCache } from './db.js';
import { storeFault } from './errors.js';
import { z } from 'zod';

export const runStatus = z.enum(['running', 'awaiting_confirmation', 'succeeded', 'failed', 'cancelled', 'expired']);
export type RunStatus = z.infer<typeof runStatus>;
export const ACTIVE: readonly RunStatus[] = ['running', 'awaiting_confirmation'];

const runRow = z.object({
  id: z.string(),
  runbook: z.string(),
  host: z.string(),
  params: z.string(),
  requested_by: z.string(),
  requested_by_name: z.string(),
  channel_id: z.string().nullable(),
  status: runStatus,
  target_key: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.number(),
  finished_at: z.number().nullable(),
  /** What the run was started from when not a command (an alert, a report finding). */
  origin: z.string().nullable().default(null),
  /** 1: the run changes every service of its host's project (migration 007). */
  whole_project: z.number().int().default(0),
});
export type RunRow = z.infer<typeof runRow>;

const offerRow = z.object({
  id: z.string(),
  runbook: z.string(),
  host: z.string(),
  params: z.string(),
  origin: z.string().nullable(),
  created_at: z.number(),
});
export type OfferRow = z.infer<typeof offerRow>;

const commandRecord = z.object({ argv: z.array(z.string()), exitCode: z.number().nullable(), durationMs: z.number() });
export type CommandRecord = z.infer<typeof commandRecord>;

const stepRow = z.object({
  run_id: z.string(),
  idx: z.number(),
  title: z.string(),
  mutates: z.number(),
  status: z.string(),
  commands: z.string(),
  exit_code: z.number().nullable(),
  duration_ms: z.number().nullable(),
  summary: z.string().nullable(),
  fields: z.string().nullable(),
  output_id: z.string().nullable(),
  started_at: z.number().nullable(),
  finished_at: z.number().nullable(),
});
export type StepRow = z.infer<typeof stepRow>;

const gateRow = z.object({
  run_id: z.string(),
  step_idx: z.number(),
  state: z.enum(['open', 'confirmed', 'cancelled', 'expired']),
  four_eyes: z.number(),
  expires_at: z.number(),
  channel_id: z.string().nullable(),
  message_id: z.string().nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.number().nullable(),
  /** JSON of the command lines the gate's preview showed (null for gates of older versions). */
  plan: z.string().nullable(),
  /** Fingerprint of the compose definitions of the services the step acts on, at the preview. */
  plan_context: z.string().nullable(),
});
export type GateRow = z.infer<typeof gateRow>;

const outputRow = z.object({ id: z.string(), run_id: z.string(), title: z.string(), text: z.string(), created_at: z.number() });
export type OutputRow = z.infer<typeof outputRow>;

const approvalRow = z.object({
  step_idx: z.number(),
  user_id: z.string(),
  user_name: z.string(),
  decision: z.enum(['confirm', 'cancel']),
  accepted: z.number(),
  reason: z.string().nullable(),
  at: z.number(),
});
export type ApprovalRow = z.infer<typeof approvalRow>;

export const newId = (prefix: string): string => `${prefix}${randomBytes(6).toString('base64url')}`;

/** The unique index on active runs per target said no: someone else holds the lock. */
export class TargetBusyError extends Error {
  constructor(readonly holder: RunRow) {
    super(`target ${holder.target_key ?? ''} is busy with run ${holder.id}`);
  }
}

/**
 * Everything the bot must not lose: runs, steps, outputs (redacted before they get here),
 * gates and decisions. Synchronous better-sqlite3 calls make each claim atomic in-process.
 */
export class Store {

  private readonly statements: StatementCache;

  constructor(readonly db: Database) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string): Statement {
    return this.statements.get(sql);
  }

  /**
   * Records a run and takes its lock, or throws TargetBusyError naming the run that holds it. Two
   * active runs on one target key are refused by the unique index; a whole-project run on a host
   * also excludes every other run there that locks a target, either way round.
   */
  createRun(run: Omit<RunRow, 'error' | 'finished_at' | 'origin' | 'whole_project'> & { origin?: string | null; whole_project?: number }): void {
    const row = { ...run, origin: run.origin ?? null, whole_project: run.whole_project ?? 0 };
    const insert = () => {
      try {
        this
          .stmt(`INSERT INTO runs (id, runbook, host, params, requested_by, requested_by_name, channel_id, status, target_key, created_at, origin, whole_project)
                    VALUES (@id, @runbook, @host, @params, @requested_by, @requested_by_name, @channel_id, @status, @target_key, @created_at, @origin, @whole_project)`)
          .run(row);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && row.target_key !== null) {
          const holder = this.activeRunFor(row.target_key);
          if (holder) throw new TargetBusyError(holder);
        }
        throw err;
      }
    };
    // A run that locks nothing (a read) needs no check, so no transaction either.
    if (row.target_key === null) return insert();
    this.inTransaction(() => {
      const holder = this.wholeProjectConflict(row.host, row.whole_project === 1);
      if (holder) throw new TargetBusyError(holder);
      insert();
    });
  }

  /** An active run on `host` that a new locking run may not start beside: a whole-project one, or, for a whole-project run, any that locks a target. */
  private wholeProjectConflict(host: string, wholeProject: boolean): RunRow | undefined {
    const row = this.stmt(
      `SELECT * FROM runs WHERE host = ? AND target_key IS NOT NULL AND status IN ('running','awaiting_confirmation')
         AND (whole_project = 1 OR ? = 1) ORDER BY created_at LIMIT 1`,
    ).get(host, wholeProject ? 1 : 0);
    return row === undefined ? undefined : runRow.parse(row);
  }

  activeRunFor(targetKey: string): RunRow | undefined {
    const row = this.stmt(`SELECT * FROM runs WHERE target_key = ? AND status IN ('running','awaiting_confirmation')`).get(targetKey);
    return row === undefined ? undefined : runRow.parse(row);
  }

  /** The most recent run on a target (of any runbook, its rollbacks included). */
  latestRunFor(targetKey: string): RunRow | undefined {
    const row = this.stmt('SELECT * FROM runs WHERE target_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(targetKey);
    return row === undefined ? undefined : runRow.parse(row);
  }

  createOffer(offer: OfferRow): void {
    this.stmt('INSERT INTO offers (id, runbook, host, params, origin, created_at) VALUES (@id, @runbook, @host, @params, @origin, @created_at)').run(offer);
  }

  getOffer(id: string): OfferRow | undefined {
    const row = this.stmt('SELECT * FROM offers WHERE id = ?').get(id);
    return row === undefined ? undefined : offerRow.parse(row);
  }

  getRun(id: string): RunRow | undefined {
    const row = this.stmt('SELECT * FROM runs WHERE id = ?').get(id);
    return row === undefined ? undefined : runRow.parse(row);
  }

  setRunStatus(id: string, status: RunStatus, error: string | null = null, now = Date.now()): void {
    const finished = ACTIVE.includes(status) ? null : now;
    this.stmt('UPDATE runs SET status = ?, error = COALESCE(?, error), finished_at = ? WHERE id = ?').run(status, error, finished, id);
  }

  recentRuns(limit: number): RunRow[] {
    return this.stmt('SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit).map((r) => runRow.parse(r));
  }

  countRuns(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
  }

  startStep(runId: string, idx: number, title: string, mutates: boolean, now = Date.now()): void {
    this
      .stmt(`INSERT INTO steps (run_id, idx, title, mutates, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)
                ON CONFLICT(run_id, idx) DO UPDATE SET status = 'running', started_at = excluded.started_at`)
      .run(runId, idx, title, mutates ? 1 : 0, now);
  }

  finishStep(runId: string, idx: number, r: { status: 'succeeded' | 'failed'; commands: CommandRecord[]; exitCode: number | null; durationMs: number; summary: string | null; fields: string | null; outputId: string | null }, now = Date.now()): void {
    this
      .stmt(`UPDATE steps SET status = ?, commands = ?, exit_code = ?, duration_ms = ?, summary = ?, fields = ?, output_id = ?, finished_at = ? WHERE run_id = ? AND idx = ?`)
      .run(r.status, JSON.stringify(r.commands), r.exitCode, r.durationMs, r.summary, r.fields, r.outputId, now, runId, idx);
  }

  stepsOf(runId: string): (StepRow & { commandList: CommandRecord[] })[] {
    return this
      .stmt('SELECT * FROM steps WHERE run_id = ? ORDER BY idx')
      .all(runId)
      .map((r) => {
        const row = stepRow.parse(r);
        return { ...row, commandList: z.array(commandRecord).parse(JSON.parse(row.commands)) };
      });
  }

  saveOutput(runId: string, title: string, text: string, now = Date.now()): string {
    const id = newId('o');
    this.stmt('INSERT INTO outputs (id, run_id, title, text, created_at) VALUES (?, ?, ?, ?, ?)').run(id, runId, title, text, now);
    return id;
  }

  /** Deletes outputs created before `before` (ms); steps keep their summary and commands. */
  pruneOutputs(before: number): number {
    const unlink = this.stmt('UPDATE steps SET output_id = NULL WHERE output_id IN (SELECT id FROM outputs WHERE created_at < ?)');
    const remove = this.stmt('DELETE FROM outputs WHERE created_at < ?');
    this.db.exec('BEGIN');
    try {
      unlink.run(before);
      const n = remove.run(before).changes;
      this.db.exec('COMMIT');
      return n;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  getOutput(id: string): OutputRow | undefined {
    const row = this.stmt('SELECT * FROM outputs WHERE id = ?').get(id);
    return row === undefined ? undefined : outputRow.parse(row);
  }

  openGate(runId: string, stepIdx: number, fourEyes: boolean, expiresAt: number, plan: { commands: string; context: string } | null = null): void {
    this
      .stmt(`INSERT INTO gates (run_id, step_idx, state, four_eyes, expires_at, plan, plan_context) VALUES (?, ?, 'open', ?, ?, ?, ?)`)
      .run(runId, stepIdx, fourEyes ? 1 : 0, expiresAt, plan?.commands ?? null, plan?.context ?? null);
  }

  /**
   * A confirmed gate whose step would now run something else than its preview showed: the
   * confirmation is withdrawn (recorded as refused) and the gate opens again with the new plan.
   */
  reopenGate(r: { runId: string; stepIdx: number; plan: { commands: string; context: string }; expiresAt: number; userId: string; userName: string }, now = Date.now()): void {
    this.inTransaction(() => {
      this
        .stmt(`UPDATE gates SET state = 'open', plan = ?, plan_context = ?, expires_at = ?, decided_by = NULL, decided_at = NULL WHERE run_id = ? AND step_idx = ? AND state = 'confirmed'`)
        .run(r.plan.commands, r.plan.context, r.expiresAt, r.runId, r.stepIdx);
      this.recordApproval({ runId: r.runId, stepIdx: r.stepIdx, userId: r.userId, userName: r.userName, decision: 'confirm', accepted: false, reason: 'gate.plan-changed' }, now);
      this.setRunStatus(r.runId, 'awaiting_confirmation', null, now);
    });
  }

  setGateMessage(runId: string, stepIdx: number, channelId: string, messageId: string): void {
    this.stmt('UPDATE gates SET channel_id = ?, message_id = ? WHERE run_id = ? AND step_idx = ?').run(channelId, messageId, runId, stepIdx);
  }

  getGate(runId: string, stepIdx: number): GateRow | undefined {
    const row = this.stmt('SELECT * FROM gates WHERE run_id = ? AND step_idx = ?').get(runId, stepIdx);
    return row === undefined ? undefined : gateRow.parse(row);
  }

  lastGate(runId: string): GateRow | undefined {
    const row = this.stmt('SELECT * FROM gates WHERE run_id = ? ORDER BY step_idx DESC LIMIT 1').get(runId);
    return row === undefined ? undefined : gateRow.parse(row);
  }

  /**
   * A gate decision as one transaction: the claim (only of an open gate whose run still awaits
   * it), the approval that records who decided, and the run's new status. A failure part-way
   * leaves all three as they were, never a run awaiting a gate that is no longer open (which
   * would hold its target's lock forever). False when another decision won the race.
   */
  decideGate(d: { runId: string; stepIdx: number; state: 'confirmed' | 'cancelled' | 'expired'; userId: string | null; userName: string | null; runStatus: RunStatus; runError: string | null }, now = Date.now()): boolean {
    const claim = this.stmt(`UPDATE gates SET state = ?, decided_by = ?, decided_at = ? WHERE run_id = ? AND step_idx = ? AND state = 'open'
                               AND EXISTS (SELECT 1 FROM runs WHERE id = gates.run_id AND status = 'awaiting_confirmation')`);
    return this.inTransaction(() => {
      if (claim.run(d.state, d.userId, now, d.runId, d.stepIdx).changes !== 1) return false;
      if (d.userId !== null && d.state !== 'expired') {
        this.recordApproval({ runId: d.runId, stepIdx: d.stepIdx, userId: d.userId, userName: d.userName ?? d.userId, decision: d.state === 'confirmed' ? 'confirm' : 'cancel', accepted: true, reason: null }, now);
      }
      this.setRunStatus(d.runId, d.runStatus, d.runError, now);
      return true;
    });
  }

  /** BEGIN IMMEDIATE … COMMIT around `fn` (exec, not db.transaction(): no throwaway statements). */
  private inTransaction<T>(fn: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      // Another program's write lock outlasted busy_timeout: the same clear answer as a statement's.
      throw storeFault(err, this.db.name);
    }
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      // BEGIN/COMMIT run through exec, not a guarded statement: a full disk shows at COMMIT.
      throw storeFault(err, this.db.name);
    }
  }

  dueGates(now = Date.now()): GateRow[] {
    return this.stmt(`SELECT * FROM gates WHERE state = 'open' AND expires_at <= ?`).all(now).map((r) => gateRow.parse(r));
  }

  recordApproval(a: { runId: string; stepIdx: number; userId: string; userName: string; decision: 'confirm' | 'cancel'; accepted: boolean; reason: string | null }, now = Date.now()): void {
    this
      .stmt('INSERT INTO approvals (run_id, step_idx, user_id, user_name, decision, accepted, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(a.runId, a.stepIdx, a.userId, a.userName, a.decision, a.accepted ? 1 : 0, a.reason, now);
  }

  approvalsOf(runId: string): ApprovalRow[] {
    return this.stmt('SELECT step_idx, user_id, user_name, decision, accepted, reason, at FROM approvals WHERE run_id = ? ORDER BY id').all(runId).map((r) => approvalRow.parse(r));
  }

  /**
   * Runs left `running` by a crash can't be resumed safely: mark them failed, say so. Runs that
   * await a gate which is no longer open (a decision cut short by an older version) can never
   * continue either; both free their target's lock.
   */
  failInterruptedRuns(now = Date.now()): number {
    // The step the crash cut off ran (or not) on the host: its outcome is unknown, and must not
    // read "running" in the audit forever.
    this
      .stmt(`UPDATE steps SET status = 'failed', finished_at = ?,
               summary = 'interrupted: the bot stopped while this step was running; its outcome on the host is unknown, check before retrying'
               WHERE status = 'running' AND run_id IN (SELECT id FROM runs WHERE status = 'running')`)
      .run(now);
    const running = this.stmt(`UPDATE runs SET status = 'failed', error = 'interrupted: the bot stopped while this run was executing', finished_at = ? WHERE status = 'running'`).run(now).changes;
    const orphaned = this
      .stmt(`UPDATE runs SET status = 'failed', error = 'interrupted: its confirmation was no longer open when the bot started', finished_at = ?
               WHERE status = 'awaiting_confirmation' AND NOT EXISTS (SELECT 1 FROM gates WHERE gates.run_id = runs.id AND gates.state = 'open')`)
      .run(now).changes;
    return running + orphaned;
  }
}
