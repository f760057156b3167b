// The shared session store: PostgreSQL, for several gateway replicas behind one load balancer.
// Every replica opens the same database; transcripts, turn meta, stored responses and the session
// lease rows live there, so any replica can serve any request on any session.
//
// Concurrency: an append is one statement that bumps the session row only where it still ends at
// the expected position (the row lock serializes concurrent appends; the loser finds the position
// moved and is refused). The session lock is a lease row (src/sessions/lease.ts), not an advisory
// lock: an advisory lock lives on a connection, so a run would pin a pooled connection for its
// whole length, and a replica whose process hangs without its TCP connection dying would keep it.
// A lease row costs no connection between statements and lapses on the database's clock.
import { SessionConflictError } from './errors.ts';
import { SessionLeases } from './lease.ts';
import { decodeMessage, decodeResponse, parseMeta, toSummary } from './stored-rows.ts';
import { appendTurnRows } from './postgres-append.ts';
import { describeDriverError, guardUnavailable, redactUrl } from './postgres-failures.ts';
import { insertImportedSession } from './postgres-import.ts';
import { postgresLeaseBackend } from './postgres-leases.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { RESPONSE_COLUMNS, upsertResponse } from './postgres-response-rows.ts';
import { responseRow } from './response-row.ts';
import { isUnavailableError, type SqlClient, type SqlClientOptions } from './sql-client.ts';
import type { MessageRecord, TurnRecord } from '../records/record.ts';
import { agentIdFromKey, type AppendOptions, type LoadOptions, type PoolStats, type LockOptions, type SessionLock, type SessionStore, type SessionSummary, type StoredResponse, type StoredTurn, type Transcript } from './store.ts';

export interface PostgresSessionStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Most connections this process opens (default 10). */
  poolSize?: number;
  /** Session lock lease (default 30 s): the longest a killed replica blocks its session. */
  lockLeaseMs?: number;
  /** How long a statement waits for a connection before the store counts as unreachable (default 5 s). */
  connectTimeoutMs?: number;
  /** Client-side bound on one statement (default 15 s). */
  queryTimeoutMs?: number;
  /** Where connection trouble on idle connections is reported. */
  onIdleError?: (error: Error) => void;
  /** `sessions.durability`: `full` makes every commit wait for its WAL flush whatever the database's `synchronous_commit`. */
  durability?: 'normal' | 'full';
  /** Another client library behind the same seam (the store benchmark compares them). */
  client?: (options: SqlClientOptions, onIdleError: (error: Error) => void) => SqlClient;
}

export class PostgresSessionStore implements SessionStore {
  readonly driver = 'postgres';
  /** The URL without its password, for logs and messages. */
  readonly location: string;
  private readonly sql: SqlClient;
  private readonly leases: SessionLeases;
  private closed = false;

  /** Connects, applies pending migrations under the migration lock, and resolves with the store. */
  static async open(options: PostgresSessionStoreOptions): Promise<PostgresSessionStore> {
    // pg loads with the first PostgreSQL store, so a gateway on the SQLite default never holds it.
    const client = options.client ?? (await import('./pg-client.ts')).pgClient;
    const store = new PostgresSessionStore(options, client);
    try {
      await store.migrate();
    } catch (error) {
      await store.sql.close().catch(() => undefined);
      const reason = isUnavailableError(error) ? `cannot reach the database (${describeDriverError(error)})` : (error as Error).message;
      throw new Error(`Cannot open the session store ${store.location}: ${reason}`, { cause: error });
    }
    return store;
  }

  private constructor(options: PostgresSessionStoreOptions, client: NonNullable<PostgresSessionStoreOptions['client']>) {
    this.location = redactUrl(options.url);
    const clientOptions: SqlClientOptions = {
      url: options.url,
      poolSize: options.poolSize ?? 10,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      queryTimeoutMs: options.queryTimeoutMs ?? 15_000,
      applicationName: 'openclaw-gateway',
      durability: options.durability,
    };
    const onIdleError = options.onIdleError ?? (() => undefined);
    this.sql = client(clientOptions, onIdleError);
    const leaseMs = options.lockLeaseMs ?? 30_000;
    const backend = postgresLeaseBackend({ sql: this.sql, leaseMs, isClosed: () => this.closed });
    this.leases = new SessionLeases(backend, { leaseMs, maxPollMs: 50 });
  }

  static describeUrl(url: string): string {
    return redactUrl(url);
  }

  get library(): string {
    return this.sql.library;
  }

  poolStats(): PoolStats {
    return this.sql.poolStats();
  }

