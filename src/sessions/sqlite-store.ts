// The embedded default session store: one SQLite file under the state dir (node:sqlite, WAL).
import { chmodSync, existsSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { ChatMessage } from '../agents/messages.ts';
import { InternalServerError } from '../errors.ts';
import type { LoadOptions, SessionStore, SessionSummary } from './store.ts';

export const SESSIONS_DB_FILE = 'sessions.sqlite';

/** A stored transcript the store cannot read back; the gateway answers 500 for that session only. */
export class SessionCorruptError extends InternalServerError {
  readonly sessionKey: string;
  constructor(sessionKey: string, message: string, cause?: unknown) {
    super(message, { code: 'session_corrupt', cause });
    this.sessionKey = sessionKey;
  }
}

interface Migration {
  version: number;
  description: string;
  sql: string;
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
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export interface SqliteSessionStoreOptions {
  /** How long a statement waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

const KEY_PATTERN = /^agent:([^:]+):./;

/** `agent:<agentId>:<rest>` → agentId. */
export function agentIdFromKey(key: string): string {
  const match = KEY_PATTERN.exec(key);
  if (!match) throw new Error(`Session key "${key}" is not of the form agent:<agentId>:<key>.`);
  return match[1];
}

export class SqliteSessionStore implements SessionStore {
  readonly file: string;
  private readonly db: DatabaseSync;
  private closed = false;
  private readonly stmt: {
    tail: StatementSync;
    all: StatementSync;
    session: StatementSync;
    insertSession: StatementSync;
    nextSeq: StatementSync;
    insertMessage: StatementSync;
    bumpSession: StatementSync;
    list: StatementSync;
    listByAgent: StatementSync;
    deleteMessages: StatementSync;
    deleteSession: StatementSync;
    ping: StatementSync;
  };

  /** Opens (creating if absent) and migrates the store; a corrupt, locked or too-new file throws an Error naming it. */
  constructor(file: string, options: SqliteSessionStoreOptions = {}) {
    this.file = file;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    const created = !existsSync(file);
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(file, { timeout: busyTimeoutMs });
      if (created) {
        try {
          chmodSync(file, 0o600);
        } catch {
          // Best effort: the state dir itself is 0700.
        }
      }
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      // Reading the schema first makes a file that is not a database fail here, before any write.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined;
      if (mode?.journal_mode?.toLowerCase() !== 'wal') throw new Error(`could not switch to WAL (journal_mode is ${mode?.journal_mode ?? 'unknown'})`);
      db.exec('PRAGMA synchronous = NORMAL');
      migrate(db);
    } catch (error) {
      try {
        db?.close();
      } catch {
        // already failing
      }
      throw new Error(`Cannot open the session store ${file}: ${(error as Error).message}`, { cause: error });
    }
    this.db = db;
    this.stmt = {
      tail: db.prepare('SELECT seq, message FROM messages WHERE session_key = ? ORDER BY seq DESC LIMIT ?'),
      all: db.prepare('SELECT seq, message FROM messages WHERE session_key = ? ORDER BY seq ASC'),
      session: db.prepare('SELECT turn_count FROM sessions WHERE key = ?'),
      insertSession: db.prepare('INSERT INTO sessions (key, agent_id, created_at, updated_at, turn_count, message_count) VALUES (?, ?, ?, ?, 0, 0)'),
      nextSeq: db.prepare('SELECT seq FROM messages WHERE session_key = ? ORDER BY seq DESC LIMIT 1'),
      insertMessage: db.prepare('INSERT INTO messages (session_key, seq, turn, message) VALUES (?, ?, ?, ?)'),
      bumpSession: db.prepare('UPDATE sessions SET turn_count = turn_count + 1, message_count = message_count + ?, updated_at = ? WHERE key = ?'),
      list: db.prepare('SELECT key, agent_id, created_at, updated_at, turn_count, message_count FROM sessions ORDER BY updated_at DESC, key ASC'),
      listByAgent: db.prepare('SELECT key, agent_id, created_at, updated_at, turn_count, message_count FROM sessions WHERE agent_id = ? ORDER BY updated_at DESC, key ASC'),
      deleteMessages: db.prepare('DELETE FROM messages WHERE session_key = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE key = ?'),
      ping: db.prepare('SELECT 1 AS ok'),
    };
  }

  async loadTranscript(key: string, options: LoadOptions = {}): Promise<ChatMessage[]> {
    this.assertOpen();
    const limit = options.lastMessages;
    let rows: Array<{ seq: number; message: string }>;
    if (limit !== undefined) {
      if (!(limit > 0)) return [];
      rows = (this.stmt.tail.all(key, Math.floor(limit)) as Array<{ seq: number; message: string }>).reverse();
    } else {
      rows = this.stmt.all.all(key) as Array<{ seq: number; message: string }>;
    }
    return rows.map((row) => {
      try {
        return JSON.parse(row.message) as ChatMessage;
      } catch (error) {
        throw new SessionCorruptError(
          key,
          `Session ${key} cannot be loaded: its stored message #${row.seq} is not valid JSON (${(error as Error).message}). Delete the session (openclaw sessions delete) or repair ${this.file}.`,
          error,
        );
      }
    });
  }

  async appendTurn(key: string, messages: ChatMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const agentId = agentIdFromKey(key);
    const encoded = messages.map((message) => JSON.stringify(message));
    const now = Date.now();
    this.transaction(() => {
      const existing = this.stmt.session.get(key) as { turn_count: number } | undefined;
      if (!existing) this.stmt.insertSession.run(key, agentId, now, now);
      const turn = (existing?.turn_count ?? 0) + 1;
      const last = this.stmt.nextSeq.get(key) as { seq: number } | undefined;
      let seq = last ? Number(last.seq) + 1 : 0;
      for (const message of encoded) this.stmt.insertMessage.run(key, seq++, turn, message);
      this.stmt.bumpSession.run(encoded.length, now, key);
    });
  }

  async listSessions(filter: { agentId?: string } = {}): Promise<SessionSummary[]> {
    this.assertOpen();
    const rows = (filter.agentId === undefined ? this.stmt.list.all() : this.stmt.listByAgent.all(filter.agentId)) as Array<{
      key: string;
      agent_id: string;
      created_at: number;
      updated_at: number;
      turn_count: number;
      message_count: number;
    }>;
    return rows.map((row) => ({
      key: row.key,
      agentId: row.agent_id,
      turnCount: Number(row.turn_count),
      messageCount: Number(row.message_count),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    }));
  }

  async deleteSession(key: string): Promise<boolean> {
    this.assertOpen();
    return this.transaction(() => {
      this.stmt.deleteMessages.run(key);
      return Number(this.stmt.deleteSession.run(key).changes) > 0;
    });
  }

  async ping(): Promise<void> {
    this.assertOpen();
    this.stmt.ping.get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`The session store ${this.file} is closed.`);
  }

  private transaction<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }
}

function migrate(db: DatabaseSync): void {
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
