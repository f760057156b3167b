// Rows of the session tables as both SQL stores read them back: the same columns, the same formats.
import { fromChatMessage, type ChatMessage } from '../records/chat-completions.ts';
import { RECORD_VERSION, type MessageRecord, type TurnMeta } from '../records/record.ts';
import { parseStoredRecord } from '../records/upstream-json.ts';
import { SessionCorruptError } from './errors.ts';
import type { SessionSummary, StoredResponse } from './store.ts';

export type Row = Record<string, unknown>;

/** A stored message: the gateway's record, or a first-release chat message the migration could not convert. */
export function decodeMessage(key: string, row: Row): MessageRecord {
  const format = Number(row.format);
  let parsed: unknown;
  const text = String(row.message);
  try {
    parsed = format === RECORD_VERSION ? parseStoredRecord(text) : JSON.parse(text);
  } catch (error) {
    throw new SessionCorruptError(key, `its stored message #${String(row.seq)} is not valid JSON`, error);
  }
  if (format === RECORD_VERSION) return parsed as MessageRecord;
  if (format === 1 && parsed && typeof parsed === 'object') return fromChatMessage(parsed as ChatMessage);
  throw new SessionCorruptError(key, `its stored message #${String(row.seq)} is in an unknown format (${format})`);
}

/** A turn's meta; unreadable meta is no meta (it describes the turn, the transcript does not depend on it). */
export function parseMeta(text: unknown): TurnMeta {
  try {
    return JSON.parse(String(text)) as TurnMeta;
  } catch {
    return {};
  }
}

export function toSummary(row: Row): SessionSummary {
  return {
    key: String(row.key),
    agentId: String(row.agent_id),
    turnCount: Number(row.turn_count),
    messageCount: Number(row.message_count),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** A stored response row; one that cannot be read is that session's corruption, not the store's. */
export function decodeResponse(id: string, row: Row): StoredResponse {
  try {
    return {
      id: String(row.id),
      agentId: String(row.agent_id),
      sessionKey: String(row.session_key),
      position: Number(row.position),
      previousResponseId: row.previous_response_id === null ? null : String(row.previous_response_id),
      createdAt: Number(row.created_at),
      input: JSON.parse(String(row.input)) as MessageRecord[],
      output: JSON.parse(String(row.output)) as MessageRecord[],
      meta: JSON.parse(String(row.meta)) as TurnMeta,
      extra: JSON.parse(String(row.extra)) as Record<string, unknown>,
    };
  } catch (error) {
    throw new SessionCorruptError(String(row.session_key), `its stored response ${id} is not valid JSON`, error);
  }
}
