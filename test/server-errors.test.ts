// Errors the HTTP server sends itself, before or outside the app (its parser, Expect, pipelining),
// over raw sockets: each one OpenAI's JSON error shape with a request id, the connection closing
// after it, the gateway serving on.
import { describe, expect, it } from 'vitest';
import { sseData, TEST_TOKEN } from './helpers/gateway.ts';
import { parseResponses, rawConnection, type RawResponse } from './helpers/raw-http.ts';
import { perTestResources } from './helpers/per-test.ts';

const { cleanups, start, upstream } = perTestResources();

/** Sends `bytes` on a new connection and returns every response the server wrote before it closed the connection. */
async function exchange(port: number, bytes: string): Promise<RawResponse[]> {
  const conn = rawConnection(port);
  cleanups.push(() => void conn.socket.destroy());
  await conn.connected;
  conn.socket.write(bytes, 'latin1');
  await conn.closed;
  return parseResponses(conn.received());
}

function expectJsonError(response: RawResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.headers.connection).toBe('close');
  const requestId = response.headers['x-request-id'];
  expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(JSON.parse(response.body)).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: code === 'expectation_failed' ? 'Expect' : null, code, request_id: requestId } });
}

const chatHead = (body: string, extra = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`;

describe('requests the parser refuses', () => {
  const malformed: Array<[string, string]> = [
    ['Content-Length together with Transfer-Encoding', 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a chunk size that is not hexadecimal', 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['a control character in a header value', 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\x01b\r\n\r\n'],
    ['a space in a header name', 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n'],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
  ];
  it.each(malformed)('%s: 400 malformed_request as JSON, then the connection closes', async (_name, bytes) => {
    const gw = await start();
    const responses = await exchange(gw.port, bytes);
    expect(responses).toHaveLength(1);
    expectJsonError(responses[0], 400, 'malformed_request');
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });

  it('a body with a broken chunk on a request the app is reading: one 400 under the id the app gave it', async () => {
    const gw = await start();
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nX-Request-Id: broken-chunk-1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const conn = rawConnection(gw.port);
    cleanups.push(() => void conn.socket.destroy());
    await conn.connected;
    // The app takes the request (and names it) at its headers; the broken chunk comes in its body.
    conn.socket.write(`${head}2\r\n{"\r\nxyz\r\n`);
    await conn.closed;
    const responses = parseResponses(conn.received());
    expect(responses).toHaveLength(1);
    expectJsonError(responses[0], 400, 'malformed_request');
    expect(responses[0].headers['x-request-id']).toBe('broken-chunk-1');
  });
});

describe('Expect', () => {
  it('an Expect other than 100-continue gets 417 expectation_failed as JSON', async () => {
    const gw = await start();
    const responses = await exchange(gw.port, 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: expect-1\r\nExpect: teapot\r\n\r\n');
    expect(responses).toHaveLength(1);
    expectJsonError(responses[0], 417, 'expectation_failed');
    expect(responses[0].headers['x-request-id']).toBe('expect-1');
  });

  it('Expect: 100-continue gets its go-ahead, then the answer', async () => {
    const gw = await start();
    const body = JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'after continue' }] });
    const conn = rawConnection(gw.port);
    cleanups.push(() => void conn.socket.destroy());
    await conn.connected;
    conn.socket.write(chatHead(body, 'Expect: 100-continue\r\nConnection: close\r\n'));
    await conn.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    conn.socket.write(body);
    await conn.closed;
    const [go, answer] = parseResponses(conn.received());
    expect(go.status).toBe(100);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).choices[0].message.content).toBe('Echo: after continue');
  });
});

