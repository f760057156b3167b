// What only the embedded SQLite store has: its file, its migrations (including the store the first
// release wrote), and how it fails at start-up.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromChatMessage } from '../src/records/chat-completions.ts';
import { SessionCorruptError } from '../src/sessions/errors.ts';
import { openDefaultSessionStore } from '../src/sessions/open.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/sessions/sqlite-migrations.ts';
import { SqliteSessionStore } from '../src/sessions/sqlite-store.ts';

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
  it('carries a store written by the first release forward unchanged in meaning', async () => {
    // test/fixtures/stores/v1-sessions.sqlite was written by the first release's store (schema 1,
    // Chat Completions messages as stored JSON).
    const file = join(dir, 'sessions.sqlite');
    copyFileSync(join(import.meta.dirname, 'fixtures/stores/v1-sessions.sqlite'), file);
    const before = new DatabaseSync(file);
    const v1Rows = before.prepare('SELECT session_key, seq, turn, message FROM messages ORDER BY session_key, seq').all() as Array<{ session_key: string; seq: number; turn: number; message: string }>;
    const v1Sessions = before.prepare('SELECT key, agent_id, turn_count, message_count, created_at FROM sessions ORDER BY key').all();
    before.close();
    expect(v1Rows.length).toBeGreaterThan(0);

    const store = open(file);
    // Every message reads back as the record of the message that was stored.
    for (const key of new Set(v1Rows.map((row) => row.session_key))) {
      const expected = v1Rows.filter((row) => row.session_key === key).map((row) => fromChatMessage(JSON.parse(row.message)));
      expect(await store.loadTranscript(key)).toEqual({ messages: expected, position: expected.length });
      // Turns are the turns the first release counted.
      const turns = await store.listTurns(key);
      expect(turns.map((turn) => turn.turn)).toEqual([...new Set(v1Rows.filter((row) => row.session_key === key).map((row) => row.turn))]);
    }
    const tools = (await store.loadTranscript('agent:main:tools-session')).messages;
    expect(tools[1]).toEqual({ role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', executor: 'client' }] });
    expect(tools[2]).toEqual({ role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: '{"temp":21}' }] });
    const image = (await store.loadTranscript('agent:main:openai-user:alice')).messages[2];
    expect(image).toEqual({ role: 'user', name: 'alice', content: [{ type: 'text', text: 'what is in this image?' }, { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' }] });
    expect((await store.listSessions()).map((s) => [s.key, s.agentId, s.turnCount, s.messageCount]).sort()).toEqual(
      (v1Sessions as Array<{ key: string; agent_id: string; turn_count: number; message_count: number }>).map((s) => [s.key, s.agent_id, s.turn_count, s.message_count]).sort(),
    );
    // And the session goes on where it was.
    await store.appendTurn('agent:main:openai-user:alice', { messages: [{ role: 'user', content: [{ type: 'text', text: 'more' }] }], meta: {} }, { expectedPosition: 4 });
    expect((await store.loadTranscript('agent:main:openai-user:alice')).position).toBe(5);
  });

  it('reports a stored message that is not JSON for that session only, naming the session and no file path', async () => {
    const store = open();
    await store.appendTurn('agent:main:bad', { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }], meta: {} }, { expectedPosition: 0 });
    await store.appendTurn('agent:main:good', { messages: [{ role: 'user', content: [{ type: 'text', text: 'y' }] }], meta: {} }, { expectedPosition: 0 });
    const raw = new DatabaseSync(store.file);
    raw.prepare("UPDATE messages SET message = '{not json' WHERE session_key = 'agent:main:bad'").run();
    raw.close();
    const error = await store.loadTranscript('agent:main:bad').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCorruptError);
    expect((error as Error).message).toContain('agent:main:bad');
    expect((error as Error).message).not.toContain(dir);
    expect((error as Error).message).not.toContain('.sqlite');
    expect((await store.loadTranscript('agent:main:good')).messages).toHaveLength(1);
  });

  it('never reads beyond the tail (a corrupt old row does not affect a tail read)', async () => {
    const store = open();
    const key = 'agent:main:tail';
    for (let i = 0; i < 4; i++) {
      const { position } = await store.loadTranscript(key, { lastMessages: 1 });
      await store.appendTurn(key, { messages: [{ role: 'user', content: [{ type: 'text', text: `q${i}` }] }], meta: {} }, { expectedPosition: position });
    }
    const raw = new DatabaseSync(store.file);
    raw.prepare('UPDATE messages SET message = ? WHERE session_key = ? AND seq = 0').run('garbage', key);
    raw.close();
    expect((await store.loadTranscript(key, { lastMessages: 2 })).messages).toHaveLength(2);
    await expect(store.loadTranscript(key)).rejects.toBeInstanceOf(SessionCorruptError);
  });

  it('persists across reopen, runs each migration once, in WAL mode', async () => {
    const file = join(dir, 'sessions.sqlite');
    const first = open(file);
    await first.appendTurn('agent:main:p', { messages: [{ role: 'user', content: [{ type: 'text', text: 'kept' }] }], meta: {} }, { expectedPosition: 0 });
    await first.close();
    const second = open(file);
    expect((await second.loadTranscript('agent:main:p')).messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'kept' }] }]);
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

  it('with background checkpoints, a worker copies the log into the database file while the store writes, and the log is gone after close', async () => {
    const file = join(dir, 'sessions.sqlite');
    const store = open(file, { backgroundCheckpoints: true });
    const text = 'x'.repeat(2_000);
    let position = 0;
    for (let i = 0; i < 100; i++) {
      position = await store.appendTurn('agent:main:c', { messages: [{ role: 'user', content: [{ type: 'text', text }] }, { role: 'assistant', content: [{ type: 'text', text }] }], meta: {} }, { expectedPosition: position });
    }
    // ≈400 KB written through the log; the connection's own checkpoint waits for 10,000 pages, so
    // only the worker puts them into the database file.
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < 300_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(statSync(file).size).toBeGreaterThan(300_000);
    await store.close();
    expect(() => statSync(`${file}-wal`)).toThrow();
    const reopened = open(file);
    expect((await reopened.loadTranscript('agent:main:c')).position).toBe(200);
  });

  it('an idle checkpoint worker never keeps a process alive, even when its store is not closed', () => {
    const file = join(dir, 'sessions.sqlite');
    const store = pathToFileURL(join(import.meta.dirname, '../src/sessions/sqlite-store.ts')).href;
    const script = `
      const { SqliteSessionStore } = await import(${JSON.stringify(store)});
      const s = new SqliteSessionStore(${JSON.stringify(file)}, { backgroundCheckpoints: true });
      let position = 0;
      for (let i = 0; i < 40; i++) position = await s.appendTurn('agent:main:c', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], meta: {} }, { expectedPosition: position });
      console.log('done', position);
    `;
    // A process with nothing left to do ends on its own; a referenced worker would hold it until killed.
    const scriptFile = join(dir, 'open-and-leave.mjs');
    writeFileSync(scriptFile, script);
    const run = spawnSync(process.execPath, [scriptFile], { encoding: "utf8", timeout: 20_000 });
    expect(run.stdout.trim()).toBe('done 40');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  });

  it.skipIf(!existsSync('/proc/self/task'))('the checkpoint worker thread starts with the first checkpoint to do, not when the store opens', () => {
    // Its own isolate is megabytes resident: a gateway that writes nothing must not carry it.
    const file = join(dir, 'sessions.sqlite');
    const store = pathToFileURL(join(import.meta.dirname, '../src/sessions/sqlite-store.ts')).href;
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      const { SqliteSessionStore } = await import(${JSON.stringify(store)});
      const workerThreads = () => readdirSync('/proc/self/task').filter((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'WorkerThread').length;
      const s = new SqliteSessionStore(${JSON.stringify(file)}, { backgroundCheckpoints: true });
      let position = await s.appendTurn('agent:main:c', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], meta: {} }, { expectedPosition: 0 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const idle = workerThreads();
      for (let i = 0; i < 40; i++) position = await s.appendTurn('agent:main:c', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], meta: {} }, { expectedPosition: position });
      while (workerThreads() === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const busy = workerThreads();
      await s.close();
      console.log(JSON.stringify({ idle, busy, position }));
    `;
    const scriptFile = join(dir, 'threads.mjs');
    writeFileSync(scriptFile, script);
    const run = spawnSync(process.execPath, [scriptFile], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ idle: 0, busy: 1, position: 41 });
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

  it('ping fails once closed', async () => {
    const store = open();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    await store.close();
  });

  it('openDefaultSessionStore creates <stateDir>/sessions.sqlite in a 0700 dir, the file 0600', async () => {
    const stateDir = join(dir, 'nested', 'state');
    const store = openDefaultSessionStore(stateDir) as SqliteSessionStore;
    stores.push(store);
    expect(store.file).toBe(join(stateDir, 'sessions.sqlite'));
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(store.file).mode & 0o077).toBe(0);
  });
});
