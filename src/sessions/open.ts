import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../config/types.ts';
import { SESSIONS_DB_FILE, SqliteSessionStore } from './sqlite-store.ts';
import type { SessionStore } from './store.ts';

/** The session store the config asks for; the embedded default is `<stateDir>/sessions.sqlite` (SQLite, WAL). */
export function openDefaultSessionStore(stateDir: string, config?: GatewayConfig): SessionStore {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return new SqliteSessionStore(join(stateDir, SESSIONS_DB_FILE), { lockLeaseMs: config?.sessions.lockLeaseMs });
}
