// Failure handling of the agent run, end to end: SDK client → gateway → fake upstream.
import OpenAI from 'openai';
import { chatTranscript } from './helpers/sessions.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { sseData, startTestGateway, type TestGateway } from './helpers/gateway.ts';

const SECRET_KEY = 'sk-upstream-secret-5f1c9a7e3b';

let upstream: FakeUpstream;
let gw: TestGateway;

const provider = (extra: Record<string, unknown> = {}) => ({
  api: 'openai-completions',
  baseUrl: upstream.baseUrl,
  apiKey: SECRET_KEY,
  maxRetries: 2,
  retryBaseDelayMs: 5,
  ...extra,
});

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    gateway: { http: { keepAliveIntervalMs: 60_000 } },
    models: { providers: { up: provider(), alt: provider({ maxRetries: 0 }) } },
    agents: {
      list: [
        { id: 'main', default: true, model: { primary: 'up/primary-model', fallbacks: ['alt/fallback-model'] } },
        { id: 'solo', model: 'up/solo-model' },
        { id: 'quick', model: 'up/quick-model', timeoutSeconds: 1 },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

afterEach(() => upstream.reset());

const ask = (model = 'openclaw/main', extra: Record<string, unknown> = {}) =>
  gw.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming);

async function apiError(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

const chatRequests = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions'));

async function rawStream(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'openclaw/solo', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }),
  });
  return { status: res.status, text: await res.text() };
}

describe('retries and fallbacks', () => {
  it('retries a 5xx with backoff and succeeds on the same model', async () => {
    upstream.setScript((_req, i) => (i < 2 ? { kind: 'status', status: 503 } : { kind: 'text', text: 'third time lucky' }));
    const reply = await ask();
    expect(reply.choices[0].message.content).toBe('third time lucky');
    expect(chatRequests().map((r) => r.body.model)).toEqual(['primary-model', 'primary-model', 'primary-model']);
  });

  it('retries network failures (dropped connection) too', async () => {
    upstream.setScript((_req, i) => (i === 0 ? { kind: 'drop' } : { kind: 'text', text: 'recovered' }));
    const reply = await ask('openclaw/solo');
    expect(reply.choices[0].message.content).toBe('recovered');
    expect(chatRequests()).toHaveLength(2);
  });

  it('after maxRetries moves to the fallback model, in order', async () => {
    upstream.setScript((req) => (req.body.model === 'primary-model' ? { kind: 'status', status: 500 } : { kind: 'text', text: 'from fallback' }));
    const reply = await ask();
    expect(reply.choices[0].message.content).toBe('from fallback');
    // 1 try + 2 retries on the primary, then the fallback.
    expect(chatRequests().map((r) => r.body.model)).toEqual(['primary-model', 'primary-model', 'primary-model', 'fallback-model']);
  });

  it('answers 502 once every model failed', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 502 }));
    const error = await apiError(ask());
    expect(error.status).toBe(502);
    expect((error.error as any).code).toBe('upstream_unavailable');
    // 3 on the primary (maxRetries 2), 1 on the fallback (maxRetries 0), in that order.
    expect(chatRequests().map((r) => r.body.model)).toEqual(['primary-model', 'primary-model', 'primary-model', 'fallback-model']);
  });

  it('does not retry after the stream began: error event then [DONE]', async () => {
    upstream.setScript(() => ({ kind: 'drop_after', text: 'partial answer' }));
    const { status, text } = await rawStream({}, { 'x-request-id': 'stream-trace-1' });
    expect(status).toBe(200);
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    const error = JSON.parse(events.at(-2)!);
    expect(error.error).toMatchObject({ type: 'upstream_error', code: 'upstream_unavailable', request_id: 'stream-trace-1' });
    expect(events.some((e) => e.includes('partial answer'))).toBe(true);
    expect(chatRequests()).toHaveLength(1);
  });
});

