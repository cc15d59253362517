import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { StatementCache } from '../store/db.js';
import { alertSchema } from './webhook.js';

const offerSchema = z.object({
  /** runbook, host and params: what makes two offers the same button. */
  key: z.string(),
  action: z.object({ id: z.string(), label: z.string(), style: z.enum(['primary', 'secondary', 'success', 'danger']) }),
});
export type StoredOffer = z.infer<typeof offerSchema>;

const groupRow = z.object({
  group_key: z.string(),
  message_ref: z.string(),
  status: z.enum(['firing', 'resolved']),
  alerts: z.string().transform((s) => z.record(z.string(), alertSchema).parse(JSON.parse(s))),
  offers: z.string().transform((s) => z.array(offerSchema).parse(JSON.parse(s))),
  content_hash: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type AlertGroupRow = z.infer<typeof groupRow>;
export type AlertGroupInput = z.input<typeof groupRow>;

/** The alert_groups table (migration 005): one row per Alertmanager group that has a message. */
export class AlertStore {

  private readonly statements: StatementCache;

  constructor(db: Database) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string): Statement {
    return this.statements.get(sql);
  }

  get(groupKey: string): AlertGroupRow | undefined {
    const row = this.stmt('SELECT * FROM alert_groups WHERE group_key = ?').get(groupKey);
    return row === undefined ? undefined : groupRow.parse(row);
  }

  save(row: AlertGroupInput): void {
    this.stmt(
      `INSERT INTO alert_groups (group_key, message_ref, status, alerts, offers, content_hash, created_at, updated_at)
       VALUES (@group_key, @message_ref, @status, @alerts, @offers, @content_hash, @created_at, @updated_at)
       ON CONFLICT (group_key) DO UPDATE SET message_ref = excluded.message_ref, status = excluded.status, alerts = excluded.alerts,
         offers = excluded.offers, content_hash = excluded.content_hash, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ).run(row);
  }

  /** Forgets groups resolved before `before` (their messages stay in the channel). */
  pruneResolved(before: number): number {
    return this.stmt(`DELETE FROM alert_groups WHERE status = 'resolved' AND updated_at < ?`).run(before).changes;
  }
}
