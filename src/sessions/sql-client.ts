// What the PostgreSQL session store needs from a client library: parameterized queries, a
// transaction on one connection, pool figures, and a way to tell "the database is not there" from
// "the statement is wrong". The store is written against this, so the client library is one
// adapter (src/sessions/pg-client.ts); bench/store.ts measured the candidates through the same seam.
import type { PoolStats } from './store.ts';

export interface SqlResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlQueryable {
  /** One statement, parameterized ($1, $2…), prepared once per connection. */
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>>;
  /** Several statements without parameters (a migration's DDL). */
  script(text: string): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  readonly library: string;
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export interface SqlClientOptions {
  url: string;
  poolSize: number;
  /** How long a query may wait for a connection before failing (the database is then unreachable). */
  connectTimeoutMs: number;
  /** Client-side bound on one query, so a database that stops answering fails requests instead of hanging them. */
  queryTimeoutMs: number;
  applicationName: string;
  /**
   * `full`: every connection runs with `synchronous_commit = on` whatever the database's setting
   * (a commit returns once its WAL is flushed). `normal` or unset: the database's own setting.
   */
  durability?: 'normal' | 'full';
}

/**
 * SQLSTATE classes meaning the database cannot serve now (as opposed to a statement it refused):
 * 08 connection exception, 57P01–57P03 shutting down / starting up, 53 out of resources.
 */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53)/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * True when `error` says the database could not be reached or went away: a socket error, a
 * connection the server closed, a connect or query timeout, or a server that is shutting down.
 * An error carrying any other SQLSTATE came from a server that answered: a bug, not an outage.
 */
export function isUnavailableError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && SQLSTATE.test(code)) return UNAVAILABLE_SQLSTATE.test(code);
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ENOTFOUND…
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && /connection terminated|timeout exceeded when trying to connect|query read timeout|connection (?:is )?(?:closed|ended)|not queryable|CONNECTION_(?:CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT/i.test(message);
}