describe('upstream status mapping', () => {
  it('429 → 429 with the upstream Retry-After, no retries', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '17' } }));
    const error = await apiError(ask('openclaw/solo'));
    expect(error.status).toBe(429);
    expect(error.headers?.get('retry-after')).toBe('17');
    expect(chatRequests()).toHaveLength(1);
  });

  it.each([401, 403])('%d → 502 naming the provider, never the key', async (status) => {
    upstream.setScript(() => ({ kind: 'status', status, body: { error: { message: `bad key ${SECRET_KEY}`, type: 'auth', param: null, code: null } } }));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw/solo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(502);
    expect(JSON.parse(text).error.message).toContain('up');
    expect(JSON.parse(text).error.code).toBe('upstream_auth_failed');
    expect(text).not.toContain(SECRET_KEY);
    expect(chatRequests()).toHaveLength(1);
    // The key did reach the upstream, as a bearer token.
    expect(chatRequests()[0].headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
  });

  it('a redirect is not followed: 502 telling the operator to fix baseUrl, the key sent nowhere else', async () => {
    upstream.setScript((_req, i) => (i === 0 ? { kind: 'status', status: 308, headers: { location: 'https://elsewhere.example/v1/chat/completions' } } : { kind: 'text', text: 'followed' }));
    const error = await apiError(ask('openclaw/solo'));
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_misconfigured');
    expect(error.message).toContain('HTTP 308 to https://elsewhere.example/v1/chat/completions');
    expect(error.message).toContain('models.providers.up.baseUrl');
    // Neither followed nor retried.
    expect(chatRequests()).toHaveLength(1);
  });

  it('malformed upstream SSE → 502', async () => {
    upstream.setScript(() => ({ kind: 'malformed' }));
    const error = await apiError(ask('openclaw/solo'));
    expect(error.status).toBe(502);
    expect((error.error as any).code).toBe('upstream_malformed');
  });

  it('malformed SSE after the first chunk → stream error event', async () => {
    upstream.setScript(() => ({ kind: 'malformed_after', text: 'some words' }));
    const { text } = await rawStream({});
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!).error.code).toBe('upstream_malformed');
  });
});

describe('timeouts and disconnects', () => {
  it('agent timeoutSeconds → 504, and the hanging upstream call is abandoned', async () => {
    upstream.setScript(() => ({ kind: 'hang' }));
    const abortsBefore = upstream.clientAborts;
    const started = Date.now();
    // The provider's own timeout (10 min) and the SDK client's (20 s) are far off: only the agent's 1 s can end this.
    const error = await apiError(ask('openclaw/quick'));
    expect(error.status).toBe(504);
    expect((error.error as any).code).toBe('agent_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    while (upstream.clientAborts === abortsBefore) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.clientAborts).toBe(abortsBefore + 1);
  });

  it('client disconnect aborts the upstream request and stores the user turn without a partial reply', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'a long slow answer that never finishes in time', chunks: 20, chunkDelayMs: 300 }));
    const abortsBefore = upstream.clientAborts;
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', 'x-openclaw-session-key': 'disconnect-test' },
      body: JSON.stringify({ model: 'openclaw/solo', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"content"')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    // The upstream sees its call abandoned, and the run ends (its turn stored, its lock released).
    while (upstream.clientAborts === abortsBefore || gw.gateway.runtime.activeRuns > 0) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.clientAborts).toBe(abortsBefore + 1);
    const transcript = await chatTranscript(gw.gateway.runtime.store!, 'agent:solo:disconnect-test');
    expect(transcript).toEqual([expect.objectContaining({ role: 'user', content: 'hi' })]);
  });

  it('a client that leaves a non-streaming run (the whole answer awaited) aborts the upstream request too', async () => {
    upstream.setScript(() => ({ kind: 'hang' }));
    const abortsBefore = upstream.clientAborts;
    const requestsBefore = upstream.requests.length;
    const controller = new AbortController();
    const answered = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', 'x-openclaw-session-key': 'disconnect-whole' },
      body: JSON.stringify({ model: 'openclaw/solo', messages: [{ role: 'user', content: 'hello' }] }),
    }).catch((error: unknown) => error);
    while (upstream.requests.length === requestsBefore) await new Promise((r) => setTimeout(r, 10));
    expect(upstream.requests.at(-1)!.body.stream).not.toBe(true);
    controller.abort();
    expect(await answered).toMatchObject({ name: 'AbortError' });
    while (upstream.clientAborts === abortsBefore || gw.gateway.runtime.activeRuns > 0) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.clientAborts).toBe(abortsBefore + 1);
    const transcript = await chatTranscript(gw.gateway.runtime.store!, 'agent:solo:disconnect-whole');
    expect(transcript).toEqual([expect.objectContaining({ role: 'user', content: 'hello' })]);
  });
});

