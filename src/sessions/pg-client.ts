// The PostgreSQL client the session store runs on: node-postgres (`pg`, pure JS), chosen over
// `postgres` (porsager) on the store benchmark (bench/RESULTS.md, "PostgreSQL session store").
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { PoolStats } from './store.ts';
import type { SqlClient, SqlClientOptions, SqlQueryable, SqlResult } from './sql-client.ts';

export class PgClient implements SqlClient {
  readonly library = 'pg';
  private readonly pool: pg.Pool;
  private readonly max: number;
  /** Statement text → prepared-statement name: each connection parses a statement once, then only binds. */
  private readonly names = new Map<string, string>();

  constructor(options: SqlClientOptions, onIdleError: (error: Error) => void) {
    this.max = options.poolSize;
    this.pool = new pg.Pool({
      connectionString: options.durability === 'full' ? withSynchronousCommit(options.url) : options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      query_timeout: options.queryTimeoutMs,
      application_name: options.applicationName,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection the server dropped (a restart) is reported here; without a listener it
    // would be an uncaught 'error' event and end the process. The pool replaces it on next use.
    this.pool.on('error', onIdleError);
  }

  query<Row = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    return run<Row>(this.pool, this.statement(text, params));
  }

  async script(text: string): Promise<void> {
    await this.pool.query(text);
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const tx: SqlQueryable = {
        query: <Row>(text: string, params: readonly unknown[] = []) => run<Row>(client, this.statement(text, params)),
        script: async (text: string) => {
          await client.query(text);
        },
      };
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is gone or unusable: it must not go back into the pool.
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  poolStats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount, max: this.max };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private statement(text: string, params: readonly unknown[]): pg.QueryConfig {
    let name = this.names.get(text);
    if (!name) {
      name = `oc_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
      this.names.set(text, name);
    }
    return { name, text, values: params as unknown[] };
  }
}

async function run<Row>(target: pg.Pool | pg.PoolClient, statement: pg.QueryConfig): Promise<SqlResult<Row>> {
  const result = await target.query(statement);
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
}

/** The default client factory of the PostgreSQL store (loaded on demand: see PostgresSessionStore.open). */
export const pgClient = (options: SqlClientOptions, onIdleError: (error: Error) => void): SqlClient => new PgClient(options, onIdleError);

/**
 * `durability: full`: every connection starts with `synchronous_commit = on`, as a startup option
 * (so no commit can run before it, and no query is sent beside the one the connection was opened
 * for, which pg deprecates), added to any `options` the URL already gives: pg lets the URL's
 * parameters win over the config's.
 */
function withSynchronousCommit(url: string): string {
  const parsed = new URL(url);
  const given = parsed.searchParams.get('options');
  parsed.searchParams.set('options', given ? `${given} -c synchronous_commit=on` : '-c synchronous_commit=on');
  return parsed.toString();
}
