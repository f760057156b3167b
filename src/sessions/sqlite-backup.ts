// A consistent copy of the SQLite session store while the gateway writes to it. Copying the file
// itself is not one: in WAL mode recent transactions live in sessions.sqlite-wal, and a copy taken
// mid-write can be torn. SQLite's online backup reads every page inside one read transaction
// (one step for all pages), so the copy is the store as of one moment, writers never wait, and the
// result is a single self-contained file.
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { backup, DatabaseSync } from 'node:sqlite';

export interface BackupResult {
  destination: string;
  sessions: number;
  schemaVersion: number;
  bytes: number;
}

/** All pages in one backup step: one read transaction, never restarted by a concurrent write. */
const ALL_PAGES = 2_147_483_647;

export async function backupSqliteStore(source: string, destination: string, options: { overwrite?: boolean; busyTimeoutMs?: number } = {}): Promise<BackupResult> {
  if (!existsSync(source)) throw new Error(`There is no session store at ${source}.`);
  if (existsSync(destination) && !options.overwrite) throw new Error(`${destination} already exists; name a new file (or pass --force to replace it).`);
  // Written beside the destination and renamed into place: a failed or interrupted backup never
  // leaves a half file under the name an operator will restore from.
  const partial = `${destination}.partial-${process.pid}`;
  const db = new DatabaseSync(source, { readOnly: true, timeout: options.busyTimeoutMs ?? 5_000 });
  try {
    await backup(db, partial, { rate: ALL_PAGES });
    const copy = new DatabaseSync(partial);
    let sessions: number;
    let schemaVersion: number;
    try {
      // A plain rollback-journal file: the copy is one file, with no -wal beside it to carry along.
      copy.exec('PRAGMA journal_mode = DELETE');
      const check = copy.prepare('PRAGMA quick_check').get() as { quick_check: string };
      if (check.quick_check !== 'ok') throw new Error(`the copy failed its integrity check: ${check.quick_check}`);
      sessions = Number((copy.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n);
      schemaVersion = Number((copy.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v);
    } finally {
      copy.close();
    }
    chmodSync(partial, 0o600);
    renameSync(partial, destination);
    return { destination, sessions, schemaVersion, bytes: statSync(destination).size };
  } catch (error) {
    rmSync(partial, { force: true });
    rmSync(`${partial}-journal`, { force: true });
    throw error;
  } finally {
    db.close();
  }
}
