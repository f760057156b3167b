// Every check that can fail before the model has accepted the run, sent twice: once streaming and
// once not. Both must get the same status and the same error body (apart from the request id),
// and the streaming one must never be a 200 followed by an error in the stream.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const MAX_BODY_BYTES = 64 * 1024;

let upstream: FakeUpstream;
let gw: TestGateway;
let disabled: TestGateway;

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  // The upstream fails each first model call the way its model name says.
  upstream = await startFakeUpstream((request) => {
    switch (request.body?.model) {
      case 'refusing-model':
        return { kind: 'status', status: 503 };
      case 'limiting-model':
        return { kind: 'status', status: 429, headers: { 'retry-after': '17' } };
      case 'credential-refusing-model':
        return { kind: 'status', status: 401, body: { error: { message: 'bad key', type: 'auth', param: null, code: null } } };
      case 'silent-model':
        return { kind: 'hang' };
      default:
        return { kind: 'text', text: 'fine' };
    }
  });
  const provider = { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 1, retryBaseDelayMs: 1 };
  gw = await startTestGateway({
    // No keep-alive falls due while these runs wait: what they answer is the check's own answer.
    gateway: { trustProxy: true, http: { keepAliveIntervalMs: 60_000, maxBodyBytes: MAX_BODY_BYTES }, auth: { rateLimit: { maxAttempts: 3, lockoutMs: 60_000 } } },
    models: {
      providers: {
        up: provider,
        down: { ...provider, baseUrl: `http://127.0.0.1:${await closedPort()}/v1` },
        listed: { ...provider, models: ['big-model'] },
      },
    },
    agents: {
      defaults: { model: 'up/fine-model' },
      list: [
        { id: 'main', default: true },
        { id: 'unreachable', model: 'down/any-model' },
        { id: 'refusing', model: 'up/refusing-model' },
        { id: 'limiting', model: 'up/limiting-model' },
        { id: 'locked', model: 'up/credential-refusing-model' },
        { id: 'silent', model: 'up/silent-model', timeoutSeconds: 1 },
        { id: 'quick', timeoutSeconds: 1 },
      ],
    },
  });
  disabled = await startTestGateway({ gateway: { http: { endpoints: { chatCompletions: { enabled: false } } } } });
});

afterAll(async () => {
  await gw?.close();
  await disabled?.close();
  await upstream?.close();
});

const user = (content: unknown) => ({ role: 'user', content });
const hi = [user('hi')];

interface Case {
  name: string;
  /** The request body; `stream` is added per variant. */
  body?: Record<string, unknown>;
  /** A body that is not a JSON object, for each variant. */
  raw?: (stream: boolean) => string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  param?: string | null;
  target?: () => TestGateway;
  /** Model calls each variant makes (0: refused before the model; more: the first call failing). */
  modelCalls?: number;
  /** Runs before the two variants (a lockout to set up); returns what to undo after. */
  setup?: () => Promise<(() => Promise<void>) | void>;
  /** The two variants when `stream: true` cannot be one of them (the case is about a non-streaming request). */
  variants?: [Record<string, unknown>, Record<string, unknown>];
}

