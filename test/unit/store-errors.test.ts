import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src/engine/errors.js';
import { retained } from '../../src/store/db.js';
import { guarded, storeFault } from '../../src/store/errors.js';

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
});
