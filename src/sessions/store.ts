import type { ChatMessage } from '../agents/messages.ts';

export interface SessionSummary {
  key: string;
  agentId: string;
  turnCount: number;
  messageCount: number;
  createdAt: number;
  updatedAt: number;
}

export interface LoadOptions {
  /** Only the most recent N messages (the tail the model needs); the store must not read the rest. */
  lastMessages?: number;
}

/**
 * Where transcripts live. The run code depends only on this interface, so a Postgres store can
 * replace the embedded SQLite one without touching it.
 */
export interface SessionStore {
  /** The transcript's messages in order (oldest first). */
  loadTranscript(key: string, options?: LoadOptions): Promise<ChatMessage[]>;
  /** Appends one turn's messages atomically: all of them land, or none. */
  appendTurn(key: string, messages: ChatMessage[]): Promise<void>;
  listSessions(filter?: { agentId?: string }): Promise<SessionSummary[]>;
  deleteSession(key: string): Promise<boolean>;
  /** Cheap reachability check for /ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
