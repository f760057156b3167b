// Per-client-address limits through real sockets: open connections (gateway.http.maxConnectionsPerAddress)
// and runs in flight over HTTP and the WebSocket together (gateway.http.maxConcurrentRunsPerAddress).
// Loopback is not exempt, so the tests' 127.0.0.1 is the address limited.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseConfig } from '../src/config/load.ts';
import { mergeDeep, sseData, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';
import { hasWholeResponse, parseResponses, rawConnection, type RawConnection } from './helpers/raw-http.ts';
import { perTestResources } from './helpers/per-test.ts';

const auth = { authorization: `Bearer ${TEST_TOKEN}` };
const HOME = '127.0.0.1';

const { cleanups, start, upstream } = perTestResources();

/** `openclaw_address_limit_refusals_total`, by `limit/transport`. */
async function refusals(gw: TestGateway): Promise<Record<string, number>> {
  const { values } = await gw.gateway.metrics.addressLimitRefusals.get();
  return Object.fromEntries(values.map((value) => [`${value.labels.limit}/${value.labels.transport}`, value.value]));
}

/** Waits (as long as the test's own timeout allows) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function open(port: number): Promise<RawConnection> {
  const conn = rawConnection(port);
  cleanups.push(() => void conn.socket.destroy());
  await conn.connected;
  return conn;
}

/** One keep-alive request on an open connection; resolves with its response once it is whole. */
async function ask(conn: RawConnection, path: string): Promise<number> {
  const before = conn.received().length;
  conn.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOME}\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n\r\n`);
  await conn.waitFor((received) => hasWholeResponse(received.slice(before)));
  return parseResponses(conn.received().slice(before))[0].status;
}

describe('open connections per client address', () => {
  it('a connection over the limit gets 429 too_many_connections as JSON and closes; the others keep working; the count returns to zero', async () => {
    const gw = await start({ gateway: { http: { maxConnectionsPerAddress: 3 } } });
    const counts = gw.gateway.perAddress.connections;
    const held = await Promise.all([open(gw.port), open(gw.port), open(gw.port)]);
    await until(() => counts.held(HOME) === 3);

    const extra = await open(gw.port);
    extra.socket.write(`GET /health HTTP/1.1\r\nHost: ${HOME}\r\nX-Request-Id: extra-1\r\n\r\n`);
    await extra.closed;
    const [refused] = parseResponses(extra.received());
    expect(refused.status).toBe(429);
    expect(refused.headers.connection).toBe('close');
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['x-request-id']).toBe('extra-1');
    const body = JSON.parse(refused.body);
    expect(body).toEqual({ error: { message: expect.any(String), type: 'rate_limit_error', param: null, code: 'too_many_connections', request_id: 'extra-1' } });
    expect(body.error.message).toContain('3 connections');
    expect(body.error.message).toContain('gateway.http.maxConnectionsPerAddress');

    // A WebSocket is a connection like any other.
    const ws = new WebSocket(`ws://${HOME}:${gw.port}/ws`, { headers: auth });
    cleanups.push(() => ws.terminate());
    const upgrade = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(upgrade).toBe(429);
    expect(await refusals(gw)).toEqual({ 'connections/http': 2 });

    for (const conn of held) expect(await ask(conn, '/v1/models')).toBe(200);
    expect(counts.held(HOME)).toBe(3);

    for (const conn of held) conn.socket.destroy();
    await until(() => counts.total === 0);
    expect(counts.addresses).toBe(0);
    const again = await open(gw.port);
    expect(await ask(again, '/health')).toBe(200);
  });

  it('follows a config reload, and does not apply behind a proxy (gateway.trustProxy)', async () => {
    const raw = { gateway: { http: { maxConnectionsPerAddress: 1 } } };
    const gw = await start(raw);
    const first = await open(gw.port);
    await until(() => gw.gateway.perAddress.connections.held(HOME) === 1);
    const second = await open(gw.port);
    expect(await ask(second, '/health')).toBe(429);

    gw.gateway.applyConfig(parseConfig(mergeDeep(withToken(raw), { gateway: { http: { maxConnectionsPerAddress: 2 } } }), {}));
    expect(await ask(await open(gw.port), '/health')).toBe(200);

    gw.gateway.applyConfig(parseConfig(mergeDeep(withToken(raw), { gateway: { trustProxy: true } }), {}));
    const behindProxy = await Promise.all([open(gw.port), open(gw.port), open(gw.port)]);
    for (const conn of behindProxy) expect(await ask(conn, '/health')).toBe(200);
    expect(await ask(first, '/health')).toBe(200);
  });
});

