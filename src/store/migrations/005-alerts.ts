import type { Database } from 'better-sqlite3';

/**
 * Alert groups (Alertmanager's groupKey): the one message each group has in the alerts channel,
 * so a change or resolution edits it instead of posting again, even after a restart. `alerts`
 * holds the group's alerts by fingerprint (what the message shows), `content_hash` what the
 * message last showed (a resend with nothing new edits nothing), `offers` the buttons made for it
 * (reused on edits, so a button already clicked keeps working).
 */
export function up(db: Database): void {
  db.exec(`CREATE TABLE alert_groups (
    group_key TEXT PRIMARY KEY,
    message_ref TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
    alerts TEXT NOT NULL,
    offers TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`);
}
