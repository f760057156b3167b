// A turn appended to a PostgreSQL session in one statement: the session row bumped (or created),
// the turn's messages, its meta, the response it produced and the release of the run's lease,
// together or not at all. The caller reads "nothing appended" as a conflict.
import { RECORD_VERSION, type TurnRecord } from '../records/record.ts';
import { RESPONSE_COLUMNS, upsertResponse } from './postgres-response-rows.ts';
import { responseRow } from './response-row.ts';
import type { SqlQueryable, SqlResult } from './sql-client.ts';
import { agentIdFromKey, type StoredResponse } from './store.ts';

export interface TurnAppend {
  /** The position the transcript must still end at. */
  expectedPosition: number;
  /** Stored with the turn, in the same statement. */
  response?: StoredResponse;
  /** The run's lease row, deleted in the same statement when the turn goes in. */
  lockOwner?: string;
}

/** One row with the session's new `message_count` when the turn went in; none when the session had moved on. */
export async function appendTurnRows(sql: SqlQueryable, key: string, turn: TurnRecord, append: TurnAppend): Promise<SqlResult<Record<string, unknown>>> {
  const agentId = agentIdFromKey(key);
  const encoded = turn.messages.map((message) => JSON.stringify(message));
  const meta = JSON.stringify(turn.meta);
  const now = Date.now();
  const expected = append.expectedPosition;
  const params = [key, expected, encoded, meta, now, RECORD_VERSION];
  const response = append.response ? responseRow(append.response) : [];
  const lockOwner = append.lockOwner;
  const owner = lockOwner === undefined ? [] : [lockOwner];
  // The session row is bumped only where it still ends at `expected`; its row lock makes a
  // concurrent append wait, then find the position moved. Messages, turn and the response the
  // turn produced go in the same statement, so a turn is stored whole (with its response) or
  // not at all. `first` is the number of the response's first parameter.
  const inserts = (first: number) => `
      , added AS (
        INSERT INTO messages (session_key, seq, turn, message, format)
        SELECT $1, $2 + u.ord - 1, s.turn_count, u.message, $6 FROM s, unnest($3::text[]) WITH ORDINALITY AS u(message, ord)
      ), turn AS (
        INSERT INTO turns (session_key, turn, position, meta) SELECT $1, s.turn_count, $2, $4 FROM s
      )${append.response ? `, response AS (${upsertResponse(`SELECT ${RESPONSE_COLUMNS.map((column, i) => `$${first + i}::${column.type}`).join(', ')} FROM s`)})` : ''}${
        // The run's last write: its lease goes with it, only if the turn went in.
        lockOwner === undefined ? '' : `, unlocked AS (DELETE FROM session_locks WHERE key = $1 AND owner = $${first + response.length} AND EXISTS (SELECT 1 FROM s))`
      }
      SELECT message_count FROM s`;
  const bumped = await sql.query(
    `WITH s AS (
           UPDATE sessions SET turn_count = turn_count + 1, message_count = message_count + cardinality($3::text[]), updated_at = $5
            WHERE key = $1 AND message_count = $2
            RETURNING turn_count, message_count
         )${inserts(params.length + 1)}`,
    [...params, ...response, ...owner],
  );
  if (bumped.rowCount > 0 || expected !== 0) return bumped;
  return sql.query(
    `WITH s AS (
           INSERT INTO sessions (key, agent_id, created_at, updated_at, turn_count, message_count)
           VALUES ($1, $7, $5, $5, 1, cardinality($3::text[]))
           ON CONFLICT (key) DO NOTHING
           RETURNING turn_count, message_count
         )${inserts(params.length + 2)}`,
    [...params, agentId, ...response, ...owner],
  );
}
