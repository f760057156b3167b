// The Responses API through the official `openai` SDK and raw HTTP, against a real gateway and the
// scriptable upstream: shapes (validated against OpenAI's schemas), streaming events, storage,
// continuation and branching, function calls, tools and request fields.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { sseEvents, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape } from './helpers/openai-schemas.ts';

let upstream: FakeUpstream;
let gw: TestGateway;
const logLines: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const logger = createLogger({ destination: { write: (line: string) => logLines.push(line) } as unknown as NodeJS.WritableStream });
  gw = await startTestGateway(
    {
      gateway: { http: { endpoints: { responses: { enabled: true } }, keepAliveIntervalMs: 60_000 } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, apiKey: 'up-key', maxRetries: 0 } } },
      agents: { list: [{ id: 'main', default: true, model: 'up/model-a' }, { id: 'beta', model: 'up/model-b' }, { id: 'echo', model: 'echo/echo' }] },
    },
    { logger },
  );
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

const store = () => gw.gateway.runtime.store!;
const sent = (i = -1) => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(i)!.body;
const upstreamText = (i = -1) => sent(i).messages.map((m: any) => `${m.role}:${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`);

async function rawCreate(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json?: any }> {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

describe('create, retrieve, delete', () => {
  it('answers a string input with a Response in OpenAI’s shape, stored and retrievable', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'Hello from upstream', usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } }));
    const response = await gw.client.responses.create({ model: 'openclaw', input: 'hi there', metadata: { ticket: '42' } });
    assertOpenAiShape('Response', response);
    expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'openclaw', error: null, incomplete_details: null, store: true, metadata: { ticket: '42' } });
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello from upstream', annotations: [] }] });
    expect(response.output_text).toBe('Hello from upstream');
    expect(response.usage).toMatchObject({ input_tokens: 9, output_tokens: 3, total_tokens: 12 });
    expect(upstreamText()).toEqual(['user:hi there']);

    const retrieved = await gw.client.responses.retrieve(response.id);
    assertOpenAiShape('Response', retrieved);
    expect({ ...retrieved, completed_at: null }).toEqual({ ...response, completed_at: null });

    await gw.client.responses.delete(response.id);
    const gone = await gw.client.responses.retrieve(response.id).then(() => undefined, (error: unknown) => error);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect((gone as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ param: 'response_id', code: 'response_not_found', type: 'invalid_request_error' });
    const again = await gw.client.responses.delete(response.id).then(() => undefined, (error: unknown) => error);
    expect(again).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('takes input items in every form clients send: the short {role, content}, typed messages, content parts, instructions', async () => {
    const response = await gw.client.responses.create({
      model: 'openclaw',
      instructions: 'Answer in French.',
      input: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: 'first question' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'first answer', annotations: [] }] } as any,
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' }] },
      ],
    });
    assertOpenAiShape('Response', response);
    expect(response.instructions).toBe('Answer in French.');
    const messages = sent().messages;
    expect(messages.map((m: any) => m.role)).toEqual(['system', 'developer', 'user', 'assistant', 'user']);
    expect(messages[0].content).toBe('Answer in French.');
    expect(messages[3].content).toBe('first answer');
    expect(messages[4].content).toEqual([
      { type: 'text', text: 'second' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
    ]);
    const items = await gw.client.responses.inputItems.list(response.id, { order: 'asc' });
    expect(items.data.map((item: any) => [item.type, item.role])).toEqual([
      ['message', 'developer'],
      ['message', 'user'],
      ['message', 'assistant'],
      ['message', 'user'],
    ]);
    for (const item of items.data) assertOpenAiShape('ItemResource', item);
  });

  it('lists input items a page at a time, newest first by default', async () => {
    const input = ['a', 'b', 'c', 'd', 'e'].map((text) => ({ role: 'user' as const, content: text }));
    const response = await gw.client.responses.create({ model: 'openclaw', input });
    const texts = (list: any) => list.data.map((item: any) => item.content[0].text);
    const first = await gw.client.responses.inputItems.list(response.id, { limit: 2 });
    const raw = await (await fetch(`${gw.url}/v1/responses/${response.id}/input_items?limit=2`, { headers: { authorization: `Bearer ${gw.token}` } })).json();
    assertOpenAiShape('ResponseItemList', raw);
    expect(raw).toMatchObject({ object: 'list', has_more: true, first_id: first.data[0].id, last_id: first.data[1].id });
    expect(texts(first)).toEqual(['e', 'd']);
    expect(first.has_more).toBe(true);
    const next = await gw.client.responses.inputItems.list(response.id, { limit: 2, after: first.data[1].id });
    expect(texts(next)).toEqual(['c', 'b']);
    const all: string[] = [];
    for await (const item of gw.client.responses.inputItems.list(response.id, { limit: 2, order: 'asc' })) all.push((item as any).content[0].text);
    expect(all).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('store: false keeps nothing: not retrievable, not continuable, no session', async () => {
    const before = (await store().listSessions()).length;
    const response = await gw.client.responses.create({ model: 'openclaw', input: 'forget me', store: false });
    expect((response as unknown as { store: boolean }).store).toBe(false);
    expect(await store().getResponse(response.id)).toBeUndefined();
    expect((await store().listSessions()).length).toBe(before);
    const error = await gw.client.responses.create({ model: 'openclaw', input: 'next', previous_response_id: response.id }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as any).error).toMatchObject({ param: 'previous_response_id', code: 'previous_response_not_found' });
  });

  it('cancel: an unknown id is 404, a stored (finished) response cannot be cancelled', async () => {
    const unknown = await gw.client.responses.cancel('resp_nope').then(() => undefined, (e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const response = await gw.client.responses.create({ model: 'openclaw', input: 'x' });
    const refused = await gw.client.responses.cancel(response.id).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as any).error).toMatchObject({ code: 'response_not_cancellable', param: 'response_id' });
  });
});

