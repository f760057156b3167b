// The WebSocket at /ws on the gateway's own port, driven by a real `ws` client.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';

type Frame = { type: string; id?: unknown; ok?: boolean; result?: any; error?: any; event?: string; payload?: any };

/** A test client: collects every frame and lets a test wait for the one it needs. */
class Client {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  /** The `x-request-id` of the 101 response: the connection's id, quoted by errors outside runs. */
  upgradeRequestId?: string;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', options);
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.ws.on('error', () => {});
    this.ws.on('upgrade', (res) => (this.upgradeRequestId = res.headers['x-request-id'] as string));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, res })));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame that matches, as soon as it has arrived (the test's own timeout is the limit). */
  async waitFor(match: (frame: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  response(id: unknown): Promise<Frame> {
    return this.waitFor((frame) => frame.type === 'res' && frame.id === id);
  }

  async request(id: unknown, method: string, params?: unknown): Promise<Frame> {
    this.send({ type: 'req', id, method, ...(params === undefined ? {} : { params }) });
    return this.response(id);
  }
}

const bearer = { headers: { Authorization: `Bearer ${TEST_TOKEN}` } };

let gw: TestGateway | undefined;
let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await gw?.close();
  await upstream?.close();
  gw = undefined;
  upstream = undefined;
});

describe('WebSocket auth', () => {
  it('accepts a Bearer header on the upgrade', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url, bearer);
    await client.opened;
    const res = await client.request(1, 'health');
    expect(res).toEqual({ type: 'res', id: 1, ok: true, result: { ok: true, status: 'live' } });
    client.ws.close();
  });

  it('refuses a wrong Bearer header with a 401 in the OpenAI shape', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url, { headers: { Authorization: 'Bearer nope' } });
    const error: any = await client.opened.catch((e) => e);
    expect(error.status).toBe(401);
    expect(error.res.headers['www-authenticate']).toBe('Bearer');
    const body = await new Promise<string>((resolve) => {
      let text = '';
      error.res.on('data', (chunk: Buffer) => (text += chunk));
      error.res.on('end', () => resolve(text));
    });
    expect(JSON.parse(body)).toEqual({ error: { message: 'Invalid gateway token.', type: 'invalid_request_error', param: null, code: 'invalid_api_key', request_id: error.res.headers['x-request-id'] } });
  });

  it('lets a browser authenticate with a connect frame, and accepts only connect before that', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url);
    await client.opened;
    const early = await client.request('a', 'health');
    expect(early.ok).toBe(false);
    expect(early.error).toMatchObject({ type: 'invalid_request_error', code: 'not_connected', param: null });
    const connected = await client.request('b', 'connect', { token: TEST_TOKEN });
    expect(connected.ok).toBe(true);
    expect(connected.result.methods).toContain('agent.run');
    expect((await client.request('c', 'health')).ok).toBe(true);
    client.ws.close();
  });

  it('rejects a wrong secret in the connect frame and closes the socket', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url);
    await client.opened;
    const res = await client.request(7, 'connect', { token: 'wrong-token' });
    expect(res.ok).toBe(false);
    expect(res.error).toEqual({ message: 'Invalid gateway token.', type: 'invalid_request_error', param: null, code: 'invalid_api_key', request_id: client.upgradeRequestId });
    expect(client.upgradeRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.closed).code).toBe(1008);
  });

  it('applies the lockout to WebSocket guesses too', async () => {
    gw = await startTestGateway({ gateway: { auth: { rateLimit: { maxAttempts: 2, exemptLoopback: false } } } });
    for (let i = 0; i < 2; i++) {
      const error: any = await new Client(gw.url, { headers: { Authorization: 'Bearer nope' } }).opened.catch((e) => e);
      expect(error.status).toBe(401);
    }
    const locked: any = await new Client(gw.url, bearer).opened.catch((e) => e);
    expect(locked.status).toBe(429);
    expect(Number(locked.res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers 404 to an upgrade on another path', async () => {
    gw = await startTestGateway();
    const ws = new WebSocket(gw.url.replace('http', 'ws') + '/elsewhere', bearer);
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(404);
  });
});

