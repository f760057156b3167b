// Conformance through the official `openai` SDK against a real gateway on an ephemeral port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startTestGateway, sseData, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape } from './helpers/openai-schemas.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    agents: { list: [{ id: 'main', default: true }, { id: 'beta' }] },
  });
});
afterAll(async () => {
  await gw?.close();
});

describe('chat completions with the echo agent', () => {
  it('answers a non-streaming request in OpenAI’s CreateChatCompletionResponse shape', async () => {
    const completion = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hello gateway' }] });
    assertOpenAiShape('CreateChatCompletionResponse', completion);
    expect(completion.id).toMatch(/^chatcmpl-[A-Za-z0-9]+$/);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('openclaw');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message).toEqual({ role: 'assistant', content: 'Echo: hello gateway', refusal: null });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it('echoes `model` as sent and picks the agent it names', async () => {
    const completion = await gw.client.chat.completions.create({ model: 'OpenClaw/Beta', messages: [{ role: 'user', content: 'x' }] });
    expect(completion.model).toBe('OpenClaw/Beta');
  });

  it('streams role, content, finish and usage chunks with one id, then [DONE]', async () => {
    const stream = await gw.client.chat.completions.create({
      model: 'openclaw/default',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream me please' }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    for (const chunk of chunks) assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo: stream me please');
    const finish = chunks.at(-2)!;
    expect(finish.choices[0].finish_reason).toBe('stop');
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it('streams without a usage chunk unless include_usage is set', async () => {
    const stream = await gw.client.chat.completions.create({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'a b' }] });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.every((chunk) => chunk.usage === undefined)).toBe(true);
  });

  it('returns a tool call from the echo agent with finish_reason tool_calls', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const completion = await gw.client.chat.completions.create({ model: 'openclaw', tools, messages: [{ role: 'user', content: '/tool get_weather {"city":"Paris"}' }] });
    assertOpenAiShape('CreateChatCompletionResponse', completion);
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    const call = completion.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    const followUp = await gw.client.chat.completions.create({
      model: 'openclaw',
      tools,
      messages: [
        { role: 'user', content: '/tool get_weather {"city":"Paris"}' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' },
      ],
    });
    expect(followUp.choices[0].message.content).toBe('Tool result: sunny, 21C');
  });

  it('accepts content parts, system and developer messages', async () => {
    const completion = await gw.client.chat.completions.create({
      model: 'openclaw',
      messages: [
        { role: 'system', content: 'be terse' },
        { role: 'developer', content: [{ type: 'text', text: 'dev note' }] },
        { role: 'user', content: [{ type: 'text', text: 'part one' }, { type: 'text', text: 'part two' }] },
      ],
    });
    expect(completion.choices[0].message.content).toBe('Echo: part one\npart two');
  });
});

describe('models', () => {
  it('lists agent targets, agent first', async () => {
    const page = await gw.client.models.list();
    expect(page.data.map((model) => model.id)).toEqual(['openclaw', 'openclaw/default', 'openclaw/main', 'openclaw/beta']);
    for (const model of page.data) assertOpenAiShape('Model', model);
  });

  it('retrieves one model, and 404s an unknown one', async () => {
    expect((await gw.client.models.retrieve('openclaw/beta')).id).toBe('openclaw/beta');
    await expect(gw.client.models.retrieve('gpt-4o')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('errors as the SDK maps them', () => {
  it('BadRequestError with `param` for an invalid field', async () => {
    const error = await gw.client.chat.completions.create({ model: 'openclaw', temperature: 3, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('temperature');
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toMatch(/temperature/);
  });

  it('BadRequestError naming a nested field', async () => {
    const error = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 42 as unknown as string }] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('messages[0].content');
  });

  it('BadRequestError for a malformed agent id, NotFoundError for an unknown agent or model', async () => {
    const malformed = await gw.client.chat.completions.create({ model: 'openclaw/Bad Id!', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(malformed).toBeInstanceOf(OpenAI.BadRequestError);
    expect(malformed.param).toBe('model');
    const unknown = await gw.client.chat.completions.create({ model: 'openclaw/nope', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('model_not_found');
    expect(unknown.message).toContain('openclaw/beta');
    const foreign = await gw.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(foreign).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('AuthenticationError for a wrong token', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'wrong-token', maxRetries: 0 });
    const error = await client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.message).not.toContain(gw.token);
  });
});

describe('raw HTTP: what the SDK hides', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', ...headers },
      body,
    });

  it('JSON answer headers: the type with its charset, the exact length, the request id', async () => {
    const res = await post(JSON.stringify({ messages: [{ role: 'user', content: 'héllo' }] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    expect(JSON.parse(bytes.toString('utf8')).object).toBe('chat.completion');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('SSE framing and headers', async () => {
    const res = await post(JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text.split('\n\n').filter(Boolean).every((event) => event.startsWith('data: '))).toBe(true);
    const data = sseData(text);
    expect(JSON.parse(data[0]).choices[0].delta.role).toBe('assistant');
  });

  it('405 with Allow for a wrong method, before auth', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const body = await res.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'method_not_allowed' });
  });

  it('404 JSON for an unknown route', async () => {
    const res = await fetch(`${gw.url}/v1/nope`, { headers: { authorization: `Bearer ${gw.token}` } });
    expect(res.status).toBe(404);
    expect(Object.keys((await res.json()).error)).toEqual(['message', 'type', 'param', 'code', 'request_id']);
  });

  it('error bodies carry the request id: the client’s x-request-id, else the one the gateway made', async () => {
    const sent = await post('{"messages": 1}', { 'x-request-id': 'trace-4711' });
    expect(sent.status).toBe(400);
    expect(sent.headers.get('x-request-id')).toBe('trace-4711');
    expect((await sent.json()).error.request_id).toBe('trace-4711');
    const made = await post('{"messages": 1}');
    const madeId = made.headers.get('x-request-id');
    expect(madeId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await made.json()).error.request_id).toBe(madeId);
    // The SDK surfaces the same id on the error it throws.
    const failure: any = await gw.client.chat.completions.create({ model: 'openclaw/nobody', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(failure.status).toBe(404);
    expect(failure.error.request_id).toBe(failure.requestID);
  });

  it('400 naming the problem for invalid JSON', async () => {
    const res = await post('{"model":"openclaw",');
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('invalid_json');
    expect(body.error.message).toMatch(/not valid JSON/);
    expect(body.error.message).not.toMatch(/at .*\.ts:\d+/);
  });

  it('415 for a body that is not JSON', async () => {
    const res = await post('x=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe('unsupported_media_type');
  });

  it('400 for an empty body and for messages that are not an array', async () => {
    const empty = await post('');
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.param).toBe('messages');
    const notArray = await post(JSON.stringify({ messages: 'hi' }));
    expect((await notArray.json()).error).toMatchObject({ param: 'messages', type: 'invalid_request_error' });
  });

  it('400 for semantic problems the schema cannot state', async () => {
    const onlySystem = await post(JSON.stringify({ messages: [{ role: 'system', content: 'x' }] }));
    expect((await onlySystem.json()).error.param).toBe('messages');
    const unknownTool = await post(JSON.stringify({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } }, messages: [{ role: 'user', content: 'x' }] }));
    expect(unknownTool.status).toBe(400);
    expect((await unknownTool.json()).error.param).toBe('tool_choice.function.name');
    const badRole = await post(JSON.stringify({ messages: [{ role: 'robot', content: 'x' }] }));
    expect((await badRole.json()).error.param).toBe('messages[0].role');
    const tooManyStops = await post(JSON.stringify({ stop: ['a', 'b', 'c', 'd', 'e'], messages: [{ role: 'user', content: 'x' }] }));
    expect((await tooManyStops.json()).error).toMatchObject({ param: 'stop', message: expect.stringMatching(/4/) });
  });

  it('413 for a body over gateway.http.maxBodyBytes', async () => {
    const small = await startTestGateway({ gateway: { http: { maxBodyBytes: 1024 } } });
    try {
      const res = await fetch(`${small.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${small.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(4096) }] }),
      });
      expect(res.status).toBe(413);
      expect((await res.json()).error.type).toBe('invalid_request_error');
      const after = await small.client.chat.completions.create({ messages: [{ role: 'user', content: 'still alive' }], model: 'openclaw' });
      expect(after.choices[0].message.content).toBe('Echo: still alive');
    } finally {
      await small.close();
    }
  });

  it('401 with WWW-Authenticate when the token is missing', async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect((await res.json()).error.code).toBe('invalid_api_key');
  });

  it('health, ready and the published spec need no auth; the spec is the file that validates', async () => {
    expect(await (await fetch(`${gw.url}/health`)).json()).toEqual({ ok: true, status: 'live' });
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
    const { readFileSync } = await import('node:fs');
    const yaml = await (await fetch(`${gw.url}/openapi.yaml`)).text();
    expect(yaml).toBe(readFileSync(new URL('../openapi/openapi.yaml', import.meta.url), 'utf8'));
    const json = await (await fetch(`${gw.url}/openapi.json`)).json();
    expect(json.paths['/v1/chat/completions'].post.operationId).toBe('createChatCompletion');
    const { parse } = await import('yaml');
    expect(json).toEqual(parse(yaml));
  });

  it('the published spec is a valid OpenAPI 3.1 document (the gateway skips this check at start-up)', async () => {
    const { OpenAPISchemaValidator } = (await import('express-openapi-validator/dist/framework/openapi.schema.validator.js')) as any;
    const json = await (await fetch(`${gw.url}/openapi.json`)).json();
    const validator = new OpenAPISchemaValidator({ version: json.openapi, validateApiSpec: true });
    expect(validator.validate(json).errors).toEqual([]);
    // The check can fail: a document with a broken path item does not pass.
    const broken = { ...json, paths: { ...json.paths, '/v1/models': { get: { responses: 'none' } } } };
    expect(validator.validate(broken).errors.length).toBeGreaterThan(0);
  });
});
