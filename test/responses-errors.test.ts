// Errors of the Responses API as OpenAI gives them: every check before the first byte answers with
// the same status and body whether or not the request streams; failures after it end the stream
// with `response.failed`; the endpoint toggle and `/v1/models` follow the config.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { mergeDeep, sseEvents, startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape } from './helpers/openai-schemas.ts';

let upstream: FakeUpstream;
let gw: TestGateway;

const raw = (upstreamUrl: string) => ({
  gateway: { http: { endpoints: { responses: { enabled: true } }, keepAliveIntervalMs: 60_000, maxBodyBytes: 64 * 1024 } },
  models: { providers: { up: { api: 'openai-completions', baseUrl: upstreamUrl, maxRetries: 0 } } },
  agents: {
    list: [
      { id: 'main', default: true, model: 'up/model-a' },
      { id: 'quick', model: 'up/quick', timeoutSeconds: 1 },
      { id: 'echo', model: 'echo/echo' },
    ],
  },
});

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway(raw(upstream.baseUrl));
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

async function post(body: unknown, headers: Record<string, string> = {}, path = '/v1/responses'): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

interface Case {
  name: string;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  setup?: () => void | Promise<void>;
  status: number;
  error: Record<string, unknown>;
}

const tool = (name: string) => ({ type: 'function', name, parameters: { type: 'object', properties: {} } });

const cases: Case[] = [
  { name: 'no input', body: { model: 'openclaw' }, status: 400, error: { param: 'input', code: 'invalid_value', type: 'invalid_request_error' } },
  { name: 'empty input list', body: { input: [] }, status: 400, error: { param: 'input', code: 'invalid_value' } },
  { name: 'an item of an unknown type', body: { input: [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }] }, status: 400, error: { param: 'input[0].type', code: 'invalid_value' } },
  { name: 'a message with a bad role', body: { input: [{ role: 'tool', content: 'x' }] }, status: 400, error: { param: 'input[0].role', code: 'invalid_value' } },
  { name: 'a content part of an unknown type', body: { input: [{ role: 'user', content: [{ type: 'input_audio', data: 'x' }] }] }, status: 400, error: { param: 'input[0].content[0].type', code: 'invalid_value' } },
  { name: 'a function_call without a call_id', body: { input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, status: 400, error: { param: 'input[0].call_id', code: 'invalid_value' } },
  { name: 'only an assistant message', body: { input: [{ role: 'assistant', content: 'hi' }] }, status: 400, error: { param: 'input', code: 'invalid_value' } },
  { name: 'a function tool without a name', body: { input: 'x', tools: [tool('ok'), { type: 'function', parameters: {} }] }, status: 400, error: { param: 'tools[1].name', code: 'invalid_value' } },
  { name: 'a function tool with a bad name', body: { input: 'x', tools: [{ type: 'function', name: 'bad name!' }] }, status: 400, error: { param: 'tools[0].name', code: 'invalid_value' } },
  { name: 'a tool without a type', body: { input: 'x', tools: [{ name: 'f' }] }, status: 400, error: { param: 'tools[0].type', code: 'invalid_value' } },
  { name: 'tool_choice naming a function not offered', body: { input: 'x', tools: [tool('a')], tool_choice: { type: 'function', name: 'b' } }, status: 400, error: { param: 'tool_choice.name', code: 'invalid_value' } },
  { name: 'tool_choice required without function tools', body: { input: 'x', tools: [{ type: 'web_search' }], tool_choice: 'required' }, status: 400, error: { param: 'tool_choice', code: 'invalid_value' } },
  { name: 'tool_choice forcing a hosted tool', body: { input: 'x', tool_choice: { type: 'web_search_preview' } }, status: 400, error: { param: 'tool_choice.type', code: 'unsupported_value' } },
  { name: 'temperature out of range', body: { input: 'x', temperature: 3 }, status: 400, error: { param: 'temperature', code: 'invalid_value' } },
  { name: 'max_output_tokens below 16', body: { input: 'x', max_output_tokens: 4 }, status: 400, error: { param: 'max_output_tokens', code: 'invalid_value' } },
  { name: 'metadata with a non-string value', body: { input: 'x', metadata: { a: 1 } }, status: 400, error: { param: 'metadata.a', code: 'invalid_value' } },
  { name: 'background: true', body: { input: 'x', background: true }, status: 400, error: { param: 'background', code: 'unsupported_parameter' } },
  { name: 'conversation', body: { input: 'x', conversation: 'conv_1' }, status: 400, error: { param: 'conversation', code: 'unsupported_parameter' } },
  { name: 'an image by file id', body: { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }, status: 400, error: { param: 'input[0].content[0].image_url', code: 'invalid_image_url' } },
  { name: 'a malformed data URI', body: { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,@@' }] }] }, status: 400, error: { param: 'input[0].content[0].image_url', code: 'invalid_image_url' } },
  { name: 'a remote image the agent does not allow', body: { input: [{ role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'https://example.com/a.png' }] }] }, status: 400, error: { param: 'input[0].content[1].image_url', code: 'image_url_not_allowed' } },
  { name: 'an unknown agent', body: { model: 'openclaw/nobody', input: 'x' }, status: 404, error: { param: 'model', code: 'model_not_found' } },
  { name: 'a model that names no agent', body: { model: 'gpt-4o', input: 'x' }, status: 404, error: { param: 'model', code: 'model_not_found' } },
  { name: 'a malformed session key header', body: { input: 'x' }, headers: { 'x-openclaw-session-key': 'cron:job' }, status: 400, error: { param: null, code: 'invalid_session_key' } },
  { name: 'an unknown x-openclaw-model', body: { input: 'x' }, headers: { 'x-openclaw-model': 'nope/model' }, status: 404, error: { param: null } },
  { name: 'an unknown previous_response_id', body: { input: 'x', previous_response_id: 'resp_unknown' }, status: 404, error: { param: 'previous_response_id', code: 'previous_response_not_found' } },
  {
    name: 'an upstream that is down',
    body: { input: 'x' },
    setup: () => upstream.setScript(() => ({ kind: 'status', status: 503 })),
    status: 502,
    error: { code: 'upstream_unavailable', type: 'upstream_error' },
  },
  {
    name: 'an upstream that rate-limits',
    body: { input: 'x' },
    setup: () => upstream.setScript(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '7' } })),
    status: 429,
    error: { code: 'upstream_rate_limited', type: 'rate_limit_error' },
  },
  {
    name: 'an upstream that rejects the request',
    body: { input: 'x' },
    setup: () => upstream.setScript(() => ({ kind: 'status', status: 400, body: { error: { message: 'context too long', type: 'invalid_request_error', param: null, code: null } } })),
    status: 400,
    error: { code: 'upstream_rejected' },
  },
  { name: 'an agent that times out before the upstream answers', body: { model: 'openclaw/quick', input: 'x' }, setup: () => upstream.setScript(() => ({ kind: 'hang' })), status: 504, error: { code: 'agent_timeout', type: 'timeout_error' } },
];

