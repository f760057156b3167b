// The statements the SQLite store runs again and again, prepared once when it opens: a statement
// is parsed once per connection, then only bound and stepped.
import type { DatabaseSync } from 'node:sqlite';

export type SqliteStatements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: DatabaseSync) {
  const columns = 'key, agent_id, created_at, updated_at, turn_count, message_count';
  const statements = {
    // Rows as arrays (no object per row) of the two columns a replay needs, newest first.
    tailArrays: db.prepare('SELECT message, format, seq FROM messages WHERE session_key = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    session: db.prepare(`SELECT ${columns} FROM sessions WHERE key = ?`),
    insertSession: db.prepare('INSERT INTO sessions (key, agent_id, created_at, updated_at, turn_count, message_count) VALUES (?, ?, ?, ?, 0, 0)'),
    insertMessage: db.prepare('INSERT INTO messages (session_key, seq, turn, message, format) VALUES (?, ?, ?, ?, ?)'),
    insertTurn: db.prepare('INSERT INTO turns (session_key, turn, position, meta) VALUES (?, ?, ?, ?)'),
    bumpSession: db.prepare('UPDATE sessions SET turn_count = ?, message_count = ?, updated_at = ? WHERE key = ?'),
    // The position check and the bump in one statement: the row is bumped only where the transcript still ends at the expected position.
    advanceSession: db.prepare('UPDATE sessions SET turn_count = turn_count + 1, message_count = message_count + ?1, updated_at = ?2 WHERE key = ?3 AND message_count = ?4 RETURNING turn_count'),
    turns: db.prepare('SELECT turn, position, meta FROM turns WHERE session_key = ? ORDER BY turn ASC'),
    lastTurns: db.prepare('SELECT turn, position, meta FROM turns WHERE session_key = ? ORDER BY turn DESC LIMIT ?'),
    turnMessages: db.prepare('SELECT seq, turn, message, format FROM messages WHERE session_key = ? AND turn >= ? ORDER BY seq ASC'),
    list: db.prepare(`SELECT ${columns} FROM sessions ORDER BY updated_at DESC, key ASC`),
    listByAgent: db.prepare(`SELECT ${columns} FROM sessions WHERE agent_id = ? ORDER BY updated_at DESC, key ASC`),
    deleteMessages: db.prepare('DELETE FROM messages WHERE session_key = ?'),
    deleteTurns: db.prepare('DELETE FROM turns WHERE session_key = ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE key = ?'),
    deleteSessionResponses: db.prepare('DELETE FROM responses WHERE session_key = ?'),
    staleSessions: db.prepare('SELECT key FROM sessions WHERE updated_at < ?'),
    // Taken when free, lapsed or already ours: one statement is atomic on its own, so no transaction around it.
    takeLock: db.prepare(
      'INSERT INTO session_locks (key, owner, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE session_locks.owner = excluded.owner OR session_locks.expires_at <= ?4',
    ),
    renewLock: db.prepare('UPDATE session_locks SET expires_at = ? WHERE key = ? AND owner = ?'),
    releaseLock: db.prepare('DELETE FROM session_locks WHERE key = ? AND owner = ?'),
    putResponse: db.prepare(
      'INSERT OR REPLACE INTO responses (id, agent_id, session_key, position, previous_response_id, created_at, input, output, meta, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getResponse: db.prepare('SELECT * FROM responses WHERE id = ?'),
    deleteResponse: db.prepare('DELETE FROM responses WHERE id = ?'),
    ping: db.prepare('SELECT 1 AS ok'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
  };
  statements.tailArrays.setReturnArrays(true);
  return statements;
}
