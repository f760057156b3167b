// What the run forwards to the model and relays back: sampling fields, tools, images, usage,
// model override, keep-alive comments. SDK client → gateway → fake upstream.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { sseData, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape, openAiObjectFields, openAiValidator } from './helpers/openai-schemas.ts';

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
  // Compiled up front: compiling OpenAI's schemas blocks this process (the gateway's too) for seconds.
  openAiValidator('CreateChatCompletionRequest');
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    gateway: { http: { keepAliveIntervalMs: 200 } },
    models: {
      providers: {
        up: { api: 'openai-completions', baseUrl: upstream.baseUrl, apiKey: 'sk-test', maxRetries: 0, headers: { 'x-tenant': 'acme' } },
        other: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0, models: ['big-model'] },
        vllm: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0, extraBody: true },
        llamacpp: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0, extraBody: ['top_k', 'min_p'] },
      },
    },
    agents: {
      list: [
        { id: 'main', default: true, model: 'up/agent-model' },
        { id: 'viewer', model: 'up/vision-model', images: { allowUrl: true } },
        { id: 'sampler', model: 'vllm/qwen' },
        { id: 'listed', model: 'llamacpp/gemma' },
        { id: 'mixed', model: { primary: 'vllm/qwen', fallbacks: ['up/agent-model'] } },
        { id: 'identified', model: 'up/agent-model', forwardUser: true },
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
  it('forwards sampling fields unchanged; asks the upstream for the whole answer when the client does not stream', async () => {
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
    expect(body).toMatchObject({ ...sampling, model: 'agent-model', stream: false });
    expect(body).not.toHaveProperty('stream_options');
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

/** A value for every field of OpenAI's chat request the gateway forwards, each valid for OpenAI. */
const OPENAI_FIELDS: Record<string, unknown> = {
  temperature: 0.3,
  top_p: 0.9,
  max_tokens: 64,
  max_completion_tokens: 80,
  n: 1,
  stop: ['\n\n', 'END'],
  seed: 42,
  presence_penalty: 0.5,
  frequency_penalty: -0.25,
  logit_bias: { '50256': -100 },
  logprobs: true,
  top_logprobs: 3,
  response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
  tools,
  tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'get_time' } }] } },
  parallel_tool_calls: false,
  functions: [{ name: 'legacy_fn', parameters: { type: 'object', properties: {} } }],
  function_call: 'auto',
  reasoning_effort: 'low',
  verbosity: 'high',
  service_tier: 'flex',
  modalities: ['text', 'audio'],
  audio: { voice: 'alloy', format: 'wav' },
  prediction: { type: 'content', content: 'predicted text' },
  web_search_options: { search_context_size: 'low', user_location: { type: 'approximate', approximate: { city: 'Paris' } } },
  store: true,
  metadata: { team: 'relay' },
  moderation: { model: 'omni-moderation-latest' },
  safety_identifier: 'hash-of-user',
  prompt_cache_key: 'relay-tests',
  prompt_cache_retention: '24h',
  prompt_cache_options: { ttl: '30m', mode: 'explicit' },
};