describe('upstream errors inside the stream', () => {
  const upstreamError = { message: 'model overloaded, try again later', type: 'server_error', code: 'overloaded' };
  const unavailable = (detail: string) => `Provider up reported an error in its stream: ${detail}`;
  /** The content deltas of relayed chunks, joined. */
  const streamedContent = (events: string[]) => events.map((e) => JSON.parse(e).choices?.[0]?.delta?.content ?? '').join('');

  it('after some content: the partial content, an error event, [DONE]; no retry, no stored reply', async () => {
    upstream.setScript(() => ({ kind: 'error_event', text: 'partial answer', error: upstreamError }));
    const { status, text } = await rawStream({}, { 'x-request-id': 'stream-error-1', 'x-openclaw-session-key': 'stream-error-test' });
    expect(status).toBe(200);
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!)).toEqual({
      error: { message: unavailable(upstreamError.message), type: 'upstream_error', param: null, code: 'upstream_unavailable', request_id: 'stream-error-1' },
    });
    const chunks = events.slice(0, -2);
    expect(streamedContent(chunks)).toBe('partial answer');
    // The relayed chunks never claimed a finished reply.
    expect(chunks.map((e) => JSON.parse(e).choices?.[0]?.finish_reason ?? null).filter((f) => f !== null)).toEqual([]);
    expect(chatRequests()).toHaveLength(1);
    const store = gw.gateway.runtime.store;
    expect(store).toBeDefined();
    const transcript = await chatTranscript(store!, 'agent:solo:stream-error-test');
    // The user's turn is kept; the half reply is not stored as an assistant message.
    expect(transcript).toEqual([expect.objectContaining({ role: 'user', content: 'hi' })]);
  });

  it('before any content (non-stream): retried maxRetries times, then 502 upstream_unavailable', async () => {
    upstream.setScript(() => ({ kind: 'error_event', error: upstreamError }));
    const error = await apiError(ask('openclaw/solo'));
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(502);
    // The upstream's own message is passed through, after the provider's name.
    expect(error.error).toMatchObject({ type: 'upstream_error', code: 'upstream_unavailable', message: unavailable(upstreamError.message) });
    // 1 try + maxRetries 2 on the `up` provider.
    expect(chatRequests().map((r) => r.body.model)).toEqual(['solo-model', 'solo-model', 'solo-model']);
  });

  it('before any content: after the retries the fallback model answers', async () => {
    upstream.setScript((req) => (req.body.model === 'primary-model' ? { kind: 'error_event', error: upstreamError } : { kind: 'text', text: 'from fallback' }));
    const reply = await ask();
    expect(reply.choices[0].message.content).toBe('from fallback');
    expect(chatRequests().map((r) => r.body.model)).toEqual(['primary-model', 'primary-model', 'primary-model', 'fallback-model']);
  });

  it.each([
    { name: 'event: error with an error field', bare: false, detail: upstreamError.message },
    { name: 'event: error whose data has no error field', bare: true, detail: JSON.stringify(upstreamError) },
  ])('a named error event ($name) after some content is relayed like an unnamed one', async ({ bare, detail }) => {
    upstream.setScript(() => ({ kind: 'error_event', text: 'partial answer', error: upstreamError, named: true, bare }));
    const { status, text } = await rawStream({}, { 'x-request-id': 'stream-error-named' });
    expect(status).toBe(200);
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!).error).toMatchObject({ message: unavailable(detail), code: 'upstream_unavailable', request_id: 'stream-error-named' });
    expect(streamedContent(events.slice(0, -2))).toBe('partial answer');
    expect(chatRequests()).toHaveLength(1);
  });

  it.each(['42', '"overloaded"', 'null'])('a stream event that is JSON but not an object (%s) → 502 upstream_malformed, not retried', async (data) => {
    upstream.setScript(() => ({ kind: 'non_object_chunk', data }));
    const error = await apiError(ask('openclaw/solo'));
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ type: 'upstream_error', code: 'upstream_malformed', message: 'Provider up sent an invalid response.' });
    expect(chatRequests()).toHaveLength(1);
  });
});
