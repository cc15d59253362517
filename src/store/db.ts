import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { guarded } from './errors.js';
import * as m001 from './migrations/001-initial.js';
import * as m002 from './migrations/002-gate-plan.js';
import * as m003 from './migrations/003-offers.js';
import * as m004 from './migrations/004-reports.js';
import * as m005 from './migrations/005-alerts.js';
import * as m006 from './migrations/006-rollouts.js';
import * as m007 from './migrations/007-whole-project.js';

const migrations: { version: number; up: (db: Database) => void }[] = [
  { version: 1, up: m001.up },
  { version: 2, up: m002.up },
  { version: 3, up: m003.up },
  { version: 4, up: m004.up },
  { version: 5, up: m005.up },
  { version: 6, up: m006.up },
  { version: 7, up: m007.up },
];

/**
 * better-sqlite3 12 on Node 24 can abort the process when a Statement object is garbage
 * collected (its destructor asserts on a missing environment: WiseLibs/better-sqlite3#1515),
 * and 13 no longer runs on Node 20. So no Statement may ever become garbage: the store prepares
 * each statement once, and every database and statement stays referenced here for the life of
 * the process (a handful of objects; one database in production).
 */
export const retained: unknown[] = [];

/**
 * The statements of one store, by SQL text: each prepared once, kept for the life of the process
 * (`retained`, above) and wrapped so that a failing call names the database (`guarded`).
 */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database) {}

  get(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      const real = this.db.prepare(sql);
      retained.push(real);
      s = guarded(real, this.db.name);
      this.statements.set(sql, s);
    }
    return s;
  }
}

/** Opens the database in WAL mode and applies the numbered migrations it has not seen. */
export function openDatabase(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  retained.push(db);
  // exec() runs SQL without creating Statement objects (pragma() creates throwaway ones).
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  const version = db.prepare('PRAGMA user_version');
  retained.push(version);
  const current = (version.get() as { user_version: number }).user_version;
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.exec('BEGIN');
    try {
      m.up(db);
      db.exec(`PRAGMA user_version = ${m.version}; COMMIT`);
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
  return db;
}
