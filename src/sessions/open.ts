import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import { PostgresSessionStore } from './postgres-store.ts';
import { SESSIONS_DB_FILE, SqliteSessionStore } from './sqlite-store.ts';
import type { SessionStore } from './store.ts';

/** The embedded default: `<stateDir>/sessions.sqlite` (SQLite, WAL). */
export function openDefaultSessionStore(stateDir: string, config?: GatewayConfig, options: { backgroundCheckpoints?: boolean } = {}): SqliteSessionStore {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return new SqliteSessionStore(join(stateDir, SESSIONS_DB_FILE), {
    lockLeaseMs: config?.sessions.lockLeaseMs,
    durability: config?.sessions.durability,
    backgroundCheckpoints: options.backgroundCheckpoints,
  });
}

/**
 * The session store `sessions.store` asks for: the one place the driver is chosen, for the gateway,
 * `openclaw agent` and `openclaw sessions` alike. PostgreSQL is migrated before this resolves; a
 * database that cannot be reached now is an Error naming it (without its password).
 */
export async function openSessionStore(
  config: GatewayConfig,
  stateDir: string,
  /** `backgroundCheckpoints`: SQLite's WAL checkpoints on a worker thread (a long-running gateway; not worth a thread for a CLI command). */
  options: { logger?: Logger; poolSize?: number; backgroundCheckpoints?: boolean } = {},
): Promise<SessionStore> {
  const { driver, url, poolSize } = config.sessions.store;
  if (driver === 'sqlite') return openDefaultSessionStore(stateDir, config, { backgroundCheckpoints: options.backgroundCheckpoints });
  const logger = options.logger;
  return PostgresSessionStore.open({
    url: url!,
    poolSize: options.poolSize ?? poolSize,
    lockLeaseMs: config.sessions.lockLeaseMs,
    durability: config.sessions.durability,
    onIdleError: (error) => logger?.warn({ event: 'session_store.connection_lost', driver, reason: error.message }, 'an idle PostgreSQL connection failed; it is replaced on next use'),
  });
}

/** Where the store the config names is, for messages (no password). */
export function describeSessionStore(config: GatewayConfig, stateDir: string): string {
  const { driver, url } = config.sessions.store;
  if (driver === 'sqlite') return join(stateDir, SESSIONS_DB_FILE);
  return PostgresSessionStore.describeUrl(url!);
}