const cases: Case[] = [
  // Agent target
  { name: 'malformed agent id in `model`', body: { model: 'openclaw/Bad Id!', messages: hi }, status: 400, code: 'invalid_agent_id', param: 'model' },
  { name: 'malformed agent id in the header', body: { messages: hi }, headers: { 'x-openclaw-agent-id': 'bad id!' }, status: 400, code: 'invalid_agent_id', param: null },
  { name: 'unknown agent in `model`', body: { model: 'openclaw/ghost', messages: hi }, status: 404, code: 'model_not_found', param: 'model' },
  { name: 'unknown agent in the header', body: { messages: hi }, headers: { 'x-openclaw-agent-id': 'ghost' }, status: 404, code: 'model_not_found', param: null },
  { name: '`model` that is no agent target', body: { model: 'gpt-4o', messages: hi }, status: 404, code: 'model_not_found', param: 'model' },
  // Session key
  { name: 'empty session key', body: { messages: hi }, headers: { 'x-openclaw-session-key': '' }, status: 400, code: 'invalid_session_key', param: null },
  { name: 'session key over 256 characters', body: { messages: hi }, headers: { 'x-openclaw-session-key': 'k'.repeat(257) }, status: 400, code: 'invalid_session_key', param: null },
  { name: 'session key with a non-printable character', body: { messages: hi }, headers: { 'x-openclaw-session-key': 'a\tb' }, status: 400, code: 'invalid_session_key', param: null },
  ...['cron:nightly', 'subagent:x', 'acp:x', 'CRON:upper'].map((key): Case => ({
    name: `session key in a reserved namespace (${key})`,
    body: { messages: hi },
    headers: { 'x-openclaw-session-key': key },
    status: 400,
    code: 'invalid_session_key',
    param: null,
  })),
  // Model override
  { name: 'x-openclaw-model naming an unknown provider', body: { messages: hi }, headers: { 'x-openclaw-model': 'nope/some-model' }, status: 404, code: 'model_not_found', param: null },
  { name: 'x-openclaw-model naming a model outside the provider’s list', body: { messages: hi }, headers: { 'x-openclaw-model': 'listed/unlisted-model' }, status: 404, code: 'model_not_found', param: null },
  { name: 'x-openclaw-model without a provider', body: { messages: hi }, headers: { 'x-openclaw-model': 'no-slash' }, status: 404, code: 'model_not_found', param: null },
  // Message rules
  { name: 'no user message', body: { messages: [{ role: 'system', content: 'rules only' }] }, status: 400, code: 'invalid_value', param: 'messages' },
  { name: '[user, assistant]: no new turn', body: { messages: [user('q'), { role: 'assistant', content: 'a' }] }, status: 400, code: 'invalid_value', param: 'messages' },
  {
    name: 'stream_options without stream (sent with stream false and without stream)',
    body: { messages: hi, stream_options: { include_usage: true } },
    variants: [{ stream: false }, {}],
    status: 400,
    code: 'invalid_value',
    param: 'stream_options',
  },
  { name: 'tool_choice naming a function without tools', body: { messages: hi, tool_choice: { type: 'function', function: { name: 'f' } } }, status: 400, code: 'invalid_value', param: 'tool_choice' },
  { name: 'tool_choice "required" without tools', body: { messages: hi, tool_choice: 'required' }, status: 400, code: 'invalid_value', param: 'tool_choice' },
  {
    name: 'tool_choice naming a function not in tools',
    body: { messages: hi, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } },
    status: 400,
    code: 'invalid_value',
    param: 'tool_choice.function.name',
  },
  {
    name: 'image data URI that is not base64 image data',
    body: { messages: [user([{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }])] },
    status: 400,
    code: 'invalid_image_url',
    param: 'messages[0].content[1].image_url.url',
  },
  {
    name: 'image URL that is neither data: nor http(s)',
    body: { messages: [user([{ type: 'image_url', image_url: { url: 'ftp://example.com/cat.png' } }, { type: 'text', text: 'look' }])] },
    status: 400,
    code: 'invalid_image_url',
    param: 'messages[0].content[0].image_url.url',
  },
  {
    name: 'remote image URL for an agent that accepts data: URIs only',
    body: { messages: [user('first'), { role: 'assistant', content: 'ok' }, user([{ type: 'image_url', image_url: { url: PNG } }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])] },
    status: 400,
    code: 'image_url_not_allowed',
    param: 'messages[2].content[1].image_url.url',
  },
  // Body validation
  { name: 'temperature out of range', body: { messages: hi, temperature: 3 }, status: 400, code: 'invalid_value', param: 'temperature' },
  { name: 'messages that are not an array', body: { messages: 'hi' }, status: 400, code: 'invalid_value', param: 'messages' },
  { name: 'message content of the wrong type', body: { messages: [user(42)] }, status: 400, code: 'invalid_value', param: 'messages[0].content' },
  { name: 'unknown role', body: { messages: [{ role: 'robot', content: 'x' }] }, status: 400, code: 'invalid_value', param: 'messages[0].role' },
  { name: 'more than 4 stop sequences', body: { messages: hi, stop: ['a', 'b', 'c', 'd', 'e'] }, status: 400, code: 'invalid_value', param: 'stop' },
  { name: 'a body that is not valid JSON', raw: (stream) => `{"stream": ${stream}, "messages": [`, status: 400, code: 'invalid_json', param: null },
  {
    name: 'a body that is not JSON at all',
    raw: (stream) => `stream=${stream}&message=hi`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'unsupported_media_type',
    param: null,
  },
  { name: 'a body over gateway.http.maxBodyBytes', body: { messages: [user('x'.repeat(MAX_BODY_BYTES))] }, status: 413, code: 'request_too_large', param: null },
  // Auth
  { name: 'no Authorization header', body: { messages: hi }, headers: { authorization: '' }, status: 401, code: 'invalid_api_key', param: null },
  { name: 'a wrong token', body: { messages: hi }, headers: { authorization: 'Bearer wrong-token', 'x-forwarded-for': '198.51.100.10' }, status: 401, code: 'invalid_api_key', param: null },
  {
    name: 'a client locked out after wrong tokens',
    body: { messages: hi },
    headers: { 'x-forwarded-for': '198.51.100.20' },
    setup: async () => {
      for (let i = 0; i < 3; i++) {
        await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.20' }, body: '{}' });
      }
    },
    status: 429,
    code: 'auth_rate_limited',
    param: null,
  },
  // The endpoint
  { name: 'the endpoint disabled', body: { messages: hi }, target: () => disabled, status: 404, code: 'endpoint_disabled', param: null },
  // The first model call
  { name: 'an unreachable provider (after its retry)', body: { model: 'openclaw/unreachable', messages: hi }, status: 502, code: 'upstream_unavailable', param: null },
  { name: 'a provider answering 5xx (after its retry)', body: { model: 'openclaw/refusing', messages: hi }, modelCalls: 2, status: 502, code: 'upstream_unavailable', param: null },
  { name: 'a provider rate limiting (429)', body: { model: 'openclaw/limiting', messages: hi }, modelCalls: 1, status: 429, code: 'upstream_rate_limited', param: null },
  { name: 'a provider refusing the gateway’s credentials (401)', body: { model: 'openclaw/locked', messages: hi }, modelCalls: 1, status: 502, code: 'upstream_auth_failed', param: null },
  { name: 'a provider that never answers, until the agent timeout', body: { model: 'openclaw/silent', messages: hi }, modelCalls: 1, status: 504, code: 'agent_timeout', param: null },
  // The session
  {
    name: 'a session that stays busy until the agent timeout',
    body: { model: 'openclaw/quick', messages: hi },
    headers: { 'x-openclaw-session-key': 'held-elsewhere' },
    setup: async () => {
      const lock = await gw.gateway.runtime.store!.lockSession('agent:quick:held-elsewhere', { timeoutMs: 1_000 });
      return () => lock.release();
    },
    status: 504,
    code: 'session_busy',
    param: null,
  },
];

