import type { Database } from 'better-sqlite3';

/** Runs, their steps with redacted output, gates and the decisions taken at them. */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE runs (
      id TEXT PRIMARY KEY,
      runbook TEXT NOT NULL,
      host TEXT NOT NULL,
      params TEXT NOT NULL,
      requested_by TEXT NOT NULL,
      requested_by_name TEXT NOT NULL,
      channel_id TEXT,
      status TEXT NOT NULL,
      target_key TEXT,
      error TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER
    ) STRICT;
    CREATE INDEX runs_created ON runs(created_at);
    -- The per-target lock: one active run per target, enforced by the database itself.
    CREATE UNIQUE INDEX runs_active_target ON runs(target_key)
      WHERE target_key IS NOT NULL AND status IN ('running', 'awaiting_confirmation');

    CREATE TABLE steps (
      run_id TEXT NOT NULL REFERENCES runs(id),
      idx INTEGER NOT NULL,
      title TEXT NOT NULL,
      mutates INTEGER NOT NULL,
      status TEXT NOT NULL,
      commands TEXT NOT NULL DEFAULT '[]',
      exit_code INTEGER,
      duration_ms INTEGER,
      summary TEXT,
      fields TEXT,
      output_id TEXT,
      started_at INTEGER,
      finished_at INTEGER,
      PRIMARY KEY (run_id, idx)
    ) STRICT;

    CREATE TABLE outputs (
      id TEXT PRIMARY KEY,
      run_id TEXT NOT NULL REFERENCES runs(id),
      title TEXT NOT NULL,
      text TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE gates (
      run_id TEXT NOT NULL REFERENCES runs(id),
      step_idx INTEGER NOT NULL,
      state TEXT NOT NULL,
      four_eyes INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      channel_id TEXT,
      message_id TEXT,
      decided_by TEXT,
      decided_at INTEGER,
      PRIMARY KEY (run_id, step_idx)
    ) STRICT;

    CREATE TABLE approvals (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      run_id TEXT NOT NULL REFERENCES runs(id),
      step_idx INTEGER NOT NULL,
      user_id TEXT NOT NULL,
      user_name TEXT NOT NULL,
      decision TEXT NOT NULL,
      accepted INTEGER NOT NULL,
      reason TEXT,
      at INTEGER NOT NULL
    ) STRICT;
  `);
}
