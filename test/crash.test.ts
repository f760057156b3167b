// Crash consistency: `openclaw gateway` killed with SIGKILL in the middle of concurrent stateful
// writes, round after round, on SQLite and on PostgreSQL. After every kill the store is opened as
// the next start would open it and checked: the database intact, every session's transcript
// well formed (turns numbered and positioned without gaps, each a question with its whole answer
// or a question alone marked unfinished, none half stored, none twice), and every reply a client
// received in full is there (a crash of the process loses nothing committed). After the last
// round the gateway starts on the store and serves every session from its stored history.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { contentText } from '../src/records/record.ts';
import { PostgresSessionStore } from '../src/sessions/postgres-store.ts';
import { SESSIONS_DB_FILE, SqliteSessionStore } from '../src/sessions/sqlite-store.ts';
import type { SessionStore } from '../src/sessions/store.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { sseEvents } from './helpers/gateway.ts';
import { checkPostgres, createTestDatabase, type TestDatabase } from './helpers/services.ts';

const ROUNDS = 6;
/** Writers per round: one per session, and two more sharing one session (they take turns on its lock). */
const SESSIONS = ['s1', 's2', 's3', 's4', 's5', 's6'];
const SHARED = 'shared';
const answer = (question: string) => `re: ${question}`;

interface Driver {
  name: string;
  store(dir: string): Record<string, unknown>;
  open(dir: string): Promise<SessionStore>;
  /** What the database itself says of its consistency (SQLite's integrity check), or nothing to add. */
  integrity?(dir: string): string;
  cleanup(): Promise<void>;
}

const sqlite: Driver = {
  name: 'sqlite',
  store: () => ({ driver: 'sqlite' }),
  open: async (dir) => new SqliteSessionStore(join(dir, 'state', SESSIONS_DB_FILE)),
  integrity(dir) {
    const db = new DatabaseSync(join(dir, 'state', SESSIONS_DB_FILE));
    try {
      return (db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>).map((row) => row.integrity_check).join('; ');
    } finally {
      db.close();
    }
  },
  cleanup: async () => undefined,
};

const postgres = await checkPostgres();
let database: TestDatabase | undefined;
const postgresDriver: Driver = {
  name: 'postgres',
  store: () => ({ driver: 'postgres', url: database!.url, poolSize: 4 }),
  open: () => PostgresSessionStore.open({ url: database!.url, poolSize: 2 }),
  async cleanup() {
    await database?.drop();
  },
};

let upstream: FakeUpstream | undefined;
afterAll(async () => {
  await upstream?.close();
  await postgresDriver.cleanup();
});

/** One stateful request; resolves with true when the client got the whole answer (the gateway had stored it), false or a rejection otherwise. */
async function ask(gateway: GatewayProcess, session: string, question: string, stream: boolean): Promise<boolean> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', stream, user: session, messages: [{ role: 'user', content: question }] }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`);
  if (!stream) return JSON.parse(text).choices[0].message.content === answer(question);
  const events = sseEvents(text);
  if (events.at(-1)?.data !== '[DONE]') return false;
  return events.map((event) => (event.data === '[DONE]' ? '' : (event.data.choices?.[0]?.delta?.content ?? ''))).join('') === answer(question);
}

/** Checks one session and returns the questions it holds (and those stored with their answer); throws with what is wrong. */
async function checkSession(store: SessionStore, key: string): Promise<{ questions: string[]; answered: string[] }> {
  const summary = await store.getSession(key);
  const turns = await store.listTurns(key);
  const transcript = await store.loadTranscript(key);
  const problems: string[] = [];
  if (!summary) problems.push('no session row');
  if (summary && summary.turnCount !== turns.length) problems.push(`turnCount ${summary.turnCount}, ${turns.length} turns`);
  if (summary && summary.messageCount !== transcript.messages.length) problems.push(`messageCount ${summary.messageCount}, ${transcript.messages.length} messages`);
  let position = 0;
  const questions: string[] = [];
  const answered: string[] = [];
  turns.forEach((turn, i) => {
    const where = `turn ${turn.turn}`;
    if (turn.turn !== i + 1) problems.push(`${where} where ${i + 1} belongs`);
    if (turn.position !== position) problems.push(`${where} at position ${turn.position}, expected ${position}`);
    position += turn.messages.length;
    const [question, reply, ...rest] = turn.messages;
    if (question?.role !== 'user' || rest.length > 0) problems.push(`${where}: ${turn.messages.map((m) => m.role).join(',')} is not a question and its answer`);
    const asked = question ? contentText(question.content) : '';
    questions.push(asked);
    if (reply) {
      answered.push(asked);
      if (reply.role !== 'assistant' || contentText(reply.content) !== answer(asked)) problems.push(`${where}: half or wrong answer ${JSON.stringify(contentText(reply.content))} to ${JSON.stringify(asked)}`);
      if (turn.meta.outcome !== 'completed') problems.push(`${where}: an answer stored with outcome ${turn.meta.outcome}`);
    } else if (turn.meta.outcome === 'completed') problems.push(`${where}: completed without its answer`);
  });
  if (position !== transcript.messages.length) problems.push(`turns hold ${position} messages, the transcript ${transcript.messages.length}`);
  const stored = turns.flatMap((turn) => turn.messages);
  if (JSON.stringify(stored) !== JSON.stringify(transcript.messages)) problems.push('the turns and the transcript differ');
  if (new Set(questions).size !== questions.length) problems.push('a question stored twice');
  if (problems.length > 0) throw new Error(`session ${key}: ${problems.join('; ')}`);
  return { questions, answered };
}

