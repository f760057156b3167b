import type { MessageRecord, TurnMeta, TurnRecord } from '../records/record.ts';

// Where transcripts live. The run core depends only on this interface; the embedded SQLite store
// and a shared PostgreSQL store implement it, and one conformance suite runs against both.

export interface SessionSummary {
  key: string;
  agentId: string;
  turnCount: number;
  messageCount: number;
  createdAt: number;
  updatedAt: number;
}

/** A transcript as loaded: its messages (oldest first) and the position it ends at. */
export interface Transcript {
  messages: MessageRecord[];
  /**
   * How many messages the session holds in all (the tail loaded may be shorter). An append states
   * the position it was built on; a transcript that moved since is refused, never forked.
   */
  position: number;
}

export interface LoadOptions {
  /** Only the most recent N messages (the tail the model needs); the store must not read the rest. */
  lastMessages?: number;
  /** Only messages before this position: the conversation as it stood at an earlier point. */
  before?: number;
}

export interface AppendOptions {
  expectedPosition: number;
  /**
   * The session's lock, when this is the run's last write: the store may let go of its lease in
   * the same write (the lock's `release()` must still be called; it then only frees the session
   * for this process's next run). A store that does not may ignore it.
   */
  lock?: SessionLock;
  /** The Responses API response this turn produced (its `position` is the one after the turn). */
  response?: StoredResponse;
}

export interface StoredTurn {
  turn: number;
  /** Position of the turn's first message. */
  position: number;
  messages: MessageRecord[];
  meta: TurnMeta;
}

export interface LockOptions {
  /** Give up (SessionBusyError) after waiting this long for another run to finish. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The right to run on one session: held by one run at a time across every process that shares
 * the store. A lock is a lease: it is renewed while held and lapses on its own when its holder
 * dies, so a killed process never blocks a session for longer than the lease.
 */
export interface SessionLock {
  readonly key: string;
  /** Aborted when the lease was lost (it lapsed, or another holder took it over). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** A Responses API response kept for retrieval and continuation, in the gateway's own terms. */
export interface StoredResponse {
  id: string;
  agentId: string;
  /** The session holding the conversation this response belongs to. */
  sessionKey: string;
  /** Transcript position just after this response's output: its conversation is everything before it. */
  position: number;
  previousResponseId: string | null;
  createdAt: number;
  /** The items the request added, as records. */
  input: MessageRecord[];
  /** The items the response produced, as records. */
  output: MessageRecord[];
  meta: TurnMeta;
  /** Fields the wire format echoes back that are no record (instructions, metadata, sampling…), as JSON. */
  extra: Record<string, unknown>;
}

export interface PoolStats {
  /** Connections open (busy or idle). */
  total: number;
  idle: number;
  /** Callers waiting for a connection because all `max` are busy. */
  waiting: number;
  max: number;
}

export interface SessionStore {
  /** `sqlite` or `postgres`, for /ready and logs. */
  readonly driver: string;

  lockSession(key: string, options: LockOptions): Promise<SessionLock>;

  loadTranscript(key: string, options?: LoadOptions): Promise<Transcript>;
  /**
   * Appends one turn atomically (all of its messages and its meta, or nothing), only if the
   * transcript still ends at `expectedPosition` (else SessionConflictError). Resolves with the
   * position after the turn. `response`, when given, is stored in the same write (`putResponse`):
   * a turn and the response it produced are kept together or not at all.
   */
  appendTurn(key: string, turn: TurnRecord, options: AppendOptions): Promise<number>;
  /** Turns with their meta, oldest first (`openclaw sessions show`). */
  listTurns(key: string, options?: { lastTurns?: number }): Promise<StoredTurn[]>;
  /** Starts `toKey` (which must not exist) as a copy of `fromKey`'s first `upTo` messages; resolves with its position. */
  copyTranscript(fromKey: string, toKey: string, upTo: number): Promise<number>;

  getSession(key: string): Promise<SessionSummary | undefined>;
  listSessions(filter?: { agentId?: string }): Promise<SessionSummary[]>;
  deleteSession(key: string): Promise<boolean>;
  /** Deletes sessions not updated since `updatedBefore` (epoch ms), with their responses; resolves with how many. */
  pruneSessions(updatedBefore: number): Promise<number>;

  putResponse(response: StoredResponse): Promise<void>;
  getResponse(id: string): Promise<StoredResponse | undefined>;
  deleteResponse(id: string): Promise<boolean>;

  /** Cheap reachability check for /ready. */
  ping(): Promise<void>;
  /**
   * The commit durability the store's connections run with, as the database names it (SQLite's
   * `synchronous`, PostgreSQL's `synchronous_commit`): what `sessions.durability` came to.
   */
  commitDurability?(): Promise<string>;
  /** Connection pool figures, for drivers that keep a pool (metrics). */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

const KEY_PATTERN = /^agent:([^:]+):./;

/** `agent:<agentId>:<rest>` → agentId. */
export function agentIdFromKey(key: string): string {
  const match = KEY_PATTERN.exec(key);
  if (!match) throw new Error(`Session key "${key}" is not of the form agent:<agentId>:<key>.`);
  return match[1];
}