describe('every check before the first byte: the same status and body, streaming or not', () => {
  it.each(cases)('$name', async ({ body, headers, setup, status, error }) => {
    const answers = [];
    for (const stream of [false, true]) {
      upstream.reset();
      await setup?.();
      const answer = await post({ ...body, stream }, { 'x-request-id': `case-${stream}`, ...headers });
      answers.push(answer);
      expect(answer.status, answer.text).toBe(status);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      const parsed = JSON.parse(answer.text);
      assertOpenAiShape('ErrorResponse', parsed);
      expect(parsed.error).toMatchObject({ ...error, request_id: `case-${stream}` });
      expect(parsed.error.code).not.toBeNull();
      expect(parsed.error.message).not.toMatch(/\/work\/|\/home\/|\/tmp\/|node_modules|at .*\(/);
    }
    const [plain, streamed] = answers.map((answer) => ({ ...JSON.parse(answer.text).error, request_id: undefined }));
    expect(streamed).toEqual(plain);
    if (status === 429) expect(answers.every((answer) => answer.headers.get('retry-after') === '7')).toBe(true);
  });

  it('explains a bad body precisely: the message names the field', async () => {
    const { text } = await post({ input: [{ type: 'function_call', name: 'f', arguments: '{}' }] });
    expect(JSON.parse(text).error.message).toBe('Invalid input[0].call_id: is required.');
    const tools = JSON.parse((await post({ input: 'x', tools: [{ type: 'function', name: 'bad name!' }] })).text).error;
    expect(tools.message).toMatch(/^Invalid tools\[0\]\.name: must match pattern/);
  });

  it('body limits, media type and auth answer as on chat completions', async () => {
    expect((await post('{"input": ', {})).status).toBe(400);
    const big = await post({ input: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text).error.code).toBe('request_too_large');
    const form = await post('input=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const anonymous = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":"x"}' });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('invalid_api_key');
    const wrongMethod = await fetch(`${gw.url}/v1/responses`, { method: 'PUT', headers: { authorization: `Bearer ${gw.token}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('POST');
  });
});

describe('failures after the stream began', () => {
  it('the upstream dropping mid-reply ends the stream with response.failed (valid, with the partial output), and the failed response is stored', async () => {
    upstream.setScript(() => ({ kind: 'drop_after', text: 'partial answer' }));
    const { status, text } = await post({ input: 'x', stream: true });
    expect(status).toBe(200);
    const events = sseEvents(text);
    for (const { data } of events) assertOpenAiShape('ResponseStreamEvent', data);
    const last = events.at(-1)!.data;
    expect(last).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: expect.stringContaining('(upstream_unavailable)') } } });
    expect(last.response.output[0]).toMatchObject({ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'partial answer' }] });
    expect(events.map((event) => event.data.sequence_number)).toEqual(events.map((_event, i) => i));
    const stored = await gw.client.responses.retrieve(last.response.id);
    assertOpenAiShape('Response', stored);
    expect(stored).toMatchObject({ status: 'failed', output: [], error: { code: 'server_error' } });
  });

  it('the openai SDK’s stream helper ends with the failed response', async () => {
    upstream.setScript(() => ({ kind: 'drop_after', text: 'partial' }));
    const stream = gw.client.responses.stream({ model: 'openclaw', input: 'x' });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.failed');
    expect((await stream.finalResponse()).status).toBe('failed');
  });

  it('a timeout after the first keep-alive opened the stream is a failed response naming agent_timeout', async () => {
    const committed = await startTestGateway(mergeDeep(raw(upstream.baseUrl), { gateway: { http: { keepAliveIntervalMs: 20 } } }));
    try {
      upstream.setScript(() => ({ kind: 'hang' }));
      const res = await fetch(`${committed.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${committed.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openclaw/quick', input: 'x', stream: true }),
      });
      expect(res.status).toBe(200);
      const events = sseEvents(await res.text());
      for (const { data } of events) assertOpenAiShape('ResponseStreamEvent', data);
      expect(events.map((event) => event.data.type)).toEqual(['response.created', 'response.in_progress', 'response.failed']);
      expect(events[2].data.response).toMatchObject({ status: 'failed', output: [], error: { code: 'server_error', message: expect.stringContaining('(agent_timeout)') } });
    } finally {
      await committed.close();
    }
  });

  it('a failed run that was to be stored leaves a failed response, with OpenAI’s code for its kind', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 429 }));
    const error = await gw.client.responses.create({ model: 'openclaw', input: 'x', user: 'rate-limited' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const turns = await gw.gateway.runtime.store!.listTurns('agent:main:openai-user:rate-limited');
    expect(turns).toHaveLength(1);
    expect(turns[0].meta).toMatchObject({ outcome: 'failed', errorCode: 'upstream_rate_limited' });
    const stored = await gw.client.responses.retrieve(turns[0].meta.responseId!);
    assertOpenAiShape('Response', stored);
    expect(stored).toMatchObject({ status: 'failed', error: { code: 'rate_limit_exceeded' }, output: [] });
  });
});

