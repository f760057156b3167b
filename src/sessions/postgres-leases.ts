// The session lock's lease rows in PostgreSQL (the protocol is src/sessions/lease.ts). Expiries are
// written and compared on the database's clock, so replicas whose clocks disagree still agree on
// when a lease lapsed.
import type { LeaseBackend } from './lease.ts';
import { guardUnavailable } from './postgres-failures.ts';
import type { SqlClient } from './sql-client.ts';

/** The database's clock in epoch ms: lease expiries are compared on one clock, whatever the replicas' clocks say. */
const DB_NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export interface PostgresLeaseRows {
  sql: SqlClient;
  leaseMs: number;
  /** True once the store is closed: renewing and releasing then do nothing. */
  isClosed: () => boolean;
}

export function postgresLeaseBackend({ sql, leaseMs, isClosed }: PostgresLeaseRows): LeaseBackend {
  return {
    // Taken when free, lapsed, or already ours; one statement, so two replicas never both win.
    tryAcquire: (key, owner, now, expiresAt) =>
      guardUnavailable(async () => {
        const result = await sql.query(
          `INSERT INTO session_locks (key, owner, expires_at) VALUES ($1, $2, ${DB_NOW_MS} + $3)
             ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
             WHERE session_locks.expires_at <= ${DB_NOW_MS} OR session_locks.owner = EXCLUDED.owner
             RETURNING 1`,
          [key, owner, Math.max(0, expiresAt - now)],
        );
        return result.rowCount > 0;
      }),
    renew: async (key, owner) => {
      if (isClosed()) return false;
      const result = await guardUnavailable(() => sql.query(`UPDATE session_locks SET expires_at = ${DB_NOW_MS} + $3 WHERE key = $1 AND owner = $2`, [key, owner, leaseMs]));
      return result.rowCount > 0;
    },
    release: async (key, owner) => {
      if (isClosed()) return;
      await guardUnavailable(() => sql.query('DELETE FROM session_locks WHERE key = $1 AND owner = $2', [key, owner]));
    },
  };
}
