// Three gateway replicas, as real processes (`node bin/openclaw.js gateway`), on one PostgreSQL
// database and one Redis, on three ports, the way a load balancer would spread clients over them.
// The PostgreSQL server is the test's own (it is stopped and started under load here); Redis is
// the shared one, with a client address of this run's own for the lockout.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSessionStore } from '../src/sessions/postgres-store.ts';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from './fixtures/upstream.ts';
import { startOwnPostgres, type OwnPostgres } from './helpers/own-services.ts';
import { checkPostgres, checkRedis, createTestDatabase, REDIS_URL, runSql } from './helpers/services.ts';

const BIN = resolve(import.meta.dirname, '../bin/openclaw.js');
const TOKEN = 'replica-token-0123456789abcdef';
const LEASE_MS = 2_000;

const postgres = await checkPostgres();
const redis = await checkRedis();

interface Replica {
  child: ChildProcess;
  url: string;
  output: () => string;
}

let dir: string;
let configPath: string;
let ownPostgres: OwnPostgres;
let databaseUrl: string;
let upstream: FakeUpstream;
let store: PostgresSessionStore;
const replicas: Replica[] = [];

function lastUserText(request: RecordedRequest): string {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content);
}

async function startReplica(): Promise<Replica> {
  const child = spawn(process.execPath, [BIN, 'gateway', '--config', configPath, '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: dir, OPENCLAW_STATE_DIR: join(dir, 'state'), DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data) => (stdout += data));
  const url = await new Promise<string>((done, fail) => {
    child.stderr!.on('data', (data) => {
      stderr += data;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) done(match[1]);
    });
    child.once('exit', (code) => fail(new Error(`replica exited with ${code}: ${stderr}`)));
  });
  const replica = { child, url, output: () => stdout + stderr };
  replicas.push(replica);
  return replica;
}

function exited(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once('exit', done));
}