describe('streaming', () => {
  it('sends the semantic events in order with increasing sequence numbers, each valid against OpenAI’s schema', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'one two three four', chunks: 4 }));
    const stream = gw.client.responses.stream({ model: 'openclaw', input: 'count' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    for (const event of events) assertOpenAiShape('ResponseStreamEvent', event);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, i) => i));
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...deltas.map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(deltas.join('')).toBe('one two three four');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.output_text).toBe('one two three four');
    expect(final.status).toBe('completed');
    const stored = await gw.client.responses.retrieve(final.id);
    // The SDK's final response adds its parsed fields; everything the gateway sent is the same.
    expect(final.output).toMatchObject(stored.output);
  });

  it('names every SSE event after its type, ends without [DONE], and keeps the stream alive while the model is slow', async () => {
    const slow = await startTestGateway(
      {
        gateway: { http: { endpoints: { responses: { enabled: true } }, keepAliveIntervalMs: 50 } },
        models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
        agents: { list: [{ id: 'main', model: 'up/slow' }] },
      },
    );
    try {
      upstream.setScript(() => ({ kind: 'text', text: 'late', delayMs: 300 }));
      const res = await fetch(`${slow.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${slow.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openclaw', input: 'wait', stream: true }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await res.text();
      expect(text.indexOf(': keep-alive')).toBeGreaterThan(-1);
      expect(text.indexOf(': keep-alive')).toBeLessThan(text.indexOf('response.output_item.added'));
      const events = sseEvents(text);
      for (const event of events) expect(event.event).toBe(event.data.type);
      expect(events.at(-1)!.event).toBe('response.completed');
      expect(text).not.toContain('[DONE]');
    } finally {
      await slow.close();
    }
  });

  it('streams the model’s reasoning as a reasoning item before the message, and keeps it', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'The answer is 4.', reasoning: 'two plus two is four' }));
    const stream = gw.client.responses.stream({ model: 'openclaw', input: '2+2?' });
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    for (const event of events) assertOpenAiShape('ResponseStreamEvent', event);
    const types = events.map((event) => event.type);
    expect(types.slice(0, 5)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.reasoning_text.delta']);
    expect(types).toContain('response.reasoning_text.done');
    const final = await stream.finalResponse();
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect((final.output[0] as any).content).toEqual([{ type: 'reasoning_text', text: 'two plus two is four' }]);
    const retrieved = await gw.client.responses.retrieve(final.id);
    assertOpenAiShape('Response', retrieved);
    expect(final.output).toMatchObject(retrieved.output);
  });

  it('a stored response streams again on GET with stream=true (the SDK’s responses.stream({ response_id })), from starting_after', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'stream it again', reasoning: 'thinking first' }));
    const original: any[] = [];
    const live = gw.client.responses.stream({ model: 'openclaw', input: 'replay me' });
    for await (const event of live) original.push(event);
    const id = (await live.finalResponse()).id;
    const replay = gw.client.responses.stream({ response_id: id });
    const events: any[] = [];
    for await (const event of replay) events.push(event);
    for (const event of events) assertOpenAiShape('ResponseStreamEvent', event);
    // The same events, each part's deltas in one.
    const collapsed = (list: any[]) => list.map((event) => event.type).filter((type, i, types) => !(type.endsWith('.delta') && types[i - 1] === type));
    expect(collapsed(events)).toEqual(collapsed(original));
    expect(events.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta)).toEqual(['stream it again']);
    expect((await replay.finalResponse()).output).toMatchObject((await gw.client.responses.retrieve(id)).output);
    const res = await fetch(`${gw.url}/v1/responses/${id}?stream=true&starting_after=5`, { headers: { authorization: `Bearer ${gw.token}` } });
    const tail = sseEvents(await res.text());
    expect(tail.map((event) => event.data.sequence_number)).toEqual(events.slice(6).map((event) => event.sequence_number));
  });

  it('a run cut short by max_output_tokens ends with response.incomplete (and a 200 with status incomplete without stream)', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'cut sh', finishReason: 'length' }));
    const stream = gw.client.responses.stream({ model: 'openclaw', input: 'long story', max_output_tokens: 16 });
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    for (const event of events) assertOpenAiShape('ResponseStreamEvent', event);
    expect(events.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
    expect(sent().max_completion_tokens).toBe(16);
    const plain = await gw.client.responses.create({ model: 'openclaw', input: 'long story', max_output_tokens: 16 });
    assertOpenAiShape('Response', plain);
    expect(plain).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(plain.output[0]).toMatchObject({ status: 'incomplete' });
    expect((await gw.client.responses.retrieve(plain.id)).status).toBe('incomplete');
  });
});

describe('function calls', () => {
  const tools: OpenAI.Responses.FunctionTool[] = [
    { type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true },
  ];

  it('offers function tools, returns function_call items, and a function_call_output with previous_response_id continues the run', async () => {
    upstream.setScript((_req, i) => (i === 0 ? { kind: 'tool_calls', calls: [{ id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' }] } : { kind: 'text', text: 'Sunny in Paris.' }));
    const first = await gw.client.responses.create({ model: 'openclaw', input: 'Weather in Paris?', tools, tool_choice: 'auto', parallel_tool_calls: false });
    assertOpenAiShape('Response', first);
    expect(sent(0).tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: tools[0].parameters, strict: true } }]);
    expect(sent(0)).toMatchObject({ tool_choice: 'auto', parallel_tool_calls: false });
    expect(first.output).toEqual([{ type: 'function_call', id: expect.stringMatching(/^fc_/), call_id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' }]);
    expect(first.tools).toEqual([{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: tools[0].parameters, strict: true }]);

    const second = await gw.client.responses.create({
      model: 'openclaw',
      previous_response_id: first.id,
      tools,
      input: [{ type: 'function_call_output', call_id: 'call_w1', output: '{"sky":"clear","c":21}' }],
    });
    assertOpenAiShape('Response', second);
    expect(second.output_text).toBe('Sunny in Paris.');
    expect(second.previous_response_id).toBe(first.id);
    const messages = sent(1).messages;
    expect(messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(messages[1].tool_calls).toEqual([{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(messages[2]).toEqual({ role: 'tool', tool_call_id: 'call_w1', content: '{"sky":"clear","c":21}' });
    const items = await gw.client.responses.inputItems.list(second.id);
    expect(items.data).toEqual([{ type: 'function_call_output', id: expect.any(String), call_id: 'call_w1', output: '{"sky":"clear","c":21}', status: 'completed' }]);
  });

  it('a stateless client sends the whole history back: function_call items join the assistant turn that made them', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'Done.' }));
    const response = await gw.client.responses.create({
      model: 'openclaw',
      store: false,
      tools,
      input: [
        { role: 'user', content: 'Weather in Oslo and Rome?' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Two cities, two calls.' }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' },
        { type: 'function_call', id: 'fc_2', call_id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}', status: 'completed' },
        { type: 'function_call_output', call_id: 'call_a', output: 'snow' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'sun' }] },
      ],
    });
    expect(response.output_text).toBe('Done.');
    const messages = sent().messages;
    expect(messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
    expect(messages[1].tool_calls.map((call: any) => call.id)).toEqual(['call_a', 'call_b']);
    expect(messages[3]).toEqual({ role: 'tool', tool_call_id: 'call_b', content: 'sun' });
  });

  it('streams a function call: item added, argument deltas, arguments done, item done', async () => {
    upstream.setScript(() => ({ kind: 'tool_calls', calls: [{ id: 'call_s1', name: 'get_weather', arguments: '{"city":"Lima"}' }] }));
    const stream = gw.client.responses.stream({ model: 'openclaw', input: 'Weather in Lima?', tools });
    const argumentDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    for (const event of events) assertOpenAiShape('ResponseStreamEvent', event);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      ...argumentDeltas.map(() => 'response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(argumentDeltas.length).toBeGreaterThan(1);
    expect(argumentDeltas.join('')).toBe('{"city":"Lima"}');
    const final = await stream.finalResponse();
    expect(final.output).toMatchObject([{ type: 'function_call', id: expect.any(String), call_id: 'call_s1', name: 'get_weather', arguments: '{"city":"Lima"}', status: 'completed' }]);
  });

  it('tool_choice: a named function, and allowed_tools narrowing what is offered', async () => {
    const two: OpenAI.Responses.FunctionTool[] = [...tools, { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false }];
    await gw.client.responses.create({ model: 'openclaw', input: 'x', tools: two, tool_choice: { type: 'function', name: 'get_time' } });
    expect(sent().tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } });
    await gw.client.responses.create({ model: 'openclaw', input: 'x', tools: two, tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'get_time' }] } });
    expect(sent().tool_choice).toBe('required');
    expect(sent().tools.map((tool: any) => tool.function.name)).toEqual(['get_time']);
  });
});

describe('hosted tools and request fields', () => {
  it('accepts hosted tool types (web_search, file_search, Codex’s namespace…), leaves them out with a log line, offers the functions', async () => {
    logLines.length = 0;
    const response = await gw.client.responses.create({
      model: 'openclaw',
      input: 'search something',
      tools: [
        { type: 'web_search' },
        { type: 'file_search', vector_store_ids: ['vs_1'] },
        { type: 'namespace', name: 'mcp__files', description: 'files', tools: [{ type: 'function', name: 'read', parameters: {} }] } as any,
        { type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false },
        { type: 'image_generation' },
      ],
    });
    assertOpenAiShape('Response', response);
    expect(sent().tools.map((tool: any) => tool.function.name)).toEqual(['lookup']);
    expect(response.tools.map((tool: any) => tool.name)).toEqual(['lookup']);
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.event === 'responses.hosted_tools_left_out');
    expect(line).toMatchObject({ types: ['web_search', 'file_search', 'namespace', 'image_generation'] });
  });

  it('with only hosted tools, no tools (nor tool choice) reach the model', async () => {
    await gw.client.responses.create({ model: 'openclaw', input: 'x', tools: [{ type: 'web_search' }], tool_choice: 'auto', parallel_tool_calls: true });
    expect(sent().tools).toBeUndefined();
    expect(sent().tool_choice).toBeUndefined();
    expect(sent().parallel_tool_calls).toBeUndefined();
  });

  it('forwards sampling fields, text.format and reasoning.effort; accepts the fields clients send routinely', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const response = await gw.client.responses.create({
      model: 'openclaw',
      input: 'json please',
      temperature: 0.2,
      top_p: 0.9,
      max_output_tokens: 100,
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
      reasoning: { effort: 'low', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      prompt_cache_key: 'cache-1',
      truncation: 'auto',
      safety_identifier: 'user-hash',
      service_tier: 'auto',
      client_metadata: { 'x-codex-turn': '1' },
      stream_options: { include_obfuscation: false },
    } as any);
    assertOpenAiShape('Response', response);
    expect(sent()).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 100,
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
    for (const field of ['include', 'prompt_cache_key', 'truncation', 'client_metadata', 'text', 'reasoning', 'max_output_tokens']) expect(sent()).not.toHaveProperty(field);
    expect(response).toMatchObject({ temperature: 0.2, top_p: 0.9, max_output_tokens: 100, reasoning: { effort: 'low', summary: 'auto' }, text: { format: { type: 'json_schema', name: 'answer' } } });
    await gw.client.responses.create({ model: 'openclaw', input: 'json', text: { format: { type: 'json_object' } } });
    expect(sent().response_format).toEqual({ type: 'json_object' });
  });
});

describe('sessions, continuation and branches', () => {
  const reply = (text: string) => upstream.setScript(() => ({ kind: 'text', text }));

  it('previous_response_id continues exactly that response’s conversation; an older one gets a branch of its own', async () => {
    reply('a1');
    const r1 = await gw.client.responses.create({ model: 'openclaw', input: 'q1' });
    reply('a2');
    const r2 = await gw.client.responses.create({ model: 'openclaw', input: 'q2', previous_response_id: r1.id });
    expect(upstreamText()).toEqual(['user:q1', 'assistant:a1', 'user:q2']);
    // r1 again: its conversation, not the session's latest state (which has q2 and a2).
    reply('b2');
    const b2 = await gw.client.responses.create({ model: 'openclaw', input: 'other q2', previous_response_id: r1.id });
    expect(upstreamText()).toEqual(['user:q1', 'assistant:a1', 'user:other q2']);
    reply('b3');
    await gw.client.responses.create({ model: 'openclaw', input: 'q3', previous_response_id: b2.id });
    expect(upstreamText()).toEqual(['user:q1', 'assistant:a1', 'user:other q2', 'assistant:b2', 'user:q3']);
    reply('a3');
    await gw.client.responses.create({ model: 'openclaw', input: 'q3', previous_response_id: r2.id });
    expect(upstreamText()).toEqual(['user:q1', 'assistant:a1', 'user:q2', 'assistant:a2', 'user:q3']);

    const [s1, s2, sb] = await Promise.all([r1.id, r2.id, b2.id].map((id) => store().getResponse(id)));
    expect(s1!.sessionKey).toBe(`agent:main:response:${r1.id}`);
    expect(s2!.sessionKey).toBe(s1!.sessionKey);
    expect(sb!.sessionKey).toBe(`agent:main:response:${b2.id}`);
    expect((await store().loadTranscript(s1!.sessionKey)).messages).toHaveLength(6);
    expect((await store().loadTranscript(sb!.sessionKey)).messages).toHaveLength(6);
    const turns = await store().listTurns(sb!.sessionKey);
    expect(turns.map((turn) => turn.meta.responseId)).toEqual([r1.id, b2.id, expect.stringMatching(/^resp_/)]);
  });

  it('two requests continuing the same latest response at once: one continues its session, the other gets a branch; both see that response’s conversation', async () => {
    reply('base');
    const base = await gw.client.responses.create({ model: 'openclaw', input: 'start' });
    upstream.setScript(() => ({ kind: 'text', text: 'reply', delayMs: 100 }));
    const [a, b] = await Promise.all(['left', 'right'].map((input) => gw.client.responses.create({ model: 'openclaw', input, previous_response_id: base.id })));
    const seen = upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).slice(-2).map((r) => r.body.messages.map((m: any) => m.content));
    expect(seen.map((messages) => messages.slice(0, 2))).toEqual([
      ['start', 'base'],
      ['start', 'base'],
    ]);
    const keys = await Promise.all([a.id, b.id].map(async (id) => (await store().getResponse(id))!.sessionKey));
    const baseKey = (await store().getResponse(base.id))!.sessionKey;
    expect(keys).toContain(baseKey);
    expect(keys.filter((key) => key !== baseKey)).toHaveLength(1);
    for (const key of keys) expect((await store().loadTranscript(key)).messages).toHaveLength(4);
  });

  it('the session header or `user` names the session; previous_response_id, when given, wins', async () => {
    reply('u1');
    const r1 = await gw.client.responses.create({ model: 'openclaw', input: 'hello', user: 'dana' });
    expect((await store().getResponse(r1.id))!.sessionKey).toBe('agent:main:openai-user:dana');
    reply('u2');
    await gw.client.responses.create({ model: 'openclaw', input: 'again', user: 'dana' });
    expect(upstreamText()).toEqual(['user:hello', 'assistant:u1', 'user:again']);
    reply('h1');
    const h1 = await gw.client.responses.create({ model: 'openclaw', input: 'via header' }, { headers: { 'x-openclaw-session-key': 'resp-header-1' } });
    expect((await store().getResponse(h1.id))!.sessionKey).toBe('agent:main:resp-header-1');
    reply('p');
    await gw.client.responses.create({ model: 'openclaw', input: 'continue r1', user: 'dana', previous_response_id: r1.id });
    expect(upstreamText()).toEqual(['user:hello', 'assistant:u1', 'user:continue r1']);
  });

  it('store: false with previous_response_id reads that conversation and writes nothing', async () => {
    reply('s1');
    const r1 = await gw.client.responses.create({ model: 'openclaw', input: 'keep this' });
    const key = (await store().getResponse(r1.id))!.sessionKey;
    reply('s2');
    const r2 = await gw.client.responses.create({ model: 'openclaw', input: 'not this', previous_response_id: r1.id, store: false });
    expect(upstreamText()).toEqual(['user:keep this', 'assistant:s1', 'user:not this']);
    expect(await store().getResponse(r2.id)).toBeUndefined();
    expect((await store().loadTranscript(key)).position).toBe(2);
  });

  it('a response of another agent is refused as previous_response_id', async () => {
    const r1 = await gw.client.responses.create({ model: 'openclaw/beta', input: 'beta speaking' });
    const error = await gw.client.responses.create({ model: 'openclaw/main', input: 'x', previous_response_id: r1.id }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as any).error).toMatchObject({ param: 'previous_response_id', code: 'previous_response_agent_mismatch' });
    expect((error as any).error.message).toContain('beta');
  });

  it('a session stored through chat completions is continued through the Responses API, and back', async () => {
    reply('c1');
    await gw.client.chat.completions.create({ model: 'openclaw', user: 'both-ways', messages: [{ role: 'user', content: 'chat first' }] });
    reply('r1');
    const r = await gw.client.responses.create({ model: 'openclaw', user: 'both-ways', input: 'then responses' });
    expect(upstreamText()).toEqual(['user:chat first', 'assistant:c1', 'user:then responses']);
    reply('c2');
    await gw.client.chat.completions.create({ model: 'openclaw', user: 'both-ways', messages: [{ role: 'user', content: 'chat again' }] });
    expect(upstreamText()).toEqual(['user:chat first', 'assistant:c1', 'user:then responses', 'assistant:r1', 'user:chat again']);
    expect(r.output_text).toBe('r1');
  });
});

describe('stored responses live in the session store', () => {
  it('survive a restart and are shared by another gateway on the same store (a replica)', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'remembered' }));
    const first = await gw.client.responses.create({ model: 'openclaw', input: 'remember this' });
    const replica = await startTestGateway(
      {
        gateway: { http: { endpoints: { responses: { enabled: true } } } },
        models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
        agents: { list: [{ id: 'main', default: true, model: 'up/model-a' }] },
      },
      { stateDir: gw.stateDir },
    );
    try {
      const seen = await replica.client.responses.retrieve(first.id);
      expect(seen.output_text).toBe('remembered');
      upstream.setScript(() => ({ kind: 'text', text: 'from the replica' }));
      const next = await replica.client.responses.create({ model: 'openclaw', input: 'and then?', previous_response_id: first.id });
      expect(upstreamText()).toEqual(['user:remember this', 'assistant:remembered', 'user:and then?']);
      expect((await gw.client.responses.retrieve(next.id)).output_text).toBe('from the replica');
    } finally {
      await replica.close();
    }
  });

  it('a client that goes away mid-stream aborts the run: the response is stored as cancelled with the user turn only', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'a b c d e f g h', chunks: 8, chunkDelayMs: 200 }));
    const aborter = new AbortController();
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', input: 'go away', stream: true }),
      signal: aborter.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('response.output_text.delta')) text += new TextDecoder().decode((await reader.read()).value);
    const id = sseEvents(text.slice(0, text.lastIndexOf('\n\n') + 2))[0].data.response.id as string;
    aborter.abort();
    let stored = await store().getResponse(id);
    while (!stored) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stored = await store().getResponse(id);
    }
    expect(stored.meta).toMatchObject({ outcome: 'aborted', errorCode: 'run_aborted' });
    expect((await store().loadTranscript(stored.sessionKey)).messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'go away' }] }]);
    expect(await gw.client.responses.retrieve(id)).toMatchObject({ status: 'cancelled', output: [] });
    while (upstream.clientAborts === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  });
});

describe('openclaw sessions show', () => {
  it('marks the turns stored responses produced, and those since deleted', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'shown' }));
    const r1 = await gw.client.responses.create({ model: 'openclaw', input: 'cli one' });
    const r2 = await gw.client.responses.create({ model: 'openclaw', input: 'cli two', previous_response_id: r1.id });
    await gw.client.responses.delete(r1.id);
    const key = `agent:main:response:${r1.id}`;
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['bin/openclaw.js', 'sessions', ...args], { cwd: join(import.meta.dirname, '..'), env: { ...process.env, OPENCLAW_STATE_DIR: gw.stateDir } });
    const { stdout } = await cli('show', key);
    expect(stdout).toContain(`response ${r1.id} (deleted)`);
    expect(stdout).toContain(`response ${r2.id}, continuing ${r1.id}`);
    expect(stdout).toContain('[user]\n  cli two');
    const json = JSON.parse((await cli('show', key, '--json')).stdout);
    expect(json.turns.map((turn: any) => turn.response)).toEqual([
      { id: r1.id, stored: false },
      { id: r2.id, stored: true, previousResponseId: r1.id },
    ]);
  }, 60_000);
});

describe('the echo agent', () => {
  it('answers without an upstream, and a function-call round trip works through responses.create', async () => {
    const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' } } }, strict: false }];
    const first = await gw.client.responses.create({ model: 'openclaw/echo', input: '/tool add {"a":1}', tools });
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'add', arguments: '{"a":1}' });
    const second = await gw.client.responses.create({ model: 'openclaw/echo', previous_response_id: first.id, tools, input: [{ type: 'function_call_output', call_id: call.call_id, output: '2' }] });
    expect(second.output_text).toBe('Tool result: 2');
  });
});
