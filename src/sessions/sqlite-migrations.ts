// The SQLite session store's schema, as an append-only list of versioned migrations, and the
// function that brings a database file up to the newest one.
import type { DatabaseSync } from 'node:sqlite';
import { fromChatMessage, type ChatMessage } from '../records/chat-completions.ts';
import type { MessageRecord } from '../records/record.ts';

interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Rewrites rows the SQL alone cannot (runs in the same transaction, after `sql`). */
  rewrite?: (db: DatabaseSync) => void;
}

/**
 * Append-only list: never edit a released migration, add the next version instead. Each one runs
 * in its own transaction together with its `schema_migrations` row.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sessions and messages',
    sql: `
      CREATE TABLE sessions (
        key TEXT PRIMARY KEY NOT NULL,
        agent_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        turn_count INTEGER NOT NULL DEFAULT 0,
        message_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX sessions_agent_updated ON sessions (agent_id, updated_at);
      CREATE TABLE messages (
        session_key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        turn INTEGER NOT NULL,
        message TEXT NOT NULL
      );
      -- Serves the tail read (ORDER BY seq DESC LIMIT N) and the next-seq lookup without a scan.
      CREATE UNIQUE INDEX messages_session_seq ON messages (session_key, seq);
    `,
  },
  {
    version: 2,
    description: 'gateway message records, turn meta, session leases, stored responses',
    sql: `
      ALTER TABLE messages ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
      CREATE TABLE turns (
        session_key TEXT NOT NULL,
        turn INTEGER NOT NULL,
        position INTEGER NOT NULL,
        meta TEXT NOT NULL,
        PRIMARY KEY (session_key, turn)
      );
      INSERT INTO turns (session_key, turn, position, meta)
        SELECT session_key, turn, MIN(seq), '{}' FROM messages GROUP BY session_key, turn;
      CREATE TABLE session_locks (
        key TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE responses (
        id TEXT PRIMARY KEY NOT NULL,
        agent_id TEXT NOT NULL,
        session_key TEXT NOT NULL,
        position INTEGER NOT NULL,
        previous_response_id TEXT,
        created_at INTEGER NOT NULL,
        input TEXT NOT NULL,
        output TEXT NOT NULL,
        meta TEXT NOT NULL,
        extra TEXT NOT NULL
      );
      CREATE INDEX responses_session ON responses (session_key);
    `,
    // Messages stored by the first release are Chat Completions messages; they become records,
    // the same conversation in the gateway's own shape.
    rewrite(db) {
      const rows = db.prepare('SELECT rowid AS id, message FROM messages WHERE format = 1').all() as Array<{ id: number; message: string }>;
      const update = db.prepare('UPDATE messages SET message = ?, format = 2 WHERE rowid = ?');
      for (const row of rows) {
        let record: MessageRecord;
        try {
          record = fromChatMessage(JSON.parse(row.message) as ChatMessage);
        } catch {
          // Left as it was: reading it reports that one session as unreadable, as before.
          continue;
        }
        update.run(JSON.stringify(record), row.id);
      }
    },
  },
  {
    version: 3,
    description: 'turns and session leases keyed by their primary key alone (WITHOUT ROWID)',
    // A rowid table with a primary key is two B-trees, each rewritten on every insert; keyed by
    // the primary key alone it is one. Each run writes a lease row and a turn row: two pages less
    // to write (and to checkpoint) per run.
    sql: `
      CREATE TABLE turns_v3 (
        session_key TEXT NOT NULL,
        turn INTEGER NOT NULL,
        position INTEGER NOT NULL,
        meta TEXT NOT NULL,
        PRIMARY KEY (session_key, turn)
      ) WITHOUT ROWID;
      INSERT INTO turns_v3 (session_key, turn, position, meta) SELECT session_key, turn, position, meta FROM turns;
      DROP TABLE turns;
      ALTER TABLE turns_v3 RENAME TO turns;
      CREATE TABLE session_locks_v3 (
        key TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO session_locks_v3 (key, owner, expires_at) SELECT key, owner, expires_at FROM session_locks;
      DROP TABLE session_locks;
      ALTER TABLE session_locks_v3 RENAME TO session_locks;
    `,
  },
  {
    version: 4,
    description: 'no index on sessions by agent and update time',
    // Every append moves its session's updated_at, and with it the session's entry in this index:
    // two more pages written (and later checkpointed) per run, 10 → 8 in all on the benchmark's
    // sessions. It served one listing (by agent, newest first), which returns every session of the
    // agent anyway: without it the listing reads the table and sorts, the same order of work.
    sql: 'DROP INDEX IF EXISTS sessions_agent_updated;',
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;


export function migrate(db: DatabaseSync): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY NOT NULL, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const current = Number((db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v);
  if (current > SCHEMA_VERSION) {
    throw new Error(`its schema version ${current} is newer than this gateway understands (${SCHEMA_VERSION}); upgrade the gateway`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      // Another process may have applied it while we waited for the lock.
      const done = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version);
      if (!done) {
        db.exec(migration.sql);
        migration.rewrite?.(db);
        db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.description, Date.now());
        db.exec(`PRAGMA user_version = ${migration.version}`);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw new Error(`schema migration ${migration.version} (${migration.description}) failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