async function chat(replica: Replica, content: string, options: { session?: string; stream?: boolean; headers?: Record<string, string>; token?: string } = {}) {
  const response = await fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.token ?? TOKEN}`,
      'content-type': 'application/json',
      ...(options.session ? { 'x-openclaw-session-key': options.session } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ model: 'openclaw', stream: options.stream ?? false, messages: [{ role: 'user', content }] }),
  });
  return response;
}

/** Reads a session through a replica's WebSocket (`sessions.history`): what any client of that replica would see. */
async function historyVia(replica: Replica, key: string): Promise<Array<{ role: string; content: string }>> {
  const ws = new WebSocket(`${replica.url.replace(/^http/, 'ws')}/ws`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  try {
    await new Promise((done, fail) => ws.once('open', done).once('error', fail));
    const answer = new Promise<any>((done) => ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'res' && frame.id === 1) done(frame);
    }));
    ws.send(JSON.stringify({ type: 'req', id: 1, method: 'sessions.history', params: { key } }));
    const frame = await answer;
    if (!frame.ok) throw new Error(`sessions.history ${key}: ${JSON.stringify(frame.error)}`);
    return frame.result.messages;
  } finally {
    ws.close();
  }
}

/** A transcript made of whole turns: each user message followed by the reply to it. */
function expectWholeTurns(messages: Array<{ role: string; content: string }>): string[] {
  expect(messages.length % 2).toBe(0);
  const asked: string[] = [];
  for (let i = 0; i < messages.length; i += 2) {
    expect(messages[i].role).toBe('user');
    expect(messages[i + 1]).toEqual({ role: 'assistant', content: `re: ${messages[i].content}` });
    asked.push(messages[i].content);
  }
  return asked;
}

async function dbNowMs(): Promise<number> {
  const [row] = await runSql<{ now: string }>(databaseUrl, `SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now`);
  return Number(row.now);
}

describe.skipIf(postgres.skip || redis.skip)('three replicas on one PostgreSQL and one Redis', () => {
  beforeAll(async () => {
    if (postgres.problem) throw new Error(postgres.problem);
    if (redis.problem) throw new Error(redis.problem);
    dir = mkdtempSync(join(tmpdir(), 'openclaw-replicas-'));
    ownPostgres = await startOwnPostgres();
    databaseUrl = (await createTestDatabase('replicas', ownPostgres.adminUrl)).url;
    upstream = await startFakeUpstream((request) => {
      const text = lastUserText(request);
      // `slow …` streams for a good while, so a replica can be killed in the middle of it.
      if (text.startsWith('slow')) return { kind: 'text', text: `re: ${text}`, chunks: 40, chunkDelayMs: 100 };
      return { kind: 'text', text: `re: ${text}`, chunks: 2 };
    });
    configPath = join(dir, 'openclaw.json5');
    writeFileSync(
      configPath,
      JSON.stringify({
        gateway: {
          trustProxy: true,
          auth: { mode: 'token', token: TOKEN, rateLimit: { maxAttempts: 3, lockoutMs: 60_000, store: { driver: 'redis', url: REDIS_URL } } },
          http: { endpoints: { chatCompletions: { enabled: true } } },
        },
        models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
        agents: { defaults: { model: 'up/fake-model' } },
        sessions: { lockLeaseMs: LEASE_MS, store: { driver: 'postgres', url: '${DATABASE_URL}', poolSize: 5 } },
      }),
    );
    // Started together: their migrations meet at the advisory lock.
    await Promise.all([startReplica(), startReplica(), startReplica()]);
    store = await PostgresSessionStore.open({ url: databaseUrl, poolSize: 2 });
  }, 90_000);

  afterAll(async () => {
    for (const replica of replicas) replica.child.kill('SIGTERM');
    await Promise.all(replicas.map((replica) => exited(replica.child)));
    await store?.close();
    await upstream?.close();
    await ownPostgres?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('started together, the replicas applied each migration once', async () => {
    const rows = await runSql<{ version: number }>(databaseUrl, 'SELECT version FROM openclaw_migrations ORDER BY version');
    expect(rows.map((row) => row.version)).toEqual([1]);
    for (const replica of replicas) {
      // The Redis connection is made in the background after start.
      let ready = await (await fetch(`${replica.url}/ready`)).json();
      for (let i = 0; i < 200 && !ready.stores[1].ok; i++) {
        await new Promise((done) => setTimeout(done, 50));
        ready = await (await fetch(`${replica.url}/ready`)).json();
      }
      expect(ready.stores).toEqual([
        { role: 'session_store', driver: 'postgres', ok: true },
        { role: 'auth_limiter', driver: 'redis', ok: true },
      ]);
    }
  });

  it('64 parallel requests on one session, round-robin over the three: 64 whole turns in one order, none lost', async () => {
    const key = 'parallel';
    const seen = upstream.requests.length;
    const responses = await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const response = await chat(replicas[i % 3], `message ${i}`, { session: key });
        return { status: response.status, body: await response.json() };
      }),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(64).fill(200));
    responses.forEach((response, i) => expect(response.body.choices[0].message.content).toBe(`re: message ${i}`));
    // One order: every run saw every turn stored before it (prompts of 1, 3, 5 … 127 messages).
    const promptSizes = upstream.requests.slice(seen).filter((request) => request.path.endsWith('/chat/completions')).map((request) => request.body.messages.length);
    expect(promptSizes.sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => 2 * i + 1));
    for (const replica of replicas) {
      const asked = expectWholeTurns(await historyVia(replica, `agent:main:${key}`));
      expect(asked.toSorted()).toEqual(Array.from({ length: 64 }, (_, i) => `message ${i}`).toSorted());
    }
    expect(await store.getSession(`agent:main:${key}`)).toMatchObject({ turnCount: 64, messageCount: 128 });
  });

  it('wrong tokens sent to replica 1 lock the client out on replicas 2 and 3', async () => {
    // A client address of this run's own (the replicas trust the proxy header), so no other test shares its count.
    const client = { 'x-forwarded-for': `198.51.100.${randomInt(1, 255)}` };
    for (let i = 0; i < 3; i++) expect((await chat(replicas[0], 'hi', { headers: client, token: 'wrong' })).status).toBe(401);
    for (const replica of [replicas[1], replicas[2]]) {
      const refused = await chat(replica, 'hi', { headers: client });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('auth_rate_limited');
    }
    // Other clients are not affected.
    expect((await chat(replicas[1], 'hi')).status).toBe(200);
  });

  it('kill -9 of a replica mid-stream: every session stays readable and whole on the others, and its locks lapse within the lease', async () => {
    const victim = replicas[2];
    const keys = ['kill-a', 'kill-b', 'kill-c'];
    for (const key of keys) expect((await chat(replicas[0], `before ${key}`, { session: key })).status).toBe(200);
    // Streaming runs on the victim, each past its first content chunk.
    const streams = await Promise.all(
      keys.map(async (key) => {
        const response = await chat(victim, `slow ${key}`, { session: key, stream: true });
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        let text = '';
        while (!/"content":"[^"]/.test(text)) {
          const chunk = await reader.read();
          if (chunk.done) throw new Error(`the stream ended before its first content: ${text}`);
          text += new TextDecoder().decode(chunk.value);
        }
        return reader;
      }),
    );
    const locks = await runSql<{ key: string; expires_at: string }>(databaseUrl, 'SELECT key, expires_at FROM session_locks ORDER BY key');
    expect(locks.map((lock) => lock.key)).toEqual(keys.map((key) => `agent:main:${key}`));

    victim.child.kill('SIGKILL');
    await exited(victim.child);
    const killedAt = await dbNowMs();
    for (const reader of streams) await reader.read().then(() => undefined, () => undefined);

    // Nothing renews a dead replica's leases: each lapses at most one lease after the kill.
    const after = await runSql<{ key: string; expires_at: string }>(databaseUrl, 'SELECT key, expires_at FROM session_locks ORDER BY key');
    for (const lock of after) expect(Number(lock.expires_at)).toBeLessThanOrEqual(killedAt + LEASE_MS);
    // The next run on each session gets its lock once the lease lapsed, on a surviving replica.
    const next = await Promise.all(keys.map(async (key, i) => chat(replicas[i % 2], `after ${key}`, { session: key })));
    expect(next.map((response) => response.status)).toEqual([200, 200, 200]);
    for (const key of keys) {
      for (const replica of [replicas[0], replicas[1]]) {
        // The killed runs left nothing behind: only whole turns, before and after.
        expect(expectWholeTurns(await historyVia(replica, `agent:main:${key}`))).toEqual([`before ${key}`, `after ${key}`]);
      }
    }
    expect(await runSql(databaseUrl, 'SELECT key FROM session_locks')).toEqual([]);
    // Replace the killed replica for what follows.
    replicas.splice(2, 1);
    await startReplica();
  });

  it('PostgreSQL restarted under load: 503 session_store_unavailable while it is down, never a 500; served again without restarting any replica', async () => {
    const statuses: Array<{ status: number; code?: string; phase: string }> = [];
    let phase = 'up';
    let stop = false;
    // Three clients, each on its own session, each round-robin over the replicas, one request at a time.
    const clients = [0, 1, 2].map(async (client) => {
      for (let i = 0; i < 400 && !stop; i++) {
        const replica = replicas[(client + i) % 3];
        const response = await chat(replica, `load ${client} ${i}`, { session: `load-${client}` });
        const body = await response.json();
        statuses.push({ status: response.status, code: body.error?.code, phase });
        if (response.status !== 200) await new Promise((done) => setTimeout(done, 20));
      }
    });
    const until = async (what: string, check: () => boolean) => {
      for (let i = 0; i < 600 && !check(); i++) await new Promise((done) => setTimeout(done, 25));
      if (!check()) throw new Error(`never saw: ${what}`);
    };
    await until('requests served before the restart', () => statuses.filter((s) => s.status === 200).length >= 6);

    await ownPostgres.stop();
    phase = 'down';
    await until('503s while PostgreSQL is down', () => statuses.filter((s) => s.phase === 'down' && s.status === 503).length >= 6);
    for (const replica of replicas) {
      const ready = await fetch(`${replica.url}/ready`);
      expect(ready.status).toBe(503);
      expect((await ready.json()).failing).toEqual(['session_store']);
    }

    await ownPostgres.start();
    phase = 'back';
    await until('requests served after the restart', () => statuses.filter((s) => s.phase === 'back' && s.status === 200).length >= 9);
    stop = true;
    await Promise.all(clients);

    expect(statuses.filter((s) => s.status !== 200 && s.status !== 503)).toEqual([]);
    expect(new Set(statuses.filter((s) => s.status === 503).map((s) => s.code))).toEqual(new Set(['session_store_unavailable']));
    for (const replica of replicas) expect((await fetch(`${replica.url}/ready`)).status).toBe(200);
    // Every replica still the same process, and every transcript whole turns only.
    for (const replica of replicas) expect(replica.child.exitCode).toBeNull();
    for (const client of [0, 1, 2]) expectWholeTurns(await historyVia(replicas[client], `agent:main:load-${client}`));
    expect(replicas.map((replica) => replica.output()).join('')).not.toMatch(/"level":"(?:error|fatal)".*"event":"http\.(?:internal|unhandled)_error"/);
  });
});
