// The other PostgreSQL client measured for the session store: `postgres` (porsager), behind the
// same seam as the one the store ships with (src/sessions/sql-client.ts). Only the benchmark uses
// it: `node bench/store.ts --driver postgres --client postgres`.
import postgres from 'postgres';
import type { PoolStats } from '../src/sessions/store.ts';
import type { SqlClient, SqlClientOptions, SqlQueryable, SqlResult } from '../src/sessions/sql-client.ts';

export class PostgresJsClient implements SqlClient {
  readonly library = 'postgres';
  private readonly sql: postgres.Sql;
  private readonly max: number;

  constructor(options: SqlClientOptions) {
    this.max = options.poolSize;
    this.sql = postgres(options.url, {
      max: options.poolSize,
      connect_timeout: Math.ceil(options.connectTimeoutMs / 1000),
      prepare: true,
      onnotice: () => undefined,
      connection: { application_name: options.applicationName },
    });
  }

  query<Row = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    return run<Row>(this.sql, text, params);
  }

  async script(text: string): Promise<void> {
    await this.sql.unsafe(text);
  }

  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.sql.begin((tx) =>
      work({
        query: <Row>(text: string, params: readonly unknown[] = []) => run<Row>(tx, text, params),
        script: async (text: string) => {
          await tx.unsafe(text);
        },
      }),
    ) as Promise<T>;
  }

  poolStats(): PoolStats {
    // postgres.js does not expose its pool's state.
    return { total: 0, idle: 0, waiting: 0, max: this.max };
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

async function run<Row>(sql: postgres.Sql | postgres.TransactionSql, text: string, params: readonly unknown[]): Promise<SqlResult<Row>> {
  const result = await sql.unsafe(text, params as never[], { prepare: true });
  return { rows: [...result] as Row[], rowCount: result.count ?? result.length };
}
