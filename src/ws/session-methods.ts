import { NotFoundError } from '../errors.ts';
import { toUpstreamMessage } from '../records/chat-completions.ts';
import type { SessionStore } from '../sessions/store.ts';
import { sendResponse, type Connection } from './connection.ts';
import type { RequestFrame } from './frames.ts';

/** `sessions.list`: the stored sessions, of one agent when the frame names it; none on a gateway that keeps no sessions. */
export async function listSessions(conn: Connection, frame: RequestFrame, store: SessionStore | undefined): Promise<void> {
  const { agent } = (frame.params ?? {}) as { agent?: string };
  const sessions = store ? await store.listSessions(agent ? { agentId: agent.toLowerCase() } : undefined) : [];
  sendResponse(conn, frame.id, undefined, { sessions });
}

/** `sessions.history`: a session's transcript, or its last `limit` messages. */
export async function sessionHistory(conn: Connection, frame: RequestFrame, store: SessionStore | undefined): Promise<void> {
  const { key, limit } = frame.params as { key: string; limit?: number };
  if (!store) throw new NotFoundError(`No session ${key}: this gateway keeps no sessions.`, { param: 'params.key', code: 'session_not_found' });
  if (!(await store.getSession(key))) throw new NotFoundError(`No session ${key}.`, { param: 'params.key', code: 'session_not_found' });
  const transcript = await store.loadTranscript(key, limit ? { lastMessages: limit } : undefined);
  // Messages in the shape agent.run takes them (chat messages), so a client can resend history.
  sendResponse(conn, frame.id, undefined, { key, messages: transcript.messages.map((message) => toUpstreamMessage(message)) });
}