describe('the endpoint toggle', () => {
  it('is off by default: /v1/responses is 404 endpoint_disabled; /v1/models follows either endpoint; a reload applies', async () => {
    const base = { gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: false } } } } };
    const off = await startTestGateway(base);
    try {
      const get = (path: string) => fetch(`${off.url}${path}`, { headers: { authorization: `Bearer ${off.token}` } });
      const create = () => fetch(`${off.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${off.token}`, 'content-type': 'application/json' }, body: '{"input":"hi"}' });
      let res = await create();
      expect(res.status).toBe(404);
      expect((await res.json()).error).toMatchObject({ code: 'endpoint_disabled', message: expect.stringContaining('gateway.http.endpoints.responses.enabled') });
      expect((await get('/v1/models')).status).toBe(404);
      expect((await get('/v1/responses/resp_x')).status).toBe(404);

      off.gateway.applyConfig(parseConfig(mergeDeep(base, { gateway: { http: { endpoints: { responses: { enabled: true } } } } }), {}));
      res = await create();
      expect(res.status).toBe(200);
      expect((await res.json()).output[0].content[0].text).toBe('Echo: hi');
      expect((await get('/v1/models')).status).toBe(200);
      const chat = await fetch(`${off.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${off.token}`, 'content-type': 'application/json' }, body: '{"messages":[{"role":"user","content":"x"}]}' });
      expect(chat.status).toBe(404);
      expect((await chat.json()).error.message).toContain('chatCompletions');
    } finally {
      await off.close();
    }
  });
});

describe('errors through the openai SDK', () => {
  it('raise the SDK’s error classes with OpenAI’s fields', async () => {
    const error = await gw.client.responses.create({ model: 'openclaw/nobody', input: 'x' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
    expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe('model');
  });
});
