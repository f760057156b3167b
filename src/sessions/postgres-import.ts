// The PostgreSQL side of `openclaw sessions migrate`: a session read from another store goes in
// whole, in one transaction, with its turns' meta and its own timestamps, or not at all.
import { RECORD_VERSION } from '../records/record.ts';
import type { SqlClient } from './sql-client.ts';
import type { SessionSummary, StoredTurn } from './store.ts';

/** False, and nothing written, when the database has the session already. */
export async function insertImportedSession(sql: SqlClient, summary: SessionSummary, turns: StoredTurn[]): Promise<boolean> {
  const messageCount = turns.reduce((sum, turn) => sum + turn.messages.length, 0);
  return sql.transaction(async (tx) => {
    const created = await tx.query(
      `INSERT INTO sessions (key, agent_id, created_at, updated_at, turn_count, message_count) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (key) DO NOTHING RETURNING key`,
      [summary.key, summary.agentId, summary.createdAt, summary.updatedAt, turns.at(-1)?.turn ?? 0, messageCount],
    );
    if (created.rowCount === 0) return false;
    for (const turn of turns) {
      await tx.query('INSERT INTO turns (session_key, turn, position, meta) VALUES ($1, $2, $3, $4)', [summary.key, turn.turn, turn.position, JSON.stringify(turn.meta)]);
      await tx.query(
        `INSERT INTO messages (session_key, seq, turn, message, format)
             SELECT $1, $2 + u.ord - 1, $3, u.message, $5 FROM unnest($4::text[]) WITH ORDINALITY AS u(message, ord)`,
        [summary.key, turn.position, turn.turn, turn.messages.map((message) => JSON.stringify(message)), RECORD_VERSION],
      );
    }
    return true;
  });
}
