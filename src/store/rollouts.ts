import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { StatementCache } from './db.js';

export const rolloutStatus = z.enum(['running', 'succeeded', 'stopped']);

const rolloutRow = z.object({
  id: z.string(),
  runbook: z.string(),
  /** The group (or `all`) it was asked for. */
  target: z.string(),
  /** JSON of the params as validated for the first host. */
  params: z.string(),
  /** JSON array: the hosts in rollout order, the canary first. */
  hosts: z.string(),
  /** JSON array: the run of each host started so far, in the same order. */
  runs: z.string(),
  position: z.number(),
  status: rolloutStatus,
  /** Why it stopped (the host and how its run ended), or null. */
  reason: z.string().nullable(),
  requested_by: z.string(),
  requested_by_name: z.string(),
  channel_id: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type RolloutRow = z.infer<typeof rolloutRow>;

/** The rollouts table (migration 006). */
export class RolloutStore {
  private readonly statements: StatementCache;

  constructor(db: Database) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string): Statement {
    return this.statements.get(sql);
  }

  create(row: RolloutRow): void {
    this.stmt(
      `INSERT INTO rollouts (id, runbook, target, params, hosts, runs, position, status, reason, requested_by, requested_by_name, channel_id, created_at, updated_at)
       VALUES (@id, @runbook, @target, @params, @hosts, @runs, @position, @status, @reason, @requested_by, @requested_by_name, @channel_id, @created_at, @updated_at)`,
    ).run(row);
  }

  get(id: string): RolloutRow | undefined {
    const row = this.stmt('SELECT * FROM rollouts WHERE id = ?').get(id);
    return row === undefined ? undefined : rolloutRow.parse(row);
  }

  /** The rollout a run belongs to, if any. */
  ofRun(runId: string): RolloutRow | undefined {
    const row = this.stmt('SELECT r.* FROM rollouts r, json_each(r.runs) j WHERE j.value = ? LIMIT 1').get(runId);
    return row === undefined ? undefined : rolloutRow.parse(row);
  }

  running(): RolloutRow[] {
    return this.stmt(`SELECT * FROM rollouts WHERE status = 'running'`).all().map((r) => rolloutRow.parse(r));
  }

  /**
   * Moves a rollout on, only from the state the caller read (`fromPosition`, still running), so
   * two callers reacting to the same run's end (a click and the expiry sweep) move it once.
   */
  update(id: string, fromPosition: number, next: { position: number; runs: string; status: RolloutRow['status']; reason: string | null }, now = Date.now()): boolean {
    return (
      this.stmt(`UPDATE rollouts SET position = ?, runs = ?, status = ?, reason = ?, updated_at = ? WHERE id = ? AND position = ? AND status = 'running'`).run(
        next.position,
        next.runs,
        next.status,
        next.reason,
        now,
        id,
        fromPosition,
      ).changes === 1
    );
  }
}
