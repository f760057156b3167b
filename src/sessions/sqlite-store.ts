// The embedded default session store: one SQLite file under the state dir (node:sqlite, WAL).
// Safe to share between processes on one machine (the gateway and `openclaw agent`): writes are
// transactions, and the session lock is a lease row every process honours.
import { chmodSync, existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { RECORD_VERSION, type MessageRecord, type TurnRecord } from '../records/record.ts';
import { parseStoredRecord } from '../records/upstream-json.ts';
import { SessionConflictError, SessionCorruptError } from './errors.ts';
import { SessionLeases, type LeaseBackend } from './lease.ts';
import { decodeMessage, decodeResponse, parseMeta, toSummary, type Row } from './stored-rows.ts';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';
import { migrate } from './sqlite-migrations.ts';
import { prepareStatements, type SqliteStatements } from './sqlite-statements.ts';
import { responseRow } from './response-row.ts';
import { agentIdFromKey, type AppendOptions, type LoadOptions, type LockOptions, type SessionLock, type SessionStore, type SessionSummary, type StoredResponse, type StoredTurn, type Transcript } from './store.ts';

export const SESSIONS_DB_FILE = 'sessions.sqlite';

export interface SqliteSessionStoreOptions {
  /** How long a statement waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Session lock lease (default 30 s): the longest a killed holder blocks its session. */
  lockLeaseMs?: number;
  /** `normal` (default) or `full`: SQLite's `synchronous`, see the operations guide. */
  durability?: 'normal' | 'full';
  /** WAL checkpoints on a worker thread instead of inside commits on the event loop (the gateway; see sqlite-checkpointer.ts). */
  backgroundCheckpoints?: boolean;
}

export class SqliteSessionStore implements SessionStore {
  readonly driver = 'sqlite';
  readonly file: string;
  private readonly db: DatabaseSync;
  private closed = false;
  private readonly leases: SessionLeases;
  private readonly checkpointer?: SqliteCheckpointer;
  private readonly stmt: SqliteStatements;

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
      db.exec(`PRAGMA synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
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
    this.stmt = prepareStatements(db);
    const backend: LeaseBackend = {
      tryAcquire: async (key, owner, now, expiresAt) => {
        const taken = Number(this.stmt.takeLock.run(key, owner, expiresAt, now).changes) > 0;
        if (taken) this.checkpointer?.committed();
        return taken;
      },
      renew: async (key, owner, expiresAt) => (this.closed ? false : Number(this.stmt.renewLock.run(expiresAt, key, owner).changes) > 0),
      release: async (key, owner) => {
        if (!this.closed) this.stmt.releaseLock.run(key, owner);
      },
    };
    this.leases = new SessionLeases(backend, { leaseMs: options.lockLeaseMs ?? 30_000, maxPollMs: 50 });
    if (options.backgroundCheckpoints) this.checkpointer = new SqliteCheckpointer(db, file, { busyTimeoutMs, synchronous: options.durability === 'full' ? 'FULL' : 'NORMAL' });
  }

  lockSession(key: string, options: LockOptions): Promise<SessionLock> {
    this.assertOpen();
    return this.leases.lock(key, options);
  }

  async loadTranscript(key: string, options: LoadOptions = {}): Promise<Transcript> {
    this.assertOpen();
    const { lastMessages: limit, before } = options;
    const session = this.stmt.session.get(key) as Row | undefined;
    const total = session ? Number(session.message_count) : 0;
    const position = before === undefined ? total : Math.min(before, total);
    if (limit !== undefined && !(limit > 0)) return { messages: [], position };
    // SQLite: a negative LIMIT is no limit.
    const rows = this.stmt.tailArrays.all(key, before ?? Number.MAX_SAFE_INTEGER, limit === undefined ? -1 : Math.floor(limit)) as unknown as Array<[string, number, number]>;
    const messages = new Array<MessageRecord>(rows.length);
    for (let i = 0, last = rows.length - 1; i <= last; i++) {
      const [text, format, seq] = rows[i];
      messages[last - i] = format === RECORD_VERSION ? parseRecord(key, text, seq) : decodeMessage(key, { message: text, format, seq });
    }
    return { messages, position };
  }

  async appendTurn(key: string, turn: TurnRecord, options: AppendOptions): Promise<number> {
    this.assertOpen();
    const agentId = agentIdFromKey(key);
    const encoded = turn.messages.map((message) => JSON.stringify(message));
    const meta = JSON.stringify(turn.meta);
    const response = options.response ? responseRow(options.response) : undefined;
    const now = Date.now();
    const lockOwner = options.lock ? this.leases.ownerOf(options.lock) : undefined;
    const appended = this.transaction(() => {
      const position = options.expectedPosition;
      const advanced = this.stmt.advanceSession.get(encoded.length, now, key, position) as Row | undefined;
      let number: number;
      if (advanced) number = Number(advanced.turn_count);
      else {
        const existing = this.stmt.session.get(key) as Row | undefined;
        if (existing || position !== 0) throw new SessionConflictError(key, position, existing ? Number(existing.message_count) : 0);
        this.stmt.insertSession.run(key, agentId, now, now);
        number = 1;
        this.stmt.bumpSession.run(number, encoded.length, now, key);
      }
      let seq = position;
      for (const message of encoded) this.stmt.insertMessage.run(key, seq++, number, message, RECORD_VERSION);
      this.stmt.insertTurn.run(key, number, position, meta);
      if (response) this.stmt.putResponse.run(...response);
      // The run's last write: its lease goes with it (one commit fewer per run).
      if (lockOwner !== undefined) this.stmt.releaseLock.run(key, lockOwner);
      return seq;
    });
    if (lockOwner !== undefined) this.leases.leaseDropped(options.lock!);
    return appended;
  }

  async listTurns(key: string, options: { lastTurns?: number } = {}): Promise<StoredTurn[]> {
    this.assertOpen();
    const turnRows = (options.lastTurns === undefined ? this.stmt.turns.all(key) : this.stmt.lastTurns.all(key, options.lastTurns).reverse()) as Row[];
    if (turnRows.length === 0) return [];
    const byTurn = new Map<number, StoredTurn>();
    for (const row of turnRows) {
      byTurn.set(Number(row.turn), { turn: Number(row.turn), position: Number(row.position), messages: [], meta: parseMeta(row.meta) });
    }
    for (const row of this.stmt.turnMessages.all(key, Number(turnRows[0].turn)) as Row[]) {
      byTurn.get(Number(row.turn))?.messages.push(decodeMessage(key, row));
    }
    return [...byTurn.values()];
  }

  async copyTranscript(fromKey: string, toKey: string, upTo: number): Promise<number> {
    this.assertOpen();
    const agentId = agentIdFromKey(toKey);
    const now = Date.now();
    return this.transaction(() => {
      if (this.stmt.session.get(toKey)) throw new SessionConflictError(toKey, 0, Number((this.stmt.session.get(toKey) as Row).message_count));
      this.stmt.insertSession.run(toKey, agentId, now, now);
      this.db.prepare('INSERT INTO messages (session_key, seq, turn, message, format) SELECT ?, seq, turn, message, format FROM messages WHERE session_key = ? AND seq < ?').run(toKey, fromKey, upTo);
      this.db.prepare('INSERT INTO turns (session_key, turn, position, meta) SELECT ?, turn, position, meta FROM turns WHERE session_key = ? AND position < ?').run(toKey, fromKey, upTo);
      const counts = this.db.prepare('SELECT COUNT(*) AS messages, COALESCE(MAX(turn), 0) AS turns FROM messages WHERE session_key = ?').get(toKey) as Row;
      this.stmt.bumpSession.run(Number(counts.turns), Number(counts.messages), now, toKey);
      return Number(counts.messages);
    });
  }

  async getSession(key: string): Promise<SessionSummary | undefined> {
    this.assertOpen();
    const row = this.stmt.session.get(key) as Row | undefined;
    return row ? toSummary(row) : undefined;
  }

  async listSessions(filter: { agentId?: string } = {}): Promise<SessionSummary[]> {
    this.assertOpen();
    const rows = (filter.agentId === undefined ? this.stmt.list.all() : this.stmt.listByAgent.all(filter.agentId)) as Row[];
    return rows.map(toSummary);
  }

  async deleteSession(key: string): Promise<boolean> {
    this.assertOpen();
    return this.transaction(() => this.deleteOne(key));
  }

  async pruneSessions(updatedBefore: number): Promise<number> {
    this.assertOpen();
    const keys = (this.stmt.staleSessions.all(updatedBefore) as Row[]).map((row) => String(row.key));
    let deleted = 0;
    // One transaction per session: a long prune never holds the write lock for long.
    for (const key of keys) if (this.transaction(() => this.deleteOne(key))) deleted++;
    return deleted;
  }

  async putResponse(response: StoredResponse): Promise<void> {
    this.assertOpen();
    this.stmt.putResponse.run(...responseRow(response));
  }

  async getResponse(id: string): Promise<StoredResponse | undefined> {
    this.assertOpen();
    const row = this.stmt.getResponse.get(id) as Row | undefined;
    if (!row) return undefined;
    return decodeResponse(id, row);
  }

  /** Every stored response's id, oldest first (`openclaw sessions migrate` copies them). */
  async listResponseIds(): Promise<string[]> {
    this.assertOpen();
    return (this.db.prepare('SELECT id FROM responses ORDER BY created_at ASC, id ASC').all() as Row[]).map((row) => String(row.id));
  }

  async deleteResponse(id: string): Promise<boolean> {
    this.assertOpen();
    return Number(this.stmt.deleteResponse.run(id).changes) > 0;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    this.stmt.ping.get();
  }

  /** `synchronous` of this store's connection (a pragma per connection: another one does not see it). */
  async commitDurability(): Promise<string> {
    this.assertOpen();
    const level = Number((this.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous);
    return ['OFF', 'NORMAL', 'FULL', 'EXTRA'][level] ?? String(level);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The worker's connection closes last: SQLite checkpoints and removes the log when its last connection closes.
    this.db.close();
    await this.checkpointer?.close();
  }

  private deleteOne(key: string): boolean {
    this.stmt.deleteMessages.run(key);
    this.stmt.deleteTurns.run(key);
    this.stmt.deleteSessionResponses.run(key);
    return Number(this.stmt.deleteSession.run(key).changes) > 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The session store is closed.');
  }

  private transaction<T>(work: () => T): T {
    this.stmt.begin.run();
    try {
      const result = work();
      this.stmt.commit.run();
      this.checkpointer?.committed();
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.stmt.rollback.run();
      throw error;
    }
  }
}

function parseRecord(key: string, text: string, seq: number): MessageRecord {
  try {
    return parseStoredRecord(text);
  } catch (error) {
    throw new SessionCorruptError(key, `its stored message #${seq} is not valid JSON`, error);
  }
}