const drivers = [sqlite, ...(postgres.skip ? [] : [postgresDriver])];

describe.each(drivers)('gateway killed mid-write ($name)', (driver) => {
  it(`${ROUNDS} rounds of SIGKILL during concurrent stateful writes leave a consistent store that loses nothing acknowledged`, async () => {
    if (driver === postgresDriver) {
      if (postgres.problem) throw new Error(postgres.problem);
      database = await createTestDatabase('crash');
    }
    upstream ??= await startFakeUpstream((request) => {
      const question = String(request.body?.messages?.at(-1)?.content ?? '');
      return { kind: 'text', text: answer(question), chunks: 4, chunkDelayMs: 2 };
    });
    const dir = mkdtempSync(join(tmpdir(), `openclaw-crash-${driver.name}-`));
    const config = {
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'up/fake-model' } },
      // A killed gateway leaves its leases behind: the next one waits this long for them at most.
      // The whole history is replayed (the last check compares it with the store).
      sessions: { store: driver.store(dir), lockLeaseMs: 1_000, maxHistoryMessages: 100_000 },
    };
    /** Questions whose whole answer a client received, by session key. */
    const acknowledged = new Map<string, Set<string>>();
    const keys = [...SESSIONS, SHARED].map((session) => `agent:main:openai-user:${session}`);
    let acked = 0;
    let stats = { answered: 0, unfinished: 0 };
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const gateway = await startGatewayProcess(config, { dir });
        let killed = false;
        const writer = async (session: string, label: string, offset: number) => {
          for (let n = 0; !killed; n++) {
            const question = `${label} round ${round} question ${n}`;
            try {
              if (await ask(gateway, session, question, (n + offset) % 2 === 0)) {
                let set = acknowledged.get(`agent:main:openai-user:${session}`);
                if (!set) acknowledged.set(`agent:main:openai-user:${session}`, (set = new Set()));
                set.add(question);
                acked++;
              }
            } catch (error) {
              if (!killed) throw error;
              return;
            }
          }
        };
        const writers = [...SESSIONS.map((session, i) => writer(session, session, i)), writer(SHARED, 'shared-a', 0), writer(SHARED, 'shared-b', 1)];
        // The kill lands once writes are flowing, at a different point of them each round.
        const before = acked;
        let failed: unknown;
        const allEnded = Promise.all(writers).catch((error: unknown) => (failed = error));
        while (acked < before + 10 + round * 3 && failed === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
        if (failed !== undefined) throw failed;
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 40)));
        killed = true;
        gateway.child.kill('SIGKILL');
        await gateway.stop();
        await allEnded;
        if (failed !== undefined) throw failed;

        if (driver.integrity) expect(driver.integrity(dir)).toBe('ok');
        const store = await driver.open(dir);
        try {
          // A session whose first turn had not committed when the kill came does not exist yet.
          const listed = (await store.listSessions()).map((session) => session.key);
          expect(listed.filter((key) => !keys.includes(key))).toEqual([]);
          expect([...acknowledged.keys()].filter((key) => !listed.includes(key))).toEqual([]);
          stats = { answered: 0, unfinished: 0 };
          for (const key of listed) {
            const checked = await checkSession(store, key);
            const questions = new Set(checked.questions);
            stats.answered += checked.answered.length;
            stats.unfinished += checked.questions.length - checked.answered.length;
            const missing = [...(acknowledged.get(key) ?? [])].filter((question) => !questions.has(question));
            expect({ key, missing }).toEqual({ key, missing: [] });
          }
        } finally {
          await store.close();
        }
      }
      console.log(
        `crash (${driver.name}): ${ROUNDS} kills with ${SESSIONS.length + 2} stateful runs in flight each time; ${acked} answers acknowledged, all stored; ` +
          `${stats.answered} answers stored (${stats.answered - acked} committed but never delivered: killed between the commit and the reply), ${stats.unfinished} questions stored without an answer`,
      );

      // The gateway starts on what the kills left and serves every session from its history.
      const gateway = await startGatewayProcess(config, { dir });
      try {
        const store = await driver.open(dir);
        const before = new Map<string, number>();
        try {
          for (const key of keys) before.set(key, (await store.loadTranscript(key)).position);
        } finally {
          await store.close();
        }
        for (const session of [...SESSIONS, SHARED]) {
          upstream.requests.length = 0;
          expect(await ask(gateway, session, `${session} after the crashes`, false)).toBe(true);
          const sent = upstream.requests.at(-1)!.body.messages as Array<{ role: string; content: string }>;
          // The stored history, replayed whole (each turn a question and perhaps its answer), then the new question.
          expect(sent.length).toBe(before.get(`agent:main:openai-user:${session}`)! + 1);
          expect(sent.at(-1)).toEqual({ role: 'user', content: `${session} after the crashes` });
        }
      } finally {
        await gateway.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
