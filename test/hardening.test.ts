// Abuse protection through real HTTP: body limit, header limit, slow clients, long streams,
// security headers, CORS, and a /health that says nothing about the config.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { mergeDeep, sseData, TEST_TOKEN } from './helpers/gateway.ts';
import { perTestResources } from './helpers/per-test.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

const { cleanups, start, upstream } = perTestResources();

/** Writes raw bytes to the gateway and collects whatever comes back until the server closes. */
function rawConnection(port: number) {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  cleanups.push(() => void socket.destroy());
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, connected, received: () => received };
}

/**
 * Sends `pieces` one at a time, `everyMs` apart, unless the server closes the connection first.
 * Resolves with which came first: the server's close, or the client's last piece.
 */
async function drip(conn: ReturnType<typeof rawConnection>, pieces: string[], everyMs: number): Promise<'server closed' | 'client finished'> {
  let closed = false;
  void conn.closed.then(() => (closed = true));
  for (const piece of pieces) {
    if (closed) return 'server closed';
    conn.socket.write(piece);
    await Promise.race([sleep(everyMs), conn.closed]);
  }
  return closed ? 'server closed' : 'client finished';
}

/** A raw response the server wrote itself: OpenAI's error shape, its request id in header and body, and the connection closing. */
function expectJsonError(raw: string, code: string): string | undefined {
  const [head, body] = raw.split('\r\n\r\n', 2);
  expect(head).toMatch(/\r\ncontent-type: application\/json/i);
  expect(head).toMatch(/\r\nconnection: close/i);
  const requestId = /\r\nx-request-id: ([^\r]+)/i.exec(head)?.[1];
  expect(requestId).toMatch(/^[A-Za-z0-9._:-]+$/);
  expect(JSON.parse(body)).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code, request_id: requestId } });
  return requestId;
}

describe('limits', () => {
  it('413 for a body over gateway.http.maxBodyBytes, in the OpenAI error shape', async () => {
    const gw = await start({ gateway: { http: { maxBodyBytes: 1024 } } });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'x'.repeat(4096) }] }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'request_too_large', request_id: res.headers.get('x-request-id') } });
    const small = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(small.status).toBe(200);
  });

  it('a 100 KB Authorization header gets 431 and the gateway stays up', async () => {
    const gw = await start();
    const conn = rawConnection(gw.port);
    await conn.connected;
    conn.socket.write(`GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${'a'.repeat(100 * 1024)}\r\n\r\n`);
    await conn.closed;
    expect(conn.received()).toMatch(/^HTTP\/1\.1 431 /);
    expectJsonError(conn.received(), 'headers_too_large');
    const health = await fetch(`${gw.url}/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`${gw.url}/v1/models`, { headers: auth })).status).toBe(200);
  });
});

describe('slow clients and long streams', () => {
  it('keeps idle keep-alive connections for gateway.http.keepAliveTimeoutMs, announced to the client, and a reload changes it', async () => {
    const raw = { gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { keepAliveTimeoutMs: 7_000, endpoints: { chatCompletions: { enabled: true } } } } };
    const gw = await start(raw);
    const keepAlive = async () => (await fetch(`${gw.url}/health`)).headers.get('keep-alive');
    expect(await keepAlive()).toBe('timeout=7');
    gw.gateway.applyConfig(parseConfig(mergeDeep(raw, { gateway: { http: { keepAliveTimeoutMs: 61_000 } } }), {}));
    expect(await keepAlive()).toBe('timeout=61');
  });

  it('a client that sends its headers too slowly is cut off by headersTimeoutMs; the gateway keeps serving', async () => {
    // No request timeout: only headersTimeoutMs can end this.
    const gw = await start({ gateway: { http: { headersTimeoutMs: 400, requestTimeoutMs: 0 } } });
    const conn = rawConnection(gw.port);
    await conn.connected;
    const started = Date.now();
    // 200 header lines, one every 100 ms: the client would still be sending 20 s from now.
    const first = await drip(conn, ['GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n', ...Array.from({ length: 200 }, () => 'X-Slow: a\r\n'), '\r\n'], 100);
    expect(first).toBe('server closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
    expectJsonError(conn.received(), 'request_timeout');
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });

  it('a client that sends its body too slowly is cut off by requestTimeoutMs', async () => {
    const gw = await start({ gateway: { http: { headersTimeoutMs: 300, requestTimeoutMs: 600 } } });
    const conn = rawConnection(gw.port);
    await conn.connected;
    const started = Date.now();
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nX-Request-Id: slow-body-1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{`;
    // The headers arrive at once; the body one byte every 100 ms would take 20 s.
    const first = await drip(conn, [head, ...Array.from({ length: 199 }, () => ' ')], 100);
    expect(first).toBe('server closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
    // The request had reached the app: the error carries the id it was given there.
    expect(expectJsonError(conn.received(), 'request_timeout')).toBe('slow-body-1');
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });

  it('a healthy SSE stream lasting longer than requestTimeoutMs is not cut', async () => {
    const text = 'one two three four five six seven eight';
    const up = await upstream(() => ({ kind: 'text', text, chunks: 8, chunkDelayMs: 250 }));
    const gw = await start({
      gateway: { http: { headersTimeoutMs: 300, requestTimeoutMs: 600 } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl } } },
      agents: { defaults: { model: 'up/fake-model' } },
    });
    // Node times a request from its connection's accept: the gateway's background warm-up stalling
    // the loop on a loaded machine would read as a slow client (a 408) here.
    await gw.gateway.app.warmUp();
    await gw.gateway.runtime.current.providers.warmUp();
    const started = Date.now();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'count' }] }),
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(1_500);
    const data = sseData(body);
    expect(data.at(-1)).toBe('[DONE]');
    const content = data
      .slice(0, -1)
      .map((line) => JSON.parse(line))
      .map((chunk) => chunk.choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(content).toBe(text);
  });
});

