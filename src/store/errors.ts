import type { Statement } from 'better-sqlite3';
import { UserError } from '../engine/errors.js';

/**
 * SQLite failures that come from the bot's surroundings (a full disk, a lock held by a backup,
 * an I/O error), turned into errors that say so, instead of an "internal error". Constraint
 * violations and other faults of the bot's own logic pass through unchanged.
 */
export function storeFault(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const where = `the bot's database (${path})`;
  if (code === 'SQLITE_FULL') {
    return new UserError('store.full', `The bot cannot write to ${where}: the disk holding it is full (${code}). Free space on the bot's machine and try again; what was recorded before is intact.`, { cause: err });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new UserError('store.busy', `${where[0]!.toUpperCase()}${where.slice(1)} stayed locked by another program (a backup?) for longer than the bot waits (${code}). Try again in a moment.`, { cause: err });
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) {
    return new UserError('store.io', `The bot cannot read or write ${where} (${code}: ${(err as Error).message}). Check the disk and the file's permissions.`, { cause: err });
  }
  return err;
}

const CALLS = new Set<string | symbol>(['run', 'get', 'all', 'iterate']);

/** The statement, with its run/get/all/iterate failures passed through `storeFault`. */
export function guarded(stmt: Statement, path: string): Statement {
  return new Proxy(stmt, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (!CALLS.has(key)) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          throw storeFault(err, path);
        }
      };
    },
  });
}
