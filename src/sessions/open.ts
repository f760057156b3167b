import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SESSIONS_DB_FILE, SqliteSessionStore } from './sqlite-store.ts';
import type { SessionStore } from './store.ts';

/** The embedded default session store for a state dir: `<stateDir>/sessions.sqlite` (SQLite, WAL). */
export function openDefaultSessionStore(stateDir: string): SessionStore {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return new SqliteSessionStore(join(stateDir, SESSIONS_DB_FILE));
}
