// Reads a stored transcript back in the Chat Completions shape the tests send, so assertions can
// say what a client would recognize.
import { toUpstreamMessage, type UpstreamChatMessage } from '../../src/records/chat-completions.ts';
import type { SessionStore } from '../../src/sessions/store.ts';

export async function chatTranscript(store: SessionStore, key: string, options: { lastMessages?: number } = {}): Promise<UpstreamChatMessage[]> {
  const { messages } = await store.loadTranscript(key, options);
  return messages.map((message) => toUpstreamMessage(message));
}
