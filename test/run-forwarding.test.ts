// What the run forwards to the model and relays back: sampling fields, tools, images, usage,
// model override, keep-alive comments. SDK client → gateway → fake upstream.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { sseData, startTestGateway, type TestGateway } from './helpers/gateway.ts';

let upstream: FakeUpstream;
let gw: TestGateway;

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    gateway: { http: { keepAliveIntervalMs: 200 } },
    models: {
      providers: {
        up: { api: 'openai-completions', baseUrl: upstream.baseUrl, apiKey: 'sk-test', maxRetries: 0, headers: { 'x-tenant': 'acme' } },
        other: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0, models: ['big-model'] },
      },
    },
    agents: {
      list: [
        { id: 'main', default: true, model: 'up/agent-model' },
        { id: 'viewer', model: 'up/vision-model', images: { allowUrl: true } },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

afterEach(() => upstream.reset());

const lastChat = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)!;

async function rawPost(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('forwarding', () => {
  it('forwards sampling fields unchanged and streams upstream', async () => {
    const sampling = {
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 64,
      max_completion_tokens: 80,
      stop: ['\n\n', 'END'],
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: -0.25,
      response_format: { type: 'json_object' as const },
    };
    const { response } = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], ...sampling }).withResponse();
    const body = lastChat().body;
    expect(body).toMatchObject({ ...sampling, model: 'agent-model', stream: true });
    expect(body.messages.at(-1)).toEqual({ role: 'user', content: 'hi' });
    // The request id the client got back travels upstream with the call.
    expect(lastChat().headers).toMatchObject({ authorization: 'Bearer sk-test', 'x-tenant': 'acme', 'x-request-id': response.headers.get('x-request-id') });
  });

  it('forwards tools / tool_choice / parallel_tool_calls and returns tool calls unchanged', async () => {
    const calls = [
      { id: 'call_abc123', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_def456', name: 'get_time', arguments: '{}' },
    ];
    upstream.setScript(() => ({ kind: 'tool_calls', calls }));
    const tool_choice = { type: 'function' as const, function: { name: 'get_weather' } };
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'weather?' }], tools, tool_choice, parallel_tool_calls: false });
    expect(lastChat().body).toMatchObject({ tools, tool_choice, parallel_tool_calls: false });
    expect(reply.choices[0].finish_reason).toBe('tool_calls');
    expect(reply.choices[0].message.tool_calls).toEqual(calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })));
    expect(reply.usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
  });

  it('streams tool calls as index/id/name/argument fragments', async () => {
    const calls = [
      { id: 'call_s1', name: 'get_weather', arguments: '{"city":"Tokyo, Japan"}' },
      { id: 'call_s2', name: 'get_time', arguments: '{"tz":"UTC"}' },
    ];
    upstream.setScript(() => ({ kind: 'tool_calls', calls }));
    const stream = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'weather?' }], tools, stream: true });
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(deltas.length).toBeGreaterThan(calls.length); // fragments, not one blob per call
    calls.forEach((call, index) => {
      const mine = deltas.filter((d) => d.index === index);
      expect(mine[0]).toMatchObject({ index, id: call.id, function: { name: call.name } });
      expect(mine.map((d) => d.function?.arguments ?? '').join('')).toBe(call.arguments);
    });
  });

  it('accepts a role:"tool" follow-up and forwards it', async () => {
    upstream.setScript(() => ({ kind: 'text', text: 'It is sunny in Paris.' }));
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_abc123', content: '{"sky":"sunny"}' },
    ];
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages, tools });
    expect(reply.choices[0].message.content).toBe('It is sunny in Paris.');
    const sent = lastChat().body.messages;
    expect(sent.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_abc123', content: '{"sky":"sunny"}' });
    expect(sent.at(-2).tool_calls[0].id).toBe('call_abc123');
  });

  it('forwards image_url data URIs', async () => {
    const content: OpenAI.ChatCompletionContentPart[] = [
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: PNG, detail: 'low' } },
    ];
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content }] });
    expect(lastChat().body.messages.at(-1)).toEqual({ role: 'user', content });
  });

  it('rejects remote image URLs unless the agent allows them', async () => {
    const content: OpenAI.ChatCompletionContentPart[] = [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }];
    const error = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content }] }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as any).error.param).toBe('messages[0].content[1].image_url.url');
    expect(upstream.requests).toHaveLength(0);
    await gw.client.chat.completions.create({ model: 'openclaw/viewer', messages: [{ role: 'user', content }] });
    expect(lastChat().body.messages.at(-1).content[1].image_url.url).toBe('https://example.com/cat.png');
  });

  it('reports the provider usage, and the include_usage chunk when streaming', async () => {
    const usage = { prompt_tokens: 123, completion_tokens: 45, total_tokens: 168 };
    upstream.setScript(() => ({ kind: 'text', text: 'counted', usage }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.usage).toEqual(usage);

    const { text } = await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant' });
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(usage);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('counted');

    // Without include_usage: no usage chunk.
    const plain = sseData((await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], stream: true })).text);
    expect(plain.slice(0, -1).every((e) => JSON.parse(e).choices.length === 1)).toBe(true);
  });
});

describe('x-openclaw-model', () => {
  it('overrides the backend model for one request', async () => {
    const headers = { 'x-openclaw-model': 'other/big-model' };
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] }, { headers });
    expect(lastChat().body.model).toBe('big-model');
    expect(lastChat().headers.authorization).toBe('Bearer not-needed');
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });
    expect(lastChat().body.model).toBe('agent-model');
  });

  it.each(['nope/some-model', 'other/unlisted-model', 'no-slash'])('undeclared %s → 404 model_not_found', async (ref) => {
    const { status, text } = await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], stream: true }, { 'x-openclaw-model': ref });
    expect(status).toBe(404);
    expect(JSON.parse(text).error).toMatchObject({ code: 'model_not_found', type: 'invalid_request_error' });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('keep-alive', () => {
  it('sends `: keep-alive` comments while the upstream is slow to start, then the reply', async () => {
    // The upstream answers only once the client has seen a keep-alive.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    upstream.setScript(() => ({ kind: 'gated', until: held, then: { kind: 'text', text: 'finally', chunks: 1 } }));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(': keep-alive\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });
    release();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    expect(text.indexOf(': keep-alive')).toBeLessThan(text.indexOf('finally'));
    expect(sseData(text).at(-1)).toBe('[DONE]');
  });
});
