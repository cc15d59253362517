import type { Database } from 'better-sqlite3';

/**
 * Rollouts: a runbook that changes hosts, run over a group one host at a time (the first host is
 * the canary). Each host's run is an ordinary run with its own gate; this row is what carries the
 * rollout on from one run to the next, so a confirmation clicked after a restart still starts the
 * next host. `hosts` is the order (JSON array), `runs` the run id of each host started so far
 * (JSON array, same order), `position` the host whose run is current.
 */
export function up(db: Database): void {
  db.exec(`CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    target TEXT NOT NULL,
    params TEXT NOT NULL,
    hosts TEXT NOT NULL,
    runs TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'stopped')),
    reason TEXT,
    requested_by TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    channel_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`);
}
