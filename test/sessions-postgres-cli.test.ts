// `openclaw sessions` on PostgreSQL (the store comes from the config) and `openclaw sessions
// migrate`, which copies an embedded SQLite store into PostgreSQL and can be run again safely.
// Spawned as real processes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRecord, TurnMeta } from '../src/records/record.ts';
import { PostgresSessionStore } from '../src/sessions/postgres-store.ts';
import { SqliteSessionStore } from '../src/sessions/sqlite-store.ts';
import type { SessionStore, StoredResponse } from '../src/sessions/store.ts';
import { checkPostgres, createTestDatabase, type TestDatabase } from './helpers/services.ts';

const BIN = resolve(import.meta.dirname, '../bin/openclaw.js');
const postgres = await checkPostgres();

let dir: string;
let database: TestDatabase;
let sqliteFile: string;
let configPath: string;

const user = (text: string): MessageRecord => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): MessageRecord => ({ role: 'assistant', content: [{ type: 'text', text }] });
const meta = (requestId: string, extra: TurnMeta = {}): TurnMeta => ({ requestId, model: 'up/fake', outcome: 'completed', startedAt: 1_700_000_000_000, finishedAt: 1_700_000_000_500, ...extra });

async function cli(args: string[], command = 'sessions'): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, command, ...args], {
      env: { PATH: process.env.PATH, HOME: dir, OPENCLAW_STATE_DIR: join(dir, 'state'), DATABASE_URL: database.url },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function withStore<T>(open: () => Promise<SessionStore> | SessionStore, work: (store: SessionStore) => Promise<T>): Promise<T> {
  const store = await open();
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const openPostgres = () => PostgresSessionStore.open({ url: database.url, poolSize: 2 });
const openSqlite = () => new SqliteSessionStore(sqliteFile);

/** Everything a store holds about its sessions, to compare two stores. */
async function snapshot(store: SessionStore) {
  const sessions = await store.listSessions();
  return Promise.all(sessions.map(async (summary) => ({ summary, turns: await store.listTurns(summary.key) })));
}

describe.skipIf(postgres.skip)('openclaw sessions on PostgreSQL', () => {
  beforeAll(async () => {
    if (postgres.problem) throw new Error(postgres.problem);
    dir = mkdtempSync(join(tmpdir(), 'openclaw-sessions-pg-'));
    database = await createTestDatabase('cli');
    sqliteFile = join(dir, 'embedded.sqlite');
    configPath = join(dir, 'openclaw.json5');
    writeFileSync(configPath, `{ sessions: { store: { driver: "postgres", url: "\${DATABASE_URL}" } } }`);
    await withStore(openSqlite, async (store) => {
      await store.appendTurn('agent:main:alice', { messages: [user('hello'), assistant('hi alice')], meta: meta('r1', { usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 } }) }, { expectedPosition: 0 });
      await store.appendTurn(
        'agent:main:alice',
        {
          messages: [
            user('what time is it'),
            { role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'clock__now', arguments: '{}', executor: 'server' }] },
            { role: 'tool', toolCallId: 'call_1', toolName: 'clock__now', content: [{ type: 'text', text: '12:00' }], isError: false },
            assistant('noon'),
          ],
          meta: meta('r2', { outcome: 'completed' }),
        },
        { expectedPosition: 2 },
      );
      await store.appendTurn('agent:beta:bob', { messages: [user('failed run')], meta: meta('r3', { outcome: 'failed', errorCode: 'upstream_unavailable' }) }, { expectedPosition: 0 });
      const response: StoredResponse = {
        id: 'resp_1',
        agentId: 'main',
        sessionKey: 'agent:main:alice',
        position: 2,
        previousResponseId: null,
        createdAt: 1_700_000_000_000,
        input: [user('hello')],
        output: [assistant('hi alice')],
        meta: meta('r1'),
        extra: { instructions: 'be brief' },
      };
      await store.putResponse(response);
    });
  });

  afterAll(async () => {
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('migrate copies every session (turns, meta, timestamps) and stored response; run again, it copies nothing and changes nothing', async () => {
    // Trust authentication ignores the password; it is there to show it is never printed.
    const withPassword = new URL(database.url);
    withPassword.password = 's3cret-pw';
    const first = await cli(['migrate', '--from', `sqlite:${sqliteFile}`, '--to', `postgres:${withPassword}`]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Copied 2 sessions \(7 messages\) and 1 stored responses; 0 sessions and 0 responses were there already\./);
    expect(first.stdout).toContain(`into postgres://postgres:***@`);
    expect(first.stdout + first.stderr).not.toContain('s3cret-pw');
    const source = await withStore(openSqlite, snapshot);
    expect(await withStore(openPostgres, snapshot)).toEqual(source);
    expect(await withStore(openPostgres, (store) => store.getResponse('resp_1'))).toEqual(await withStore(openSqlite, (store) => store.getResponse('resp_1')));

    const again = await cli(['migrate', '--from', `sqlite:${sqliteFile}`, '--to', `postgres:${database.url}`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Copied 0 sessions \(0 messages\) and 0 stored responses; 2 sessions and 1 responses were there already\./);
    expect(await withStore(openPostgres, snapshot)).toEqual(source);
  });

  it('migrate leaves a session PostgreSQL has moved on with as it is, and copies sessions added since', async () => {
    await withStore(openPostgres, (store) => store.appendTurn('agent:beta:bob', { messages: [user('on postgres now'), assistant('ok')], meta: meta('r4') }, { expectedPosition: 1 }));
    await withStore(openSqlite, (store) => store.appendTurn('agent:main:carol', { messages: [user('late'), assistant('hi carol')], meta: meta('r5') }, { expectedPosition: 0 }));
    const run = await cli(['migrate', '--config', configPath, '--from', `sqlite:${sqliteFile}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Copied 1 sessions \(2 messages\)/);
    expect(run.stdout).toContain('Kept agent:beta:bob as PostgreSQL has it (3 messages there, 1 in SQLite)');
    expect(await withStore(openPostgres, (store) => store.getSession('agent:beta:bob'))).toMatchObject({ messageCount: 3, turnCount: 2 });
  });

  it('list, show and delete read the store the config names', async () => {
    const list = await cli(['list', '--config', configPath, '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ key: string }>).map((session) => session.key).sort()).toEqual(['agent:beta:bob', 'agent:main:alice', 'agent:main:carol']);
    const show = await cli(['show', 'agent:main:alice', '--config', configPath]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('Session agent:main:alice (agent main, 2 turns, 6 messages)');
    expect(show.stdout).toContain('→ clock__now({}) [call_1, run by the gateway]');
    expect((await cli(['delete', 'agent:main:carol', '--config', configPath])).stdout).toContain('Deleted session agent:main:carol');
    expect(await withStore(openPostgres, (store) => store.getSession('agent:main:carol'))).toBeUndefined();
  });

  it('openclaw agent runs on the store the config names: its turn lands in PostgreSQL', async () => {
    const run = await cli(['--config', configPath, '--session-key', 'from-cli', '--message', 'hello from the cli'], 'agent');
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('Echo: hello from the cli\n');
    const turns = await withStore(openPostgres, (store) => store.listTurns('agent:main:from-cli'));
    expect(turns.map((turn) => turn.messages)).toEqual([[user('hello from the cli'), assistant('Echo: hello from the cli')]]);
  });

  it('refuses what it cannot use, naming it', async () => {
    expect(await cli(['migrate', '--from', 'mysql:x', '--to', `postgres:${database.url}`])).toMatchObject({ code: 2, stderr: expect.stringContaining('--from must be sqlite:<file>') });
    expect(await cli(['migrate', '--from', `sqlite:${sqliteFile}`, '--to', 'redis://x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--to must be postgres:<url>') });
    expect(await cli(['migrate', '--from', `sqlite:${join(dir, 'none.sqlite')}`, '--to', `postgres:${database.url}`])).toMatchObject({ code: 1, stderr: expect.stringContaining('no SQLite session store at') });
    const down = join(dir, 'down.json5');
    writeFileSync(down, `{ sessions: { store: { driver: "postgres", url: "postgres://postgres:pw@127.0.0.1:1/none" } } }`);
    const unreachable = await cli(['list', '--config', down]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/Cannot open the session store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none: cannot reach the database \(ECONNREFUSED/);
  });
});
