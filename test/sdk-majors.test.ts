// The gateway against previous majors of the official SDK (npm aliases openai-v4/v5/v6) and the
// current one. Tests are named `[feature] …` under a `client: <name>` describe: the compatibility
// table (docs/compatibility.md, `npm run compat`) is made from those names and the results.
import OpenAIv4 from 'openai-v4';
import OpenAIv5 from 'openai-v5';
import OpenAIv6 from 'openai-v6';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scriptedLogprobs, startFakeUpstream, type FakeUpstream, type UpstreamReply } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let upstream: FakeUpstream;
let gw: TestGateway;

const USAGE = { prompt_tokens: 31, completion_tokens: 57, total_tokens: 88, prompt_tokens_details: { cached_tokens: 24 }, completion_tokens_details: { reasoning_tokens: 41 } };
const answer: UpstreamReply = { kind: 'reply', dialect: 'openai', choices: [{ content: 'Hello from upstream' }], usage: USAGE, completionFields: { system_fingerprint: 'fp_majors', service_tier: 'default' } };

beforeAll(async () => {
  upstream = await startFakeUpstream(() => answer);
  gw = await startTestGateway({
    models: {
      providers: {
        up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 },
        vllm: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0, extraBody: true },
      },
    },
    agents: { list: [{ id: 'main', default: true, model: 'up/m' }, { id: 'offline', model: 'echo/echo' }, { id: 'sampler', model: 'vllm/m' }] },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

afterEach(() => upstream.setScript(() => answer));

const lastChat = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)!;

// The shapes the tests use are the same across majors; each constructor is typed loosely on purpose.
type AnyClient = {
  chat: { completions: { create(body: any): Promise<any> } };
  models: { list(): any };
};
const majors: Array<[string, new (options: any) => AnyClient]> = [
  ['v4', OpenAIv4 as any],
  ['v5', OpenAIv5 as any],
  ['v6', OpenAIv6 as any],
  ['current', OpenAI as any],
];

const user = [{ role: 'user', content: 'hi' }];

async function collect(stream: AsyncIterable<any>): Promise<any[]> {
  const chunks: any[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe.each(majors)('client: openai SDK %s', (_name, Client) => {
  const client = () => new Client({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0, timeout: 10_000 });

  it('[text] [usage] create, non-streaming: message, usage with details, system_fingerprint and service_tier', async () => {
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: user, temperature: 0.2 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.id).toMatch(/^chatcmpl-/);
    expect(reply.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from upstream' });
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.usage).toEqual(USAGE);
    expect([reply.system_fingerprint, reply.service_tier]).toEqual(['fp_majors', 'default']);
  });

  it('[stream] [usage] create, streaming with include_usage', async () => {
    const chunks = await collect(await client().chat.completions.create({ model: 'openclaw', messages: user, stream: true, stream_options: { include_usage: true } }));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Hello from upstream');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).usage).toEqual(USAGE);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    // The offline echo agent streams too.
    const echoed = await collect(await client().chat.completions.create({ model: 'openclaw/offline', messages: [{ role: 'user', content: 'stream me' }], stream: true }));
    expect(echoed.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Echo: stream me');
  });

  it('[reasoning] reasoning_content and reasoning on the message and on each delta', async () => {
    upstream.setScript(() => ({ kind: 'reply', dialect: 'vllm', choices: [{ reasoning: 'Let me see.', content: 'Seen.' }] }));
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: user });
    expect(reply.choices[0].message).toMatchObject({ content: 'Seen.', reasoning_content: 'Let me see.', reasoning: 'Let me see.' });
    const chunks = await collect(await client().chat.completions.create({ model: 'openclaw', messages: user, stream: true }));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.reasoning_content ?? '').join('')).toBe('Let me see.');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.reasoning ?? '').join('')).toBe('Let me see.');
  });

  it('[tools] tool calls, and streamed tool-call deltas with their index', async () => {
    const calls = [
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Rome"}' },
      { id: 'call_b', name: 'get_time', arguments: '{}' },
    ];
    upstream.setScript(() => ({ kind: 'reply', dialect: 'openai', choices: [{ toolCalls: calls }] }));
    const tools = calls.map((call) => ({ type: 'function', function: { name: call.name, parameters: { type: 'object' } } }));
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: user, tools });
    expect(reply.choices[0].message.tool_calls.map((call: any) => [call.id, call.function.name, call.function.arguments])).toEqual(calls.map((c) => [c.id, c.name, c.arguments]));
    const chunks = await collect(await client().chat.completions.create({ model: 'openclaw', messages: user, tools, stream: true }));
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
    for (const [index, call] of calls.entries()) expect(deltas.filter((d: any) => d.index === index).map((d: any) => d.function?.arguments ?? '').join('')).toBe(call.arguments);
  });

  it('[logprobs] logprobs on the choice, whole and per chunk', async () => {
    upstream.setScript(() => ({ kind: 'reply', dialect: 'openai', choices: [{ content: 'abcdef' }], chunks: 2 }));
    const expected = [...scriptedLogprobs('abc', 0), ...scriptedLogprobs('def', 1)];
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: user, logprobs: true, top_logprobs: 2 });
    expect(reply.choices[0].logprobs.content).toEqual(expected);
    const chunks = await collect(await client().chat.completions.create({ model: 'openclaw', messages: user, logprobs: true, top_logprobs: 2, stream: true }));
    expect(chunks.flatMap((chunk) => chunk.choices[0]?.logprobs?.content ?? [])).toEqual(expected);
  });

  it('[refusal] a refusal, whole and streamed', async () => {
    upstream.setScript(() => ({ kind: 'reply', dialect: 'openai', choices: [{ refusal: 'I cannot help with that.' }] }));
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: user });
    expect(reply.choices[0].message).toMatchObject({ content: null, refusal: 'I cannot help with that.' });
    const chunks = await collect(await client().chat.completions.create({ model: 'openclaw', messages: user, stream: true }));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.refusal ?? '').join('')).toBe('I cannot help with that.');
  });

  it('[n] n: 2 relays both choices with their index', async () => {
    upstream.setScript(() => ({ kind: 'reply', dialect: 'openai', choices: [{ content: 'one' }, { content: 'two' }] }));
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: user, n: 2 });
    expect(reply.choices.map((choice: any) => [choice.index, choice.message.content])).toEqual([
      [0, 'one'],
      [1, 'two'],
    ]);
  });

  it('[extra-body] fields beyond OpenAI’s in the body reach a provider that accepts them', async () => {
    await client().chat.completions.create({ model: 'openclaw/sampler', messages: user, top_k: 20, min_p: 0.05 });
    expect(lastChat().body).toMatchObject({ top_k: 20, min_p: 0.05 });
  });

  it('[errors] BadRequestError with code and param for a field the provider does not accept', async () => {
    const error = await client().chat.completions.create({ model: 'openclaw', messages: user, top_k: 20 }).catch((e: any) => e);
    expect(error.status).toBe(400);
    expect(error.constructor.name).toBe('BadRequestError');
    expect([error.code, error.param]).toEqual(['unsupported_parameter', 'top_k']);
  });

  it('[models] models.list', async () => {
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['openclaw/main', 'openclaw/offline']));
  });
});
