// The PostgreSQL session store's schema, as an append-only list of versioned migrations, and the
// function that brings a database up to the newest one, once, however many replicas start at once.
import type { SqlClient } from './sql-client.ts';

interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Append-only list: never edit a released migration, add the next version instead. Pending
 * migrations run in one transaction, under a transaction-scoped advisory lock, so replicas that
 * start together apply each one exactly once and none serves on a half-migrated schema.
 */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sessions, messages, turns with meta, session leases, stored responses',
    // Messages, meta and responses are kept as the JSON text the gateway wrote (not jsonb): read
    // back byte for byte, parsed once in the gateway, never re-encoded by the database.
    sql: `
      CREATE TABLE sessions (
        key TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        turn_count INTEGER NOT NULL DEFAULT 0,
        message_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX sessions_agent_updated ON sessions (agent_id, updated_at);
      CREATE INDEX sessions_updated ON sessions (updated_at);
      CREATE TABLE messages (
        session_key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        turn INTEGER NOT NULL,
        message TEXT NOT NULL,
        format SMALLINT NOT NULL,
        PRIMARY KEY (session_key, seq)
      );
      CREATE TABLE turns (
        session_key TEXT NOT NULL,
        turn INTEGER NOT NULL,
        position INTEGER NOT NULL,
        meta TEXT NOT NULL,
        PRIMARY KEY (session_key, turn)
      );
      -- Unlogged: a lease needs no durability (after a database crash every run holding one has
      -- failed anyway), and a commit that wrote only unlogged rows does not wait for a WAL flush,
      -- which keeps taking and dropping the lock at a fraction of a millisecond.
      CREATE UNLOGGED TABLE session_locks (
        key TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        session_key TEXT NOT NULL,
        position INTEGER NOT NULL,
        previous_response_id TEXT,
        created_at BIGINT NOT NULL,
        input TEXT NOT NULL,
        output TEXT NOT NULL,
        meta TEXT NOT NULL,
        extra TEXT NOT NULL
      );
      CREATE INDEX responses_session ON responses (session_key);
    `,
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;

/** Key of the advisory lock taken around migrations ("openclaw" as a number). */
const MIGRATION_LOCK_KEY = 0x6f70656e636c6177n;

/** Pending migrations, in one transaction under the advisory lock. */
export async function migratePostgres(sql: SqlClient): Promise<void> {
  await sql.transaction(async (tx) => {
    // Held until this transaction ends: a replica starting at the same moment waits here, then
    // finds the migrations applied.
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]);
    await tx.script('CREATE TABLE IF NOT EXISTS openclaw_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const current = Number((await tx.query('SELECT COALESCE(MAX(version), 0) AS v FROM openclaw_migrations')).rows[0].v);
    if (current > PG_SCHEMA_VERSION) {
      throw new Error(`its schema version ${current} is newer than this gateway understands (${PG_SCHEMA_VERSION}); upgrade the gateway`);
    }
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= current) continue;
      try {
        await tx.script(migration.sql);
      } catch (error) {
        throw new Error(`schema migration ${migration.version} (${migration.description}) failed: ${(error as Error).message}`, { cause: error });
      }
      await tx.query('INSERT INTO openclaw_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.description, Date.now()]);
    }
  });
}