interface Answer {
  status: number;
  contentType: string | null;
  requestId: string | null;
  retryAfter: string | null;
  wwwAuthenticate: string | null;
  body: any;
}

async function send(c: Case, variant: Record<string, unknown>, requestId: string): Promise<Answer> {
  const target = c.target?.() ?? gw;
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'x-request-id': requestId, ...c.headers };
  if (headers.authorization === '') delete headers.authorization;
  const body = c.raw ? c.raw(variant.stream === true) : JSON.stringify({ ...c.body, ...variant });
  const res = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers, body });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    requestId: res.headers.get('x-request-id'),
    retryAfter: res.headers.get('retry-after'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: JSON.parse(text),
  };
}

const chatCalls = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length;

describe('checks before the first byte answer alike, streaming or not', () => {
  it('covers every case once (names are unique)', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const undo = await c.setup?.();
    try {
      const sessionsBefore = (await gw.gateway.runtime.store!.listSessions()).map((s) => s.key);
      const [plainVariant, streamVariant] = c.variants ?? [{}, { stream: true }];
      const callsBefore = chatCalls();
      const plain = await send(c, plainVariant, 'variant-plain');
      const plainCalls = chatCalls() - callsBefore;
      const stream = await send(c, streamVariant, 'variant-stream');
      const streamCalls = chatCalls() - callsBefore - plainCalls;

      expect(plain.status).toBe(c.status);
      expect(stream.status).toBe(plain.status);
      expect(stream.status).not.toBe(200);
      for (const answer of [plain, stream]) expect(answer.contentType).toMatch(/^application\/json/);
      expect(plain.body.error).toMatchObject({ code: c.code, param: c.param ?? null, request_id: 'variant-plain' });
      expect(stream.body.error.request_id).toBe('variant-stream');
      const withoutId = (answer: Answer) => ({ ...answer.body, error: { ...answer.body.error, request_id: undefined } });
      expect(withoutId(stream)).toEqual(withoutId(plain));
      expect(stream.wwwAuthenticate).toBe(plain.wwwAuthenticate);
      // A lockout's Retry-After counts down between the two; an upstream's is passed on as it came.
      if (c.code !== 'auth_rate_limited') expect(stream.retryAfter).toBe(plain.retryAfter);
      else expect([plain.retryAfter, stream.retryAfter].every((value) => Number(value) > 0)).toBe(true);

      expect(plainCalls).toBe(c.modelCalls ?? 0);
      expect(streamCalls).toBe(plainCalls);
      // A refused run leaves no session behind.
      expect((await gw.gateway.runtime.store!.listSessions()).map((s) => s.key)).toEqual(sessionsBefore);
    } finally {
      await undo?.();
    }
  });

  it('the upstream failures above are the upstream’s own answers passed on (Retry-After included)', async () => {
    const limited = await send(cases.find((c) => c.code === 'upstream_rate_limited')!, { stream: true }, 'retry-after');
    expect(limited.retryAfter).toBe('17');
  });
});