function withToken(raw: Record<string, any>): Record<string, any> {
  return mergeDeep({ gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true }, responses: { enabled: true } } } } }, raw);
}

describe('runs in flight per client address', () => {
  async function gatedGateway(limit: number) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const text = 'alpha beta gamma delta';
    const up = await upstream(() => ({ kind: 'text', text, chunks: 4, holdAfter: { chunks: 1, until: gate } }));
    const gw = await start({
      gateway: { http: { maxConcurrentRunsPerAddress: limit, endpoints: { responses: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl } } },
      agents: { defaults: { model: 'up/fake-model' } },
    });
    return { gw, up, release, text };
  }

  const stream = (gw: TestGateway, signal?: AbortSignal) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'go' }] }),
      signal,
    });

  it('a run over the limit gets 429 too_many_concurrent_runs before its first byte, on every surface; the held runs complete; the count returns to zero', async () => {
    const { gw, up, release, text } = await gatedGateway(2);
    const runs = gw.gateway.perAddress.runs;

    // One slot taken by an HTTP stream, one by a WebSocket run, both held by the upstream.
    const first = await stream(gw);
    expect(first.status).toBe(200);
    const ws = new WebSocket(`ws://${HOME}:${gw.port}/ws`, { headers: auth });
    const frames: any[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    cleanups.push(() => ws.terminate());
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'req', id: 'held', method: 'agent.run', params: { message: 'go' } }));
    await until(() => frames.some((frame) => frame.event === 'agent.delta'));
    expect(runs.held(HOME)).toBe(2);

    const overChat = await stream(gw);
    expect(overChat.status).toBe(429);
    expect(overChat.headers.get('retry-after')).toBe('1');
    const chatError = await overChat.json();
    expect(chatError.error).toMatchObject({ type: 'rate_limit_error', param: null, code: 'too_many_concurrent_runs', request_id: overChat.headers.get('x-request-id') });
    expect(chatError.error.message).toContain('2 runs in flight');
    expect(chatError.error.message).toContain('gateway.http.maxConcurrentRunsPerAddress');

    const overResponses = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'openclaw', input: 'go' }) });
    expect(overResponses.status).toBe(429);
    expect((await overResponses.json()).error.code).toBe('too_many_concurrent_runs');

    ws.send(JSON.stringify({ type: 'req', id: 'over', method: 'agent.run', params: { message: 'go' } }));
    await until(() => frames.some((frame) => frame.type === 'res' && frame.id === 'over'));
    const overFrame = frames.find((frame) => frame.type === 'res' && frame.id === 'over');
    expect(overFrame).toMatchObject({ ok: false, error: { type: 'rate_limit_error', code: 'too_many_concurrent_runs' } });
    expect(frames.filter((frame) => frame.event === 'agent.start')).toHaveLength(1);
    // Nothing of the refused runs reached the model.
    expect(up.requests).toHaveLength(2);
    expect(await refusals(gw)).toEqual({ 'runs/http': 2, 'runs/ws': 1 });

    release();
    const data = sseData(await first.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line));
    expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('')).toBe(text);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    await until(() => frames.some((frame) => frame.type === 'res' && frame.id === 'held'));
    expect(frames.find((frame) => frame.type === 'res' && frame.id === 'held')).toMatchObject({ ok: true, result: { content: text, finishReason: 'stop' } });

    await until(() => runs.total === 0);
    expect(runs.addresses).toBe(0);
    const after = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'again' }] });
    expect(after.choices[0].message.content).toBe(text);
    expect(runs.total).toBe(0);
  });

  it('a client that leaves mid-stream gives its slot back', async () => {
    const { gw, release } = await gatedGateway(1);
    cleanups.push(release);
    const runs = gw.gateway.perAddress.runs;
    const leaving = new AbortController();
    const held = await stream(gw, leaving.signal);
    expect(held.status).toBe(200);
    expect((await stream(gw)).status).toBe(429);
    leaving.abort();
    await until(() => runs.total === 0);
    // The upstream still holds its reply; the next run takes the freed slot (and is held in turn).
    const next = await stream(gw);
    expect(next.status).toBe(200);
    await next.body?.cancel();
  });
});