  lockSession(key: string, options: LockOptions): Promise<SessionLock> {
    this.assertOpen();
    return this.leases.lock(key, options);
  }

  async loadTranscript(key: string, options: LoadOptions = {}): Promise<Transcript> {
    this.assertOpen();
    const { lastMessages: limit, before } = options;
    const take = limit === undefined ? null : Math.max(0, Math.floor(limit));
    // One statement: the position and the messages come from one snapshot.
    const { rows } = await guardUnavailable(() =>
      this.sql.query(
        `SELECT s.message_count, m.seq, m.message, m.format
           FROM sessions s
           LEFT JOIN LATERAL (
             SELECT seq, message, format FROM messages
              WHERE session_key = s.key AND seq < LEAST(s.message_count, COALESCE($2::integer, s.message_count))
              ORDER BY seq DESC LIMIT $3::integer
           ) m ON true
          WHERE s.key = $1`,
        [key, before ?? null, take],
      ),
    );
    if (rows.length === 0) return { messages: [], position: 0 };
    const total = Number(rows[0].message_count);
    const position = before === undefined ? total : Math.min(before, total);
    const messages: MessageRecord[] = [];
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i].seq !== null) messages.push(decodeMessage(key, rows[i]));
    return { messages, position };
  }

  async appendTurn(key: string, turn: TurnRecord, options: AppendOptions): Promise<number> {
    this.assertOpen();
    const expected = options.expectedPosition;
    const lockOwner = options.lock ? this.leases.ownerOf(options.lock) : undefined;
    const appended = await guardUnavailable(() => appendTurnRows(this.sql, key, turn, { expectedPosition: expected, response: options.response, lockOwner }));
    if (appended.rowCount > 0) {
      if (lockOwner !== undefined) this.leases.leaseDropped(options.lock!);
      return Number(appended.rows[0].message_count);
    }
    const actual = await guardUnavailable(() => this.sql.query('SELECT message_count FROM sessions WHERE key = $1', [key]));
    throw new SessionConflictError(key, expected, actual.rowCount > 0 ? Number(actual.rows[0].message_count) : 0);
  }

  async listTurns(key: string, options: { lastTurns?: number } = {}): Promise<StoredTurn[]> {
    this.assertOpen();
    return guardUnavailable(() =>
      this.sql.transaction(async (tx) => {
        const turnRows = (
          options.lastTurns === undefined
            ? await tx.query('SELECT turn, position, meta FROM turns WHERE session_key = $1 ORDER BY turn ASC', [key])
            : await tx.query('SELECT turn, position, meta FROM turns WHERE session_key = $1 ORDER BY turn DESC LIMIT $2', [key, options.lastTurns])
        ).rows;
        if (options.lastTurns !== undefined) turnRows.reverse();
        if (turnRows.length === 0) return [];
        const byTurn = new Map<number, StoredTurn>();
        for (const row of turnRows) byTurn.set(Number(row.turn), { turn: Number(row.turn), position: Number(row.position), messages: [], meta: parseMeta(row.meta) });
        const messages = await tx.query('SELECT seq, turn, message, format FROM messages WHERE session_key = $1 AND turn >= $2 ORDER BY seq ASC', [key, Number(turnRows[0].turn)]);
        for (const row of messages.rows) byTurn.get(Number(row.turn))?.messages.push(decodeMessage(key, row));
        return [...byTurn.values()];
      }),
    );
  }

  async copyTranscript(fromKey: string, toKey: string, upTo: number): Promise<number> {
    this.assertOpen();
    const agentId = agentIdFromKey(toKey);
    const now = Date.now();
    const copied = await guardUnavailable(() =>
      this.sql.transaction(async (tx) => {
        const created = await tx.query('INSERT INTO sessions (key, agent_id, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (key) DO NOTHING RETURNING key', [toKey, agentId, now]);
        if (created.rowCount === 0) return undefined;
        await tx.query('INSERT INTO messages (session_key, seq, turn, message, format) SELECT $1, seq, turn, message, format FROM messages WHERE session_key = $2 AND seq < $3', [toKey, fromKey, upTo]);
        await tx.query('INSERT INTO turns (session_key, turn, position, meta) SELECT $1, turn, position, meta FROM turns WHERE session_key = $2 AND position < $3', [toKey, fromKey, upTo]);
        const counts = await tx.query(
          `UPDATE sessions SET (turn_count, message_count) = (SELECT COALESCE(MAX(turn), 0), COUNT(*) FROM messages WHERE session_key = $1) WHERE key = $1 RETURNING message_count`,
          [toKey],
        );
        return Number(counts.rows[0].message_count);
      }),
    );
    if (copied !== undefined) return copied;
    const existing = await this.getSession(toKey);
    throw new SessionConflictError(toKey, 0, existing?.messageCount ?? 0);
  }

  async getSession(key: string): Promise<SessionSummary | undefined> {
    this.assertOpen();
    const { rows } = await guardUnavailable(() => this.sql.query(`SELECT ${SUMMARY} FROM sessions WHERE key = $1`, [key]));
    return rows.length > 0 ? toSummary(rows[0]) : undefined;
  }

  async listSessions(filter: { agentId?: string } = {}): Promise<SessionSummary[]> {
    this.assertOpen();
    const { rows } = await guardUnavailable(() =>
      filter.agentId === undefined
        ? this.sql.query(`SELECT ${SUMMARY} FROM sessions ORDER BY updated_at DESC, key ASC`)
        : this.sql.query(`SELECT ${SUMMARY} FROM sessions WHERE agent_id = $1 ORDER BY updated_at DESC, key ASC`, [filter.agentId]),
    );
    return rows.map(toSummary);
  }

  async deleteSession(key: string): Promise<boolean> {
    this.assertOpen();
    return guardUnavailable(() => this.deleteOne(key));
  }

  async pruneSessions(updatedBefore: number): Promise<number> {
    this.assertOpen();
    const { rows } = await guardUnavailable(() => this.sql.query('SELECT key FROM sessions WHERE updated_at < $1', [updatedBefore]));
    let deleted = 0;
    // One statement per session: a long prune never holds many row locks at once.
    for (const row of rows) if (await guardUnavailable(() => this.deleteOne(String(row.key)))) deleted++;
    return deleted;
  }

  async putResponse(response: StoredResponse): Promise<void> {
    this.assertOpen();
    await guardUnavailable(() => this.sql.query(upsertResponse(`VALUES (${RESPONSE_COLUMNS.map((column, i) => `$${i + 1}::${column.type}`).join(', ')})`), responseRow(response)));
  }

  async getResponse(id: string): Promise<StoredResponse | undefined> {
    this.assertOpen();
    const { rows } = await guardUnavailable(() => this.sql.query('SELECT * FROM responses WHERE id = $1', [id]));
    if (rows.length === 0) return undefined;
    const row = rows[0];
    return decodeResponse(id, row);
  }

  async deleteResponse(id: string): Promise<boolean> {
    this.assertOpen();
    const result = await guardUnavailable(() => this.sql.query('DELETE FROM responses WHERE id = $1', [id]));
    return result.rowCount > 0;
  }

  /**
   * Copies one session from another store (`openclaw sessions migrate`): its turns with their
   * meta and its timestamps, in one transaction. A session the target already has is left as it
   * is (false), so a migration can be run again and only copies what is missing.
   */
  async importSession(summary: SessionSummary, turns: StoredTurn[]): Promise<boolean> {
    this.assertOpen();
    return guardUnavailable(() => insertImportedSession(this.sql, summary, turns));
  }

  /** Stores a response unless one with its id is there already; true when stored. */
  async importResponse(response: StoredResponse): Promise<boolean> {
    this.assertOpen();
    if (await this.getResponse(response.id)) return false;
    await this.putResponse(response);
    return true;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await guardUnavailable(() => this.sql.query('SELECT 1'));
  }

  /** `synchronous_commit` on one of the store's own connections. */
  async commitDurability(): Promise<string> {
    this.assertOpen();
    const result = await guardUnavailable(() => this.sql.query<{ synchronous_commit: string }>("SELECT current_setting('synchronous_commit') AS synchronous_commit"));
    return result.rows[0].synchronous_commit;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sql.close();
  }

  /** The schema version the database is at (0: never migrated). */
  async schemaVersion(): Promise<number> {
    const { rows } = await guardUnavailable(() => this.sql.query(`SELECT COALESCE(MAX(version), 0) AS v FROM openclaw_migrations`));
    return Number(rows[0].v);
  }

  private async migrate(): Promise<void> {
    await migratePostgres(this.sql);
  }

  private async deleteOne(key: string): Promise<boolean> {
    const result = await this.sql.query(
      `WITH r AS (DELETE FROM responses WHERE session_key = $1), m AS (DELETE FROM messages WHERE session_key = $1), t AS (DELETE FROM turns WHERE session_key = $1)
       DELETE FROM sessions WHERE key = $1`,
      [key],
    );
    return result.rowCount > 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The session store is closed.');
  }
}

const SUMMARY = 'key, agent_id, created_at, updated_at, turn_count, message_count';
