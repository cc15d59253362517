import type { Database } from 'better-sqlite3';

/**
 * Health reports: what each report found on a host (its facts as JSON), so the next one can say
 * what changed (new restarts, disk growth, new alerts); and the last fire time of the report
 * schedule, so a report missed while the bot was down is posted once at the next start.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE reports (
      id TEXT PRIMARY KEY,
      host TEXT NOT NULL,
      run_id TEXT,
      created_at INTEGER NOT NULL,
      scheduled_for INTEGER,
      late INTEGER NOT NULL,
      reachable INTEGER NOT NULL,
      findings INTEGER NOT NULL,
      facts TEXT NOT NULL,
      deltas TEXT NOT NULL,
      message_ref TEXT
    ) STRICT;
    CREATE INDEX reports_host_created ON reports(host, created_at);
    CREATE TABLE report_schedule (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      last_fire INTEGER NOT NULL
    ) STRICT;
  `);
}
