import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../src/agents/messages.ts';
import { openDefaultSessionStore } from '../src/sessions/open.ts';
import { MIGRATIONS, SCHEMA_VERSION, SessionCorruptError, SqliteSessionStore, agentIdFromKey } from '../src/sessions/sqlite-store.ts';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });

let dir: string;
let stores: SqliteSessionStore[];

function open(file = join(dir, 'sessions.sqlite'), options = {}): SqliteSessionStore {
  const store = new SqliteSessionStore(file, options);
  stores.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'openclaw-store-'));
  stores = [];
});

afterEach(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteSessionStore', () => {
  it('appends turns and loads them back in order', async () => {
    const store = open();
    const key = 'agent:main:openai-user:alice';
    expect(await store.loadTranscript(key)).toEqual([]);
    await store.appendTurn(key, [user('one'), assistant('reply one')]);
    await store.appendTurn(key, [user('two'), assistant('reply two')]);
    expect(await store.loadTranscript(key)).toEqual([user('one'), assistant('reply one'), user('two'), assistant('reply two')]);
    const [summary] = await store.listSessions();
    expect(summary).toMatchObject({ key, agentId: 'main', turnCount: 2, messageCount: 4 });
    expect(summary.updatedAt).toBeGreaterThanOrEqual(summary.createdAt);
  });

  it('keeps structured messages (tool calls, content parts) intact', async () => {
    const store = open();
    const key = 'agent:main:tools';
    const turn: ChatMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      assistant('It is sunny. ✓ ünïcödé'),
    ];
    await store.appendTurn(key, turn);
    expect(await store.loadTranscript(key)).toEqual(turn);
  });

  it('loads only the tail with lastMessages, oldest first', async () => {
    const store = open();
    const key = 'agent:main:tail';
    for (let i = 0; i < 10; i++) await store.appendTurn(key, [user(`u${i}`), assistant(`a${i}`)]);
    expect(await store.loadTranscript(key, { lastMessages: 3 })).toEqual([assistant('a8'), user('u9'), assistant('a9')]);
    expect(await store.loadTranscript(key, { lastMessages: 100 })).toHaveLength(20);
    expect(await store.loadTranscript(key, { lastMessages: 0 })).toEqual([]);
  });

  it('never reads beyond the tail (a corrupt old row does not affect a tail read)', async () => {
    const file = join(dir, 'sessions.sqlite');
    const store = open(file);
    const key = 'agent:main:old-corrupt';
    for (let i = 0; i < 5; i++) await store.appendTurn(key, [user(`u${i}`), assistant(`a${i}`)]);
    const raw = new DatabaseSync(file);
    raw.prepare('UPDATE messages SET message = ? WHERE session_key = ? AND seq = 0').run('{broken', key);
    const plan = raw.prepare('EXPLAIN QUERY PLAN SELECT seq, message FROM messages WHERE session_key = ? ORDER BY seq DESC LIMIT ?').all(key, 2) as Array<{ detail: string }>;
    raw.close();
    expect(plan.map((row) => row.detail).join(' ')).toMatch(/USING INDEX messages_session_seq/);
    expect(plan.map((row) => row.detail).join(' ')).not.toMatch(/TEMP B-TREE/);
    expect(await store.loadTranscript(key, { lastMessages: 4 })).toEqual([user('u3'), assistant('a3'), user('u4'), assistant('a4')]);
    await expect(store.loadTranscript(key)).rejects.toThrow(SessionCorruptError);
  });

  it('reports a stored message that is not JSON, naming the session, for that session only', async () => {
    const file = join(dir, 'sessions.sqlite');
    const store = open(file);
    const bad = 'agent:main:bad';
    const good = 'agent:main:good';
    await store.appendTurn(bad, [user('x'), assistant('y')]);
    await store.appendTurn(good, [user('fine'), assistant('ok')]);
    const raw = new DatabaseSync(file);
    raw.prepare('UPDATE messages SET message = ? WHERE session_key = ? AND seq = 1').run('not json at all', bad);
    raw.close();
    const error = await store.loadTranscript(bad, { lastMessages: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCorruptError);
    expect((error as Error).message).toContain(bad);
    expect((error as SessionCorruptError).status).toBe(500);
    expect((error as SessionCorruptError).sessionKey).toBe(bad);
    expect(await store.loadTranscript(good)).toEqual([user('fine'), assistant('ok')]);
  });

  it('lists sessions (filtered by agent) and deletes them', async () => {
    const store = open();
    await store.appendTurn('agent:main:a', [user('1')]);
    await store.appendTurn('agent:other:b', [user('2')]);
    await store.appendTurn('agent:main:c', [user('3'), assistant('4')]);
    expect((await store.listSessions()).map((s) => s.key).sort()).toEqual(['agent:main:a', 'agent:main:c', 'agent:other:b']);
    expect((await store.listSessions({ agentId: 'main' })).map((s) => s.key).sort()).toEqual(['agent:main:a', 'agent:main:c']);
    expect(await store.listSessions({ agentId: 'nobody' })).toEqual([]);
    expect(await store.deleteSession('agent:main:a')).toBe(true);
    expect(await store.deleteSession('agent:main:a')).toBe(false);
    expect(await store.loadTranscript('agent:main:a')).toEqual([]);
    expect((await store.listSessions()).map((s) => s.key).sort()).toEqual(['agent:main:c', 'agent:other:b']);
    // A deleted key starts over cleanly.
    await store.appendTurn('agent:main:a', [user('again')]);
    expect(await store.loadTranscript('agent:main:a')).toEqual([user('again')]);
    expect((await store.listSessions({ agentId: 'main' })).find((s) => s.key === 'agent:main:a')).toMatchObject({ turnCount: 1, messageCount: 1 });
  });

  it('keys are exact and case-sensitive', async () => {
    const store = open();
    await store.appendTurn('agent:main:openai-user:Alice', [user('upper')]);
    await store.appendTurn('agent:main:openai-user:alice', [user('lower')]);
    expect(await store.loadTranscript('agent:main:openai-user:Alice')).toEqual([user('upper')]);
    expect(await store.loadTranscript('agent:main:openai-user:alice')).toEqual([user('lower')]);
  });

  it('parses the agent id from the key and rejects other shapes', async () => {
    expect(agentIdFromKey('agent:main:openai-user:x')).toBe('main');
    expect(agentIdFromKey('agent:ops_1:a:b:c')).toBe('ops_1');
    expect(() => agentIdFromKey('main:x')).toThrow(/agent:<agentId>/);
    const store = open();
    await expect(store.appendTurn('nope', [user('x')])).rejects.toThrow(/agent:<agentId>/);
    expect(await store.listSessions()).toEqual([]);
  });

  it('writes a turn atomically: a failing insert leaves nothing behind', async () => {
    const store = open();
    const key = 'agent:main:atomic';
    await store.appendTurn(key, [user('first')]);
    const circular: any = { role: 'user', content: 'x' };
    circular.self = circular;
    await expect(store.appendTurn(key, [user('second'), circular])).rejects.toThrow();
    // Force a failure inside the transaction (after the first row) with a duplicate seq.
    const file = store.file;
    const raw = new DatabaseSync(file);
    raw.exec("CREATE TRIGGER fail_second AFTER INSERT ON messages WHEN NEW.seq = 2 BEGIN SELECT RAISE(ABORT, 'boom'); END");
    raw.close();
    await expect(store.appendTurn(key, [user('second'), assistant('reply')])).rejects.toThrow(/boom/);
    expect(await store.loadTranscript(key)).toEqual([user('first')]);
    expect((await store.listSessions())[0]).toMatchObject({ turnCount: 1, messageCount: 1 });
    // The store is still usable after the rollback.
    const raw2 = new DatabaseSync(file);
    raw2.exec('DROP TRIGGER fail_second');
    raw2.close();
    await store.appendTurn(key, [user('second'), assistant('reply')]);
    expect(await store.loadTranscript(key)).toEqual([user('first'), user('second'), assistant('reply')]);
  });

  it('persists across reopen and runs migrations once', async () => {
    const file = join(dir, 'sessions.sqlite');
    const first = open(file);
    await first.appendTurn('agent:main:p', [user('kept')]);
    await first.close();
    const second = open(file);
    expect(await second.loadTranscript('agent:main:p')).toEqual([user('kept')]);
    await second.close();
    const raw = new DatabaseSync(file);
    const versions = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
    const userVersion = (raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    const journal = (raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode;
    raw.close();
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(userVersion).toBe(SCHEMA_VERSION);
    expect(journal).toBe('wal');
  });

  it('refuses a store written by a newer schema, naming the file', async () => {
    const file = join(dir, 'sessions.sqlite');
    await open(file).close();
    const raw = new DatabaseSync(file);
    raw.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', Date.now());
    raw.close();
    expect(() => open(file)).toThrow(file);
    expect(() => open(file)).toThrow(/newer/);
  });

  it('a corrupt file at startup throws an error naming the file and is left untouched', () => {
    const file = join(dir, 'sessions.sqlite');
    const garbage = Buffer.from('this is definitely not an sqlite database, just some bytes '.repeat(100));
    writeFileSync(file, garbage);
    expect(() => open(file)).toThrow(file);
    expect(statSync(file).size).toBe(garbage.length);
  });

  it('a locked file at startup throws an error naming the file', () => {
    const file = join(dir, 'sessions.sqlite');
    const raw = new DatabaseSync(file);
    raw.exec('PRAGMA journal_mode = DELETE; CREATE TABLE x (y); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1);');
    try {
      expect(() => open(file, { busyTimeoutMs: 50 })).toThrow(file);
      expect(() => open(file, { busyTimeoutMs: 50 })).toThrow(/locked|busy/i);
    } finally {
      raw.exec('ROLLBACK');
      raw.close();
    }
  });

  it('ping answers while open and fails once closed', async () => {
    const store = open();
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    await store.close();
  });

  it('openDefaultSessionStore creates <stateDir>/sessions.sqlite in a 0700 dir', async () => {
    const stateDir = join(dir, 'nested', 'state');
    const store = openDefaultSessionStore(stateDir) as SqliteSessionStore;
    stores.push(store);
    expect(store.file).toBe(join(stateDir, 'sessions.sqlite'));
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(store.file).mode & 0o077).toBe(0);
    await store.appendTurn('agent:main:x', [user('hi')]);
    expect(await store.listSessions()).toHaveLength(1);
  });
});