describe('request fields', () => {
  it('forwards every field of OpenAI’s request it does not interpret itself, as sent', async () => {
    // The fixture covers OpenAI's whole request: a field OpenAI adds shows up here.
    const interpreted = ['model', 'messages', 'stream', 'stream_options', 'user'];
    expect(Object.keys(OPENAI_FIELDS).sort()).toEqual(openAiObjectFields('CreateChatCompletionRequest').filter((name) => !interpreted.includes(name)));
    for (const stream of [false, true]) {
      const body = { model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], ...OPENAI_FIELDS, stream };
      assertOpenAiShape('CreateChatCompletionRequest', body);
      const { status, text } = await rawPost(body);
      expect(status, text).toBe(200);
      const sent = lastChat().body;
      for (const [name, value] of Object.entries(OPENAI_FIELDS)) expect(sent[name], name).toEqual(value);
      // A streaming client's run streams upstream (usage included); one that waits gets the whole answer asked for.
      if (stream) expect(sent).toMatchObject({ model: 'agent-model', stream: true, stream_options: { include_usage: true } });
      else expect(sent).toMatchObject({ model: 'agent-model', stream: false });
      if (!stream) expect(sent).not.toHaveProperty('stream_options');
    }
  });

  it('does not forward null fields (the model’s default), nor `user` unless the agent forwards it', async () => {
    await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], temperature: null, reasoning_effort: null, user: 'alice-forwarding' });
    expect(lastChat().body).not.toHaveProperty('temperature');
    expect(lastChat().body).not.toHaveProperty('reasoning_effort');
    expect(lastChat().body).not.toHaveProperty('user');
    await rawPost({ model: 'openclaw/identified', messages: [{ role: 'user', content: 'hi' }], user: 'alice-forwarding' });
    expect(lastChat().body.user).toBe('alice-forwarding');
  });

  it('refuses OpenAI-invalid values of the new fields with a 400 naming them', async () => {
    for (const [name, value] of [['top_logprobs', 21], ['reasoning_effort', 'extreme'], ['service_tier', 'gold'], ['n', 129], ['logit_bias', { '1': 'x' }]] as const) {
      const { status, text } = await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], [name]: value });
      expect(status, name).toBe(400);
      expect(JSON.parse(text).error.param, name).toMatch(new RegExp(`^${name}`));
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('refuses a field beyond OpenAI’s unless the provider accepts it: 400 naming the field and the provider', async () => {
    const { status, text } = await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], top_k: 20 });
    expect(status).toBe(400);
    const error = JSON.parse(text).error;
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param: 'top_k' });
    expect(error.message).toContain('`top_k`');
    expect(error.message).toContain('models.providers.up.extraBody');
    expect(upstream.requests).toHaveLength(0);
  });

  it('forwards fields beyond OpenAI’s to a provider with extraBody: true', async () => {
    const extras = { top_k: 20, min_p: 0.05, repetition_penalty: 1.1, chat_template_kwargs: { enable_thinking: false } };
    const reply = await gw.client.chat.completions.create({ model: 'openclaw/sampler', messages: [{ role: 'user', content: 'hi' }], ...extras } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(reply.choices[0].message.content).toBe('Hello from upstream');
    expect(lastChat().body).toMatchObject({ ...extras, model: 'qwen' });
  });

  it('forwards only the listed fields to a provider with an extraBody list', async () => {
    await rawPost({ model: 'openclaw/listed', messages: [{ role: 'user', content: 'hi' }], top_k: 40, min_p: 0.1 });
    expect(lastChat().body).toMatchObject({ top_k: 40, min_p: 0.1 });
    upstream.reset();
    const { status, text } = await rawPost({ model: 'openclaw/listed', messages: [{ role: 'user', content: 'hi' }], top_k: 40, mirostat: 2 });
    expect(status).toBe(400);
    expect(JSON.parse(text).error).toMatchObject({ code: 'unsupported_parameter', param: 'mirostat' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('refuses a field beyond OpenAI’s when a fallback model’s provider would not accept it', async () => {
    const { status, text } = await rawPost({ model: 'openclaw/mixed', messages: [{ role: 'user', content: 'hi' }], top_k: 40 });
    expect(status).toBe(400);
    expect(JSON.parse(text).error.message).toContain('provider up ');
    // The model override replaces the chain: only its provider counts.
    const overridden = await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], top_k: 40 }, { 'x-openclaw-model': 'vllm/other' });
    expect(overridden.status).toBe(200);
    expect(lastChat().body).toMatchObject({ model: 'other', top_k: 40 });
  });

  it('forwards n > 1 for a stateless request and refuses it for a session', async () => {
    await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], n: 3 });
    expect(lastChat().body.n).toBe(3);
    upstream.reset();
    for (const [body, headers] of [
      [{ user: 'alice-n' }, {}],
      [{}, { 'x-openclaw-session-key': 'n-test' }],
    ] as const) {
      const { status, text } = await rawPost({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], n: 2, ...body }, headers);
      expect(status).toBe(400);
      const error = JSON.parse(text).error;
      expect(error).toMatchObject({ param: 'n', code: 'invalid_value' });
      expect(error.message).toMatch(/stateless/);
    }
    expect(upstream.requests).toHaveLength(0);
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
