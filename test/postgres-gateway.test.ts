// Gateways on the PostgreSQL session store, in this process: a session continued on another
// gateway, /ready and metrics, and the database becoming unreachable under a running gateway
// (503 session_store_unavailable, never a 500, transcript intact) and reachable again (served
// again by the same gateway, no restart).
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSessionStore } from '../src/sessions/postgres-store.ts';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from './fixtures/upstream.ts';
import { sseData, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { checkPostgres, createTestDatabase, type TestDatabase } from './helpers/services.ts';
import { chatTranscript } from './helpers/sessions.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

const postgres = await checkPostgres();

let upstream: FakeUpstream;
let database: TestDatabase;
let proxy: TcpProxy;
const cleanups: Array<() => Promise<unknown>> = [];

function lastUserText(request: RecordedRequest): string {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content);
}

let chunkDelayMs = 0;

/** A gateway whose store reaches the test database through the proxy (so the test can cut it). */
async function gateway(): Promise<TestGateway> {
  const url = new URL(database.url);
  url.port = String(proxy.port);
  url.hostname = '127.0.0.1';
  const sessionStore = await PostgresSessionStore.open({ url: url.toString(), poolSize: 4, lockLeaseMs: 2_000 });
  const gw = await startTestGateway(
    {
      gateway: { metrics: { enabled: true } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'up/fake-model' } },
      sessions: { lockLeaseMs: 2_000, store: { driver: 'postgres', url: url.toString() } },
    },
    { sessionStore },
  );
  cleanups.push(() => gw.close());
  return gw;
}

describe.skipIf(postgres.skip)('gateway on the PostgreSQL session store', () => {
  beforeAll(async () => {
    if (postgres.problem) throw new Error(postgres.problem);
    database = await createTestDatabase('gateway');
    const target = new URL(database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    upstream = await startFakeUpstream((request) => ({ kind: 'text', text: `re: ${lastUserText(request)}`, chunks: 3, chunkDelayMs }));
  });

  afterEach(async () => {
    chunkDelayMs = 0;
    await proxy.restore().catch(() => undefined);
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await database?.drop();
  });

  it('a session started on one gateway continues on another; /ready and /metrics report the store', async () => {
    const one = await gateway();
    const two = await gateway();
    const headers = { 'x-openclaw-session-key': 'shared' };
    await one.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'first' }] }, { headers });
    const second = await two.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'second' }] }, { headers });
    expect(second.choices[0].message.content).toBe('re: second');
    // The second gateway replayed what the first stored.
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 're: first' },
      { role: 'user', content: 'second' },
    ]);
    expect(await chatTranscript(one.gateway.runtime.store!, 'agent:main:shared')).toHaveLength(4);

    const ready = await fetch(`${two.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ready: true,
      failing: [],
      stores: [
        { role: 'session_store', driver: 'postgres', ok: true },
        { role: 'auth_limiter', driver: 'memory', ok: true },
      ],
    });
    const metrics = await (await fetch(`${two.url}/metrics`)).text();
    expect(metrics).toMatch(/openclaw_session_store_pool_connections\{state="max"\} 4/);
    expect(metrics).toMatch(/openclaw_session_store_pool_connections\{state="idle"\} \d+/);
    expect(metrics).toMatch(/openclaw_session_lock_wait_seconds_count\{outcome="acquired"\} 1/);
  });

  it('database unreachable: 503 session_store_unavailable (stream or not) and /ready fails; reachable again: served by the same gateway', async () => {
    const gw = await gateway();
    const headers = { 'x-openclaw-session-key': 'outage' };
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'before' }] }, { headers });

    await proxy.cut();
    const failed = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'during' }] }, { headers }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((failed as InstanceType<typeof OpenAI.APIError>).code).toBe('session_store_unavailable');
    const streamed = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'during, streamed' }] }),
    });
    expect(streamed.status).toBe(503);
    expect(streamed.headers.get('retry-after')).toBe('1');
    expect((await streamed.json()).error).toMatchObject({ code: 'session_store_unavailable', type: 'server_error' });
    // A stateless request needs no store and is still served.
    const stateless = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'no session' }] });
    expect(stateless.choices[0].message.content).toBe('re: no session');
    const notReady = await fetch(`${gw.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, failing: ['session_store'], stores: [{ role: 'session_store', driver: 'postgres', ok: false, detail: expect.stringMatching(/^unreachable/) }, expect.anything()] });

    await proxy.restore();
    const after = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'after' }] }, { headers });
    expect(after.choices[0].message.content).toBe('re: after');
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
    expect(await chatTranscript(gw.gateway.runtime.store!, 'agent:main:outage')).toEqual([
      { role: 'user', content: 'before' },
      { role: 'assistant', content: 're: before' },
      { role: 'user', content: 'after' },
      { role: 'assistant', content: 're: after' },
    ]);
  });

  it('database gone while a reply streams: the stream ends with the error, nothing half-stored, the session usable again once it is back', async () => {
    const gw = await gateway();
    const headers = { 'x-openclaw-session-key': 'mid-stream' };
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'one' }] }, { headers });
    chunkDelayMs = 150;
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'two' }] }),
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    await proxy.cut();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!).error).toMatchObject({ code: 'session_store_unavailable' });

    await proxy.restore();
    chunkDelayMs = 0;
    const after = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'three' }] }, { headers });
    expect(after.choices[0].message.content).toBe('re: three');
    expect(await chatTranscript(gw.gateway.runtime.store!, 'agent:main:mid-stream')).toEqual([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 're: one' },
      { role: 'user', content: 'three' },
      { role: 'assistant', content: 're: three' },
    ]);
  });
});
