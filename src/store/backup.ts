import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { retained } from './db.js';

/** What a finished backup holds, read back from the copy itself. */
export interface BackupResult {
  file: string;
  bytes: number;
  runs: number;
  /** `ok`, as SQLite's integrity check says of the copy. */
  integrity: string;
}

/** Why a backup could not be made, in words for the operator (the CLI prints it and exits 1). */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/**
 * Copies the audit database with SQLite's online backup API while the bot keeps writing to it
 * (a plain file copy of a WAL database can miss committed pages or catch a half-written one).
 * The copy is made beside the target and renamed into place only once SQLite has checked it, so
 * the target name never holds a partial file.
 */
export async function backupDatabase(source: string, target: string, options: { overwrite?: boolean } = {}): Promise<BackupResult> {
  if (!existsSync(source)) throw new BackupError(`no database at ${source} (database.path in the configuration)`);
  if (existsSync(target) && options.overwrite !== true) throw new BackupError(`${target} exists; choose a new name or pass --force to replace it`);
  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  // Not openDatabase(): a backup must not migrate the bot's database under it.
  const db = new BetterSqlite3(source, { fileMustExist: true });
  retained.push(db);
  try {
    db.exec('PRAGMA busy_timeout = 5000;');
    await db.backup(partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw new BackupError(`backup of ${source} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    db.close();
  }
  const copy = new BetterSqlite3(partial, { fileMustExist: true });
  retained.push(copy);
  let integrity: string;
  let runs: number;
  try {
    const check = copy.prepare('PRAGMA integrity_check');
    const count = copy.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'runs'");
    retained.push(check, count);
    integrity = String((check.get() as Record<string, unknown>).integrity_check);
    const hasRuns = (count.get() as { n: number }).n > 0;
    const runCount = hasRuns ? copy.prepare('SELECT count(*) AS n FROM runs') : undefined;
    if (runCount) retained.push(runCount);
    runs = runCount ? (runCount.get() as { n: number }).n : 0;
    // A backup taken from a WAL database is itself in WAL mode: make the copy one self-contained file.
    copy.exec('PRAGMA journal_mode = DELETE;');
  } finally {
    copy.close();
  }
  if (integrity !== 'ok') {
    rmSync(partial, { force: true });
    throw new BackupError(`the copy of ${source} failed SQLite's integrity check (${integrity}); nothing was written to ${target}`);
  }
  renameSync(partial, target);
  return { file: target, bytes: statSync(target).size, runs, integrity };
}