describe('headers', () => {
  it('nosniff everywhere, no X-Powered-By, on success and on errors', async () => {
    const gw = await start();
    for (const [path, headers] of [
      ['/health', {}],
      ['/v1/models', auth],
      ['/v1/models', {}],
      ['/nope', {}],
      ['/openapi.json', {}],
    ] as const) {
      const res = await fetch(`${gw.url}${path}`, { headers });
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-powered-by'), path).toBeNull();
    }
  });

  it('/health says only that the process answers', async () => {
    const gw = await start({ gateway: { trustProxy: true, metrics: { enabled: true } } });
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ ok: true, status: 'live' });
    expect(JSON.stringify(body)).not.toMatch(/token|auth|port|bind|version|echo|main/i);
  });
});

describe('CORS', () => {
  it('is off by default: no CORS headers, and a preflight is not approved', async () => {
    const gw = await start();
    const res = await fetch(`${gw.url}/v1/models`, { headers: { ...auth, origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('allows only the configured origins, answering their preflights', async () => {
    const gw = await start({ gateway: { http: { cors: { origins: ['https://app.example'] } } } });
    const preflight = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/content-type/);
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect(preflight.headers.get('vary')).toMatch(/Origin/);

    const actual = await fetch(`${gw.url}/v1/models`, { headers: { ...auth, origin: 'https://app.example' } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(actual.headers.get('vary')).toMatch(/Origin/);

    const denied = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const deniedGet = await fetch(`${gw.url}/v1/models`, { headers: { ...auth, origin: 'https://evil.example' } });
    expect(deniedGet.headers.get('access-control-allow-origin')).toBeNull();

    // A cross-origin request without credentials is still refused by auth, with CORS headers so the page can read why.
    const unauthenticated = await fetch(`${gw.url}/v1/models`, { headers: { origin: 'https://app.example' } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('"*" allows any origin', async () => {
    const gw = await start({ gateway: { http: { cors: { origins: ['*'] } } } });
    const res = await fetch(`${gw.url}/v1/models`, { headers: { ...auth, origin: 'https://anything.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});