describe('WebSocket agent runs', () => {
  it('streams agent.delta events and answers with the same content as HTTP', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url, bearer);
    await client.opened;
    const res = await client.request('run-1', 'agent.run', { message: 'hello over the socket' });
    expect(res.ok).toBe(true);
    const start = client.frames.find((frame) => frame.event === 'agent.start')!;
    expect(start.payload).toMatchObject({ id: 'run-1', agentId: 'main', sessionKey: null });
    const deltas = client.frames.filter((frame) => frame.event === 'agent.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((frame) => frame.payload.runId === res.result.runId)).toBe(true);
    const streamed = deltas.map((frame) => frame.payload.delta.text).join('');
    expect(streamed).toBe('Echo: hello over the socket');
    expect(res.result).toMatchObject({ runId: start.payload.runId, content: 'Echo: hello over the socket', finishReason: 'stop' });

    const http = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hello over the socket' }] });
    expect(http.choices[0].message.content).toBe(res.result.content);
    client.ws.close();
  });

  it('keeps a session by sessionKey and lists it', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url, bearer);
    await client.opened;
    expect((await client.request(1, 'agent.run', { message: 'first', sessionKey: 'ws-test' })).result.sessionKey).toBe('agent:main:ws-test');
    await client.request(2, 'agent.run', { message: 'second', sessionKey: 'ws-test' });
    const list = await client.request(3, 'sessions.list');
    expect(list.ok).toBe(true);
    expect(list.result.sessions.map((s: any) => s.key)).toContain('agent:main:ws-test');
    const history = await client.request(4, 'sessions.history', { key: 'agent:main:ws-test' });
    expect(history.result.messages.map((m: any) => m.content)).toEqual(['first', 'Echo: first', 'second', 'Echo: second']);
    const missing = await client.request(5, 'sessions.history', { key: 'agent:main:nope' });
    expect(missing.error.code).toBe('session_not_found');
    client.ws.close();
  });

  it('gives the HTTP errors for an unknown agent, naming the frame’s field', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url, bearer);
    await client.opened;
    const res = await client.request(1, 'agent.run', { message: 'hi', model: 'openclaw/ghost' });
    expect(res.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'params.model' });
    client.ws.close();
  });

  it('aborts a run on agent.abort, and the upstream call with it', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'hang' }));
    gw = await startTestGateway({ models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } }, agents: { defaults: { model: 'up/fake-model' } } });
    const client = new Client(gw.url, bearer);
    await client.opened;
    client.send({ type: 'req', id: 'slow', method: 'agent.run', params: { message: 'take your time' } });
    const start = await client.waitFor((frame) => frame.event === 'agent.start');
    await waitUntil(() => upstream!.requests.length === 1);
    // The run's request id travels upstream, as for HTTP runs.
    expect(upstream.requests[0].headers['x-request-id']).toBe(start.payload.requestId);
    const abort = await client.request('stop', 'agent.abort', { runId: start.payload.runId });
    expect(abort.result).toEqual({ runId: start.payload.runId, aborted: true });
    const run = await client.response('slow');
    expect(run.ok).toBe(false);
    expect(run.error.code).toBe('run_aborted');
    expect(run.error.request_id).toBe(start.payload.requestId);
    await waitUntil(() => upstream!.clientAborts === 1);
    expect((await client.request('again', 'agent.abort', { runId: start.payload.runId })).error.code).toBe('run_not_found');
    client.ws.close();
  });

  it('aborts the runs of a socket that closes', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'hang' }));
    gw = await startTestGateway({ models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } }, agents: { defaults: { model: 'up/fake-model' } } });
    const client = new Client(gw.url, bearer);
    await client.opened;
    client.send({ type: 'req', id: 1, method: 'agent.run', params: { message: 'hang' } });
    await client.waitFor((frame) => frame.event === 'agent.start');
    await waitUntil(() => upstream!.requests.length === 1);
    expect(gw.gateway.runtime.activeRuns).toBe(1);
    client.ws.close();
    await waitUntil(() => upstream!.clientAborts === 1 && gw!.gateway.runtime.activeRuns === 0);
    expect(upstream.clientAborts).toBe(1);
    expect(gw.gateway.runtime.activeRuns).toBe(0);
  });
});

