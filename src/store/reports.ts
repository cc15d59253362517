import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { StatementCache } from './db.js';

const reportRow = z.object({
  id: z.string(),
  host: z.string(),
  run_id: z.string().nullable(),
  created_at: z.number(),
  /** The schedule's fire time this report answers; null for `/report`. */
  scheduled_for: z.number().nullable(),
  late: z.number(),
  reachable: z.number(),
  findings: z.number(),
  /** JSON of what the report run found (runbooks/report.ts `reportFacts`). */
  facts: z.string(),
  /** JSON of the changes since the report before it. */
  deltas: z.string(),
  message_ref: z.string().nullable(),
});
export type ReportRow = z.infer<typeof reportRow>;

/** The reports table and the schedule's last fire time (migration 004). */
export class ReportStore {

  private readonly statements: StatementCache;

  constructor(db: Database) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string): Statement {
    return this.statements.get(sql);
  }

  save(row: ReportRow): void {
    this.stmt(
      `INSERT INTO reports (id, host, run_id, created_at, scheduled_for, late, reachable, findings, facts, deltas, message_ref)
       VALUES (@id, @host, @run_id, @created_at, @scheduled_for, @late, @reachable, @findings, @facts, @deltas, @message_ref)`,
    ).run(row);
  }

  setMessageRef(id: string, ref: string): void {
    this.stmt('UPDATE reports SET message_ref = ? WHERE id = ?').run(ref, id);
  }

  /** The newest report of a host that could read it: what the next report compares with. */
  latestReachable(host: string): ReportRow | undefined {
    const row = this.stmt('SELECT * FROM reports WHERE host = ? AND reachable = 1 ORDER BY created_at DESC, rowid DESC LIMIT 1').get(host);
    return row === undefined ? undefined : reportRow.parse(row);
  }

  recent(limit: number): ReportRow[] {
    return this.stmt('SELECT * FROM reports ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit).map((r) => reportRow.parse(r));
  }

  lastFire(): number | undefined {
    const row = this.stmt('SELECT last_fire FROM report_schedule WHERE id = 1').get() as { last_fire: number } | undefined;
    return row?.last_fire;
  }

  setLastFire(at: number): void {
    this.stmt('INSERT INTO report_schedule (id, last_fire) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET last_fire = excluded.last_fire').run(at);
  }
}
