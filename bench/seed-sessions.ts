// Sessions with a given number of turns, written straight into a gateway's SQLite store before the
// stateful cells: one session filled turn by turn, then copied (one statement per copy) to the rest.
import { parseConfig } from '../src/config/load.ts';
import type { MessageRecord } from '../src/records/record.ts';
import { openSessionStore } from '../src/sessions/open.ts';

const FILLER = 'The quick brown fox jumps over the lazy dog. '.repeat(6);

/** A turn the size of a short chat exchange: a ≈280-character question, a ≈550-character answer. */
function turn(i: number): MessageRecord[] {
  return [
    { role: 'user', content: [{ type: 'text', text: `question ${i}: ${FILLER}` }] },
    { role: 'assistant', content: [{ type: 'text', text: `answer ${i}: ${FILLER}${FILLER}` }] },
  ];
}

/** The `user` value that names a seeded session in a request. */
export const seededUser = (name: string, index: number) => `${name}-${index}`;

/**
 * Seeds `count` sessions of agent `main` with `turns` turns each, in the store `sessions.store`
 * names (SQLite in `stateDir`, or PostgreSQL); resolves with the time it took.
 */
export async function seedSessions(stateDir: string, storeConfig: Record<string, unknown>, name: string, count: number, turns: number): Promise<number> {
  const started = performance.now();
  const store = await openSessionStore(parseConfig({ sessions: { store: storeConfig } }, {}), stateDir);
  try {
    const key = (index: number) => `agent:main:openai-user:${seededUser(name, index)}`;
    let position = 0;
    for (let i = 0; i < turns; i++) {
      position = await store.appendTurn(key(0), { messages: turn(i), meta: { requestId: `seed-${i}`, model: 'up/bench', outcome: 'completed' } }, { expectedPosition: position });
    }
    for (let index = 1; index < count; index++) await store.copyTranscript(key(0), key(index), position);
  } finally {
    await store.close();
  }
  return performance.now() - started;
}
