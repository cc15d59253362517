import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src/engine/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, retained } from '../../src/store/db.js';
import { guarded, storeFault } from '../../src/store/errors.js';
import { Store } from '../../src/store/store.js';

const sqliteError = (code: string) => Object.assign(new Error(`sqlite says ${code}`), { code });

describe('database faults from the surroundings', () => {
  it.each([
    ['SQLITE_FULL', 'store.full', /disk holding it is full/],
    ['SQLITE_BUSY', 'store.busy', /stayed locked by another program/],
    ['SQLITE_BUSY_SNAPSHOT', 'store.busy', /stayed locked/],
    ['SQLITE_IOERR_WRITE', 'store.io', /cannot read or write/],
    ['SQLITE_READONLY', 'store.io', /permissions/],
  ])('%s becomes a user error (%s) naming the file', (code, want, text) => {
    const err = storeFault(sqliteError(code), '/data/opsbot.db');
    expect(isUserError(err)).toBe(true);
    expect((err as { code: string }).code).toBe(want);
    expect((err as Error).message).toMatch(text);
    expect((err as Error).message).toContain('/data/opsbot.db');
  });

  it('leaves the bot’s own faults alone (a unique violation is how a busy target is detected)', () => {
    const db = new BetterSqlite3(':memory:');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const raw = [db.prepare('INSERT INTO t (k) VALUES (?)'), db.prepare('SELECT COUNT(*) AS n FROM t')] as const;
    // Never garbage: better-sqlite3 12 can abort on Node 24 when a Statement is collected (db.ts).
    retained.push(db, ...raw);
    const insert = guarded(raw[0], ':memory:');
    insert.run('a');
    let caught: unknown;
    try {
      insert.run('a');
    } catch (err) {
      caught = err;
    }
    expect(isUserError(caught)).toBe(false);
    expect((caught as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    // Other members of the statement still work through the guard.
    const count = guarded(raw[1], ':memory:');
    expect(count.get()).toEqual({ n: 1 });
    expect(count.reader).toBe(true);
  });

  it('a run that takes a lock, like one that takes none, is told clearly when another program holds the write lock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-store-'));
    const other = new BetterSqlite3(join(dir, 'opsbot.db'));
    retained.push(other);
    try {
      const db = openDatabase(join(dir, 'opsbot.db'));
      db.pragma('busy_timeout = 100');
      const store = new Store(db);
      const run = (id: string, target: string | null) => ({ id, runbook: 'restart', host: 'h', params: '{}', requested_by: '1', requested_by_name: 'alice', channel_id: null, status: 'running' as const, target_key: target, created_at: Date.now() });
      other.exec('BEGIN IMMEDIATE');
      for (const [id, target] of [['r1', 'h:service:api'], ['r2', null]] as const) {
        let caught: unknown;
        try {
          store.createRun(run(id, target));
        } catch (err) {
          caught = err;
        }
        expect(isUserError(caught), String(caught)).toBe(true);
        expect((caught as Error).message).toMatch(/stayed locked by another program/);
      }
      other.exec('ROLLBACK');
      store.createRun(run('r1', 'h:service:api'));
      store.createRun(run('r2', null));
      expect(store.countRuns()).toBe(2);
      db.close();
    } finally {
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
