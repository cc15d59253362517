import type { Database } from 'better-sqlite3';

/**
 * What a gate's preview showed, so a confirmation is bound to it: the exact command lines, and a
 * fingerprint of the compose definitions of the services they act on (image, environment…).
 */
export function up(db: Database): void {
  db.exec('ALTER TABLE gates ADD COLUMN plan TEXT; ALTER TABLE gates ADD COLUMN plan_context TEXT');
}