describe('WebSocket frames', () => {
  it('answers bad frames with an error and keeps the socket open', async () => {
    gw = await startTestGateway();
    const client = new Client(gw.url, bearer);
    await client.opened;
    client.send('{not json');
    const notJson = await client.waitFor((frame) => frame.type === 'res' && frame.id === null);
    expect(notJson.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', param: null });

    const unknown = await client.request(2, 'agent.fly');
    expect(unknown.error).toMatchObject({ code: 'invalid_frame', param: 'method' });
    expect(unknown.error.message).toContain('agent.run');

    const noMessage = await client.request(3, 'agent.run', {});
    expect(noMessage.error).toMatchObject({ code: 'invalid_frame', param: 'params' });

    const badType = await client.request(4, 'agent.run', { message: 42 });
    expect(badType.error).toMatchObject({ code: 'invalid_frame', param: 'params.message' });

    client.send({ id: 5, method: 'health' });
    expect((await client.response(5)).error).toMatchObject({ code: 'invalid_frame', param: 'type' });

    expect((await client.request(6, 'health')).ok).toBe(true);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });

  it('names the frame’s params, not HTTP headers or body fields, when a run is refused', async () => {
    gw = await startTestGateway({ agents: { list: [{ id: 'main', default: true }] } });
    const client = new Client(gw.url, bearer);
    await client.opened;
    const badAgent = await client.request(1, 'agent.run', { message: 'hi', agent: 'Bad Id!' });
    expect(badAgent.error).toMatchObject({ code: 'invalid_agent_id', param: 'params.agent' });
    expect(badAgent.error.message).toMatch(/^params\.agent must be an agent id/);
    expect(badAgent.error.message).not.toContain('x-openclaw');

    const unknownAgent = await client.request(2, 'agent.run', { message: 'hi', agent: 'nobody' });
    expect(unknownAgent.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'params.agent' });
    expect(unknownAgent.error.message).toMatch(/^params\.agent names agent "nobody", which is not configured/);

    const badKey = await client.request(3, 'agent.run', { message: 'hi', sessionKey: 'cron:nightly' });
    expect(badKey.error).toMatchObject({ code: 'invalid_session_key', param: 'params.sessionKey' });
    expect(badKey.error.message).toMatch(/^params\.sessionKey uses the reserved session namespace/);

    const unknownModel = await client.request(4, 'agent.run', { message: 'hi', model: 'gpt-4o' });
    expect(unknownModel.error).toMatchObject({ code: 'model_not_found', param: 'params.model' });

    const noUser = await client.request(5, 'agent.run', { messages: [{ role: 'system', content: 'only rules' }] });
    expect(noUser.error).toMatchObject({ type: 'invalid_request_error', param: 'params.messages' });

    // The same refusals over HTTP still name the header.
    const http = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'x-openclaw-agent-id': 'nobody' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect((await http.json()).error.message).toMatch(/^Header x-openclaw-agent-id names agent "nobody"/);
    client.ws.close();
  });

  it('closes with 1009 on a frame over gateway.ws.maxPayloadBytes', async () => {
    gw = await startTestGateway({ gateway: { ws: { maxPayloadBytes: 1024 } } });
    const client = new Client(gw.url, bearer);
    await client.opened;
    client.send({ type: 'req', id: 1, method: 'agent.run', params: { message: 'x'.repeat(2048) } });
    expect((await client.closed).code).toBe(1009);
  });

  it('drops a peer that stops answering pings, at the heartbeat after an unanswered ping', async () => {
    gw = await startTestGateway({ gateway: { ws: { heartbeatIntervalMs: 100 } } });
    const client = new Client(gw.url, { ...bearer, autoPong: false });
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await client.opened;
    const { code } = await client.closed;
    // Terminated (no close frame), after being pinged once and not answering.
    expect(code).toBe(1006);
    expect(pings).toBe(1);
    await waitUntil(() => gw!.gateway.ws.connectionCount === 0);
    expect(gw.gateway.ws.connectionCount).toBe(0);
  });

  it('keeps a peer that answers pings', async () => {
    // The peer answers within the same process, so the interval leaves room for a busy event loop
    // (the whole suite runs at once on a shared machine) to read the pong in time.
    gw = await startTestGateway({ gateway: { ws: { heartbeatIntervalMs: 1_000 } } });
    const client = new Client(gw.url, bearer);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await client.opened;
    // Three heartbeats, each of which would have dropped a peer that did not answer the one before.
    await waitUntil(() => pings >= 3 || client.ws.readyState !== WebSocket.OPEN);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    expect((await client.request(1, 'health')).ok).toBe(true);
    client.ws.close();
  });

  it('keeps a peer whose pong arrived while the gateway’s event loop was stalled', async () => {
    gw = await startTestGateway({ gateway: { ws: { heartbeatIntervalMs: 100 } } });
    const client = new Client(gw.url, bearer);
    let pings = 0;
    let stalled = false;
    client.ws.on('ping', () => {
      pings++;
      if (stalled) return;
      stalled = true;
      // The client has already answered (ws sends the pong before emitting 'ping'); the gateway
      // shares this process, so blocking here stalls it past its next heartbeat with the pong
      // unread.
      const until = performance.now() + 250;
      while (performance.now() < until);
    });
    await client.opened;
    await waitUntil(() => pings >= 4 || client.ws.readyState !== WebSocket.OPEN);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });
});

