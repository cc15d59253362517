import type { Database } from 'better-sqlite3';

/**
 * Offers: a runbook with its params proposed by the bot itself (a report finding, an alert), kept
 * so the button that starts it needs only an id (Discord allows 100 characters) and still works
 * after a restart. A run started from one keeps where it came from.
 */
export function up(db: Database): void {
  db.exec(`CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    host TEXT NOT NULL,
    params TEXT NOT NULL,
    origin TEXT,
    created_at INTEGER NOT NULL
  );
  ALTER TABLE runs ADD COLUMN origin TEXT`);
}