describe('a malformed request pipelined behind a stream', () => {
  it('lets the stream end whole, then answers 400 and closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const text = 'one two three four five six';
    const up = await upstream(() => ({ kind: 'text', text, chunks: 6, holdAfter: { chunks: 2, until: gate } }));
    const gw = await start({ models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl } } }, agents: { defaults: { model: 'up/fake-model' } } });
    const body = JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'count' }] });
    const conn = rawConnection(gw.port);
    cleanups.push(() => void conn.socket.destroy());
    await conn.connected;
    // Both in one write: the parser meets the malformed request while the stream has not begun.
    conn.socket.write(`${chatHead(body, 'X-Request-Id: stream-1\r\n')}${body}GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n`);
    // The stream is under way (its first content arrived) and the connection still open.
    await conn.waitFor(/"content":"one/);
    expect(conn.socket.destroyed).toBe(false);
    release();
    await conn.closed;

    const responses = parseResponses(conn.received());
    expect(responses.map((response) => response.status)).toEqual([200, 400]);
    const [stream, error] = responses;
    expect(stream.headers['x-request-id']).toBe('stream-1');
    const data = sseData(stream.body);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line));
    expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('')).toBe(text);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expectJsonError(error, 400, 'malformed_request');
    expect(error.headers['x-request-id']).not.toBe('stream-1');
    // The gateway serves on.
    expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(200);
  });

  it('the stream outlasting headersTimeoutMs and requestTimeoutMs is still not cut', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const up = await upstream(() => ({ kind: 'text', text: 'slow and whole', chunks: 3, holdAfter: { chunks: 1, until: gate } }));
    const gw = await start({
      gateway: { http: { headersTimeoutMs: 300, requestTimeoutMs: 500 } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl } } },
      agents: { defaults: { model: 'up/fake-model' } },
    });
    // Node times a connection from its accept: the gateway's background warm-up (the validator, the
    // provider client), stalling the loop on a loaded machine, would read as a slow client here.
    await gw.gateway.app.warmUp();
    await gw.gateway.runtime.current.providers.warmUp();
    const body = JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'count' }] });
    const conn = rawConnection(gw.port);
    cleanups.push(() => void conn.socket.destroy());
    await conn.connected;
    conn.socket.write(`${chatHead(body)}${body}GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n`);
    await conn.waitFor(/"content":"slow/);
    // Several rounds of the server's timeout checks pass while the stream is held.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(conn.socket.destroyed).toBe(false);
    release();
    await conn.closed;
    const responses = parseResponses(conn.received());
    expect(responses.map((response) => response.status)).toEqual([200, 400]);
    expect(sseData(responses[0].body).at(-1)).toBe('[DONE]');
    expectJsonError(responses[1], 400, 'malformed_request');
  });

  it('a request pipelined behind one waiting for its model, timing out in its body: the first is answered whole, then the 408 is the late one’s', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const up = await upstream(() => ({ kind: 'gated', until: gate, then: { kind: 'text', text: 'the real answer', chunks: 1 } }));
    const gw = await start({
      gateway: { http: { headersTimeoutMs: 300, requestTimeoutMs: 500 } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl } } },
      agents: { defaults: { model: 'up/fake-model' } },
    });
    await gw.gateway.app.warmUp();
    await gw.gateway.runtime.current.providers.warmUp();
    const first = JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });
    const conn = rawConnection(gw.port);
    cleanups.push(() => void conn.socket.destroy());
    await conn.connected;
    // The first request whole (its run waits for the gated model), the second with 5 of its 500 bytes.
    conn.socket.write(`${chatHead(first, 'X-Request-Id: first\r\n')}${first}`);
    while (up.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    conn.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: late\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"mo`);
    // Past the late request's timeout, with the first still waiting for its model.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(conn.socket.destroyed).toBe(false);
    release();
    await conn.closed;
    const responses = parseResponses(conn.received());
    expect(responses.map((response) => response.status)).toEqual([200, 408]);
    expect(responses[0].headers['x-request-id']).toBe('first');
    expect(JSON.parse(responses[0].body).choices[0].message.content).toBe('the real answer');
    expectJsonError(responses[1], 408, 'request_timeout');
    expect(responses[1].headers['x-request-id']).toBe('late');
  });

  it('behind a request that closes the connection: its response whole, and nothing after it', async () => {
    const gw = await start();
    const body = JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'last one' }] });
    const responses = await exchange(gw.port, `${chatHead(body, 'Connection: close\r\n')}${body}GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n`);
    expect(responses.map((response) => response.status)).toEqual([200]);
    expect(JSON.parse(responses[0].body).choices[0].message.content).toBe('Echo: last one');
  });

  it('answers every valid request pipelined before the malformed one first, in order', async () => {
    const gw = await start();
    const body = JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'first' }] });
    const responses = await exchange(gw.port, `${chatHead(body)}${body}GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 400]);
    expect(JSON.parse(responses[0].body).choices[0].message.content).toBe('Echo: first');
    expectJsonError(responses[2], 400, 'malformed_request');
  });
});
