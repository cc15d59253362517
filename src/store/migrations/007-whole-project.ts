import type { Database } from 'better-sqlite3';

/**
 * Runs that change the whole compose project of their host (a rolling update, a database restore
 * that starts every service again). While one is active no other run that locks a target may
 * start on that host, and it cannot start while one is active; see Store.createRun.
 */
export function up(db: Database): void {
  db.exec('ALTER TABLE runs ADD COLUMN whole_project INTEGER NOT NULL DEFAULT 0 CHECK (whole_project IN (0, 1))');
}