describe('a wait longer than the keep-alive interval', () => {
  it('opens the stream with a keep-alive while the session is busy, then streams the reply once it is free', async () => {
    const small = await startTestGateway({ gateway: { http: { keepAliveIntervalMs: 100 } } });
    try {
      const lock = await small.gateway.runtime.store!.lockSession('agent:main:slow-to-free', { timeoutMs: 1_000 });
      const res = await fetch(`${small.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'x-openclaw-session-key': 'slow-to-free' },
        body: JSON.stringify({ stream: true, messages: hi }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes(': keep-alive\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });
      // The session is still held: the stream opened with the role and a keep-alive, nothing of the reply.
      const opening = text.split('\n\n').filter((event) => event.startsWith('data: '));
      expect(opening.map((event) => JSON.parse(event.slice(6)).choices[0].delta)).toEqual([expect.objectContaining({ role: 'assistant', content: '' })]);
      await lock.release();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
      const data = text.split('\n\n').filter((event) => event.startsWith('data: ')).map((event) => event.slice(6));
      expect(data.at(-1)).toBe('[DONE]');
      expect(data.slice(0, -1).map((event) => JSON.parse(event).choices[0]?.delta?.content ?? '').join('')).toBe('Echo: hi');
    } finally {
      await small.close();
    }
  });
});