describe('one port, shutdown', () => {
  it('serves HTTP and WebSocket concurrently on the same port', async () => {
    gw = await startTestGateway();
    const clients = [new Client(gw.url, bearer), new Client(gw.url, bearer)];
    await Promise.all(clients.map((client) => client.opened));
    const [a, b, http, health] = await Promise.all([
      clients[0].request(1, 'agent.run', { message: 'one' }),
      clients[1].request(1, 'agent.run', { message: 'two' }),
      gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'three' }] }),
      fetch(`${gw.url}/health`).then((res) => res.json()),
    ]);
    expect(a.result.content).toBe('Echo: one');
    expect(b.result.content).toBe('Echo: two');
    expect(http.choices[0].message.content).toBe('Echo: three');
    expect(health).toEqual({ ok: true, status: 'live' });
    for (const client of clients) client.ws.close();
  });

  it('answers a plain HTTP request on /ws with 426 and the Upgrade header, in the OpenAI error shape', async () => {
    gw = await startTestGateway();
    const res = await fetch(`${gw.url}/ws`, { headers: { ...bearer.headers } });
    expect(res.status).toBe(426);
    expect(res.headers.get('upgrade')).toBe('websocket');
    expect(await res.json()).toEqual({
      error: { message: expect.stringContaining('upgrade'), type: 'invalid_request_error', param: null, code: 'upgrade_required', request_id: res.headers.get('x-request-id') },
    });
  });

  it('closes sockets with 1001 on shutdown, after letting a run finish within the grace', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'text', text: 'slow but sure', delayMs: 300 }));
    gw = await startTestGateway({ models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } }, agents: { defaults: { model: 'up/fake-model' } } });
    const idle = new Client(gw.url, bearer);
    const busy = new Client(gw.url, bearer);
    await Promise.all([idle.opened, busy.opened]);
    busy.send({ type: 'req', id: 'r', method: 'agent.run', params: { message: 'go' } });
    await busy.waitFor((frame) => frame.event === 'agent.start');
    const closing = gw.gateway.close({ graceMs: 5_000 });
    expect((await idle.closed).code).toBe(1001);
    const run = await busy.response('r');
    expect(run.result.content).toBe('slow but sure');
    expect((await busy.closed).code).toBe(1001);
    await closing;
    gw = undefined;
  });

  it('aborts runs still going when the grace ends, and closes with 1001', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'hang' }));
    gw = await startTestGateway({ models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } }, agents: { defaults: { model: 'up/fake-model' } } });
    const client = new Client(gw.url, bearer);
    await client.opened;
    client.send({ type: 'req', id: 'r', method: 'agent.run', params: { message: 'hang' } });
    await client.waitFor((frame) => frame.event === 'agent.start');
    await waitUntil(() => upstream!.requests.length === 1);
    const started = Date.now();
    // The upstream never answers: close() can only return because the grace ended the run.
    await gw.gateway.close({ graceMs: 200 });
    const closedAfter = Date.now() - started;
    const runs = gw.gateway.runtime.activeRuns;
    gw = undefined;
    expect((await client.closed).code).toBe(1001);
    expect(closedAfter).toBeGreaterThanOrEqual(200);
    expect(runs).toBe(0);
    await waitUntil(() => upstream!.clientAborts === 1);
    expect(upstream.clientAborts).toBe(1);
  });
});

/** Resolves once `condition` holds (the test's own timeout is the limit). */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}
