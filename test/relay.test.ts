// Everything the model says reaches the client: content, refusal, tool calls, reasoning (under both
// names), logprobs, usage with its details, system_fingerprint, service_tier, and fields the gateway
// does not know, from upstreams speaking each dialect (OpenAI, vLLM, Ollama, one adding its own
// fields), streamed and not, through the `openai` SDK and as raw JSON checked against OpenAI's schemas.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scriptedLogprobs, startFakeUpstream, type FakeUpstream, type ScriptedChoice, type UpstreamReply } from './fixtures/upstream.ts';
import { sseData, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape, openAiValidator } from './helpers/openai-schemas.ts';
import { assertSpecShape } from './helpers/spec-schemas.ts';

let upstream: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  // Compiled up front: compiling OpenAI's schemas blocks this process (the gateway's too) for seconds.
  openAiValidator('CreateChatCompletionResponse');
  openAiValidator('CreateChatCompletionStreamResponse');
  upstream = await startFakeUpstream();
  const provider = { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 };
  gw = await startTestGateway({
    models: {
      providers: {
        up: provider,
        replaying: { ...provider, replayReasoning: true },
        'replaying-as': { ...provider, replayReasoning: 'reasoning' },
      },
    },
    agents: {
      list: [
        { id: 'main', default: true, model: 'up/thinker' },
        { id: 'replay', model: 'replaying/thinker' },
        { id: 'replay-as', model: 'replaying-as/thinker' },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

afterEach(() => upstream.reset());

const chatRequests = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions'));

async function rawPost(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'What is 6 times 7?' }], ...body }),
  });
  return { status: res.status, text: await res.text() };
}

/** A streamed reply's chunks (the `[DONE]` checked and dropped). */
async function rawStream(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const { status, text } = await rawPost({ ...body, stream: true }, headers);
  expect(status, text).toBe(200);
  const events = sseData(text);
  expect(events.at(-1)).toBe('[DONE]');
  return events.slice(0, -1).map((event) => JSON.parse(event));
}

const join = (chunks: any[], pick: (delta: any) => unknown, index = 0) =>
  chunks
    .filter((chunk) => chunk.choices[0]?.index === index)
    .map((chunk) => pick(chunk.choices[0].delta) ?? '')
    .join('');

interface DialectCase {
  name: string;
  reply: Extract<UpstreamReply, { kind: 'reply' }>;
  /** The reasoning the client must find under both names, or none. */
  reasoning?: string;
  content: string;
  usage: Record<string, unknown>;
  /** Top-level fields relayed as sent. */
  completionFields: Record<string, unknown>;
  /** Message fields beyond OpenAI's, as the non-streamed message must carry them. */
  messageFields?: Record<string, unknown>;
}

const OPENAI_USAGE = {
  prompt_tokens: 20,
  completion_tokens: 8,
  total_tokens: 28,
  prompt_tokens_details: { cached_tokens: 16, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};
const VLLM_USAGE = { prompt_tokens: 31, completion_tokens: 57, total_tokens: 88, prompt_tokens_details: { cached_tokens: 24 }, completion_tokens_details: { reasoning_tokens: 41 } };
const OLLAMA_USAGE = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 };

const dialects: DialectCase[] = [
  {
    name: 'OpenAI',
    reply: { kind: 'reply', dialect: 'openai', choices: [{ content: 'The answer is 42.' }], completionFields: { system_fingerprint: 'fp_abc123', service_tier: 'default' }, usage: OPENAI_USAGE },
    content: 'The answer is 42.',
    usage: OPENAI_USAGE,
    completionFields: { system_fingerprint: 'fp_abc123', service_tier: 'default' },
  },
  {
    name: 'vLLM (reasoning_content)',
    reply: { kind: 'reply', dialect: 'vllm', choices: [{ reasoning: 'Six sevens: 7+7+7+7+7+7 = 42.', content: '42' }], usage: VLLM_USAGE },
    reasoning: 'Six sevens: 7+7+7+7+7+7 = 42.',
    content: '42',
    usage: VLLM_USAGE,
    completionFields: {},
  },
  {
    name: 'Ollama (reasoning)',
    reply: { kind: 'reply', dialect: 'ollama', choices: [{ reasoning: 'Multiply: 6 × 7 is 42.', content: 'It is 42.' }], completionFields: { system_fingerprint: 'fp_ollama' }, usage: OLLAMA_USAGE },
    reasoning: 'Multiply: 6 × 7 is 42.',
    content: 'It is 42.',
    usage: OLLAMA_USAGE,
    completionFields: { system_fingerprint: 'fp_ollama' },
  },
  {
    name: 'a server with fields of its own',
    reply: {
      kind: 'reply',
      dialect: 'ollama',
      choices: [
        {
          reasoning: 'Thinking it over.',
          content: '42, with sources.',
          messageFields: [
            { reasoning_details: [{ type: 'reasoning.text', text: 'Thinking ' }] },
            { reasoning_details: [{ type: 'reasoning.text', text: 'it over.' }], vendor_note: 'cached ' },
            { vendor_note: 'answer', vendor_scores: { safety: 0.99 } },
          ],
        },
      ],
      completionFields: { provider: 'Acme Inference', system_fingerprint: 'fp_acme', service_tier: 'flex' },
      usage: OLLAMA_USAGE,
    },
    reasoning: 'Thinking it over.',
    content: '42, with sources.',
    usage: OLLAMA_USAGE,
    completionFields: { provider: 'Acme Inference', system_fingerprint: 'fp_acme', service_tier: 'flex' },
    messageFields: {
      reasoning_details: [
        { type: 'reasoning.text', text: 'Thinking ' },
        { type: 'reasoning.text', text: 'it over.' },
      ],
      vendor_note: 'cached answer',
      vendor_scores: { safety: 0.99 },
    },
  },
];

describe.each(dialects)('an upstream speaking $name', (dialect) => {
  beforeEach(() => upstream.setScript(() => dialect.reply));

  it('[relay] non-streamed: raw JSON valid for OpenAI, every field relayed, our id/model/created/object kept', async () => {
    const { status, text } = await rawPost({ model: 'OpenClaw' });
    expect(status, text).toBe(200);
    const body = JSON.parse(text);
    assertOpenAiShape('CreateChatCompletionResponse', body);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'OpenClaw', id: expect.stringMatching(/^chatcmpl-(?!upstream)/) });
    expect(body.created).not.toBe(1_700_000_000);
    const message = body.choices[0].message;
    expect(message.content).toBe(dialect.content);
    expect(message.refusal).toBeNull();
    if (dialect.reasoning) {
      expect(message.reasoning_content).toBe(dialect.reasoning);
      expect(message.reasoning).toBe(dialect.reasoning);
    } else {
      expect(message).not.toHaveProperty('reasoning_content');
      expect(message).not.toHaveProperty('reasoning');
    }
    for (const [name, value] of Object.entries(dialect.messageFields ?? {})) expect(message[name], name).toEqual(value);
    expect(body.usage).toEqual(dialect.usage);
    for (const [name, value] of Object.entries(dialect.completionFields)) expect(body[name], name).toEqual(value);
    expect(Object.keys(body).filter((key) => !['id', 'object', 'created', 'model', 'choices', 'usage'].includes(key)).sort()).toEqual(Object.keys(dialect.completionFields).sort());
  });

  it('[relay] streamed: raw chunks valid for OpenAI, reasoning under both names, unknown delta fields, fields on each chunk, usage with details', async () => {
    const chunks = await rawStream({ stream_options: { include_usage: true } });
    for (const chunk of chunks) assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(join(chunks, (delta) => delta.content)).toBe(dialect.content);
    if (dialect.reasoning) {
      const reasoningChunks = chunks.filter((chunk) => chunk.choices[0]?.delta.reasoning_content !== undefined);
      expect(reasoningChunks.length).toBeGreaterThan(1);
      for (const chunk of reasoningChunks) expect(chunk.choices[0].delta.reasoning).toBe(chunk.choices[0].delta.reasoning_content);
      expect(join(chunks, (delta) => delta.reasoning_content)).toBe(dialect.reasoning);
      // Reasoning comes before the answer, as the model said it.
      expect(chunks.findIndex((chunk) => chunk.choices[0]?.delta.reasoning)).toBeLessThan(chunks.findIndex((chunk) => chunk.choices[0]?.delta.content));
    } else {
      expect(chunks.some((chunk) => 'reasoning' in (chunk.choices[0]?.delta ?? {}))).toBe(false);
    }
    const extraDeltas = chunks.map((chunk) => chunk.choices[0]?.delta ?? {}).filter((delta) => Object.keys(delta).some((key) => key.startsWith('vendor_') || key === 'reasoning_details'));
    expect(extraDeltas).toEqual((dialect.reply.choices[0].messageFields ?? []) as object[]);
    // From the first chunk after the upstream sent them, every chunk carries the completion fields.
    const firstWithContent = chunks.findIndex((chunk) => chunk.choices[0]?.delta.content || chunk.choices[0]?.delta.reasoning);
    for (const chunk of chunks.slice(firstWithContent)) {
      for (const [name, value] of Object.entries(dialect.completionFields)) expect(chunk[name], name).toEqual(value);
    }
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: dialect.usage });
  });

  it('[relay] through the openai SDK: create, streamed and not', async () => {
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'What is 6 times 7?' }] });
    expect(reply.choices[0].message.content).toBe(dialect.content);
    expect((reply.choices[0].message as unknown as Record<string, unknown>).reasoning_content).toBe(dialect.reasoning);
    expect(reply.usage).toEqual(dialect.usage);
    expect(reply.system_fingerprint).toBe(dialect.completionFields.system_fingerprint);
    expect(reply.service_tier).toBe(dialect.completionFields.service_tier);

    const stream = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'What is 6 times 7?' }], stream: true, stream_options: { include_usage: true } });
    let content = '';
    let reasoning = '';
    let usage: OpenAI.CompletionUsage | undefined;
    const fingerprints = new Set<string | undefined>();
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as (OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning?: string }) | undefined;
      content += delta?.content ?? '';
      reasoning += delta?.reasoning ?? '';
      if (chunk.usage) usage = chunk.usage;
      if (delta?.content) fingerprints.add(chunk.system_fingerprint);
    }
    expect(content).toBe(dialect.content);
    expect(reasoning).toBe(dialect.reasoning ?? '');
    expect(usage).toEqual(dialect.usage);
    expect([...fingerprints]).toEqual([dialect.completionFields.system_fingerprint]);
  });
});

describe('log probabilities', () => {
  const reply = (choice: ScriptedChoice): UpstreamReply => ({ kind: 'reply', dialect: 'openai', choices: [choice], chunks: 3 });

  it('[logprobs] relays content logprobs when asked for, streamed chunk by chunk and whole', async () => {
    upstream.setScript(() => reply({ content: 'abcdefghi' }));
    const expected = ['abc', 'def', 'ghi'].flatMap((piece, position) => scriptedLogprobs(piece, position));

    const { text } = await rawPost({ logprobs: true, top_logprobs: 2 });
    const body = JSON.parse(text);
    assertOpenAiShape('CreateChatCompletionResponse', body);
    expect(body.choices[0].logprobs).toEqual({ content: expected, refusal: null });
    expect(chatRequests().at(-1)!.body).toMatchObject({ logprobs: true, top_logprobs: 2 });

    const chunks = await rawStream({ logprobs: true, top_logprobs: 2 });
    for (const chunk of chunks) assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
    const withContent = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(withContent.map((chunk) => chunk.choices[0].logprobs)).toEqual(['abc', 'def', 'ghi'].map((piece, position) => ({ content: scriptedLogprobs(piece, position), refusal: null })));

    // The SDK's stream helper puts them back together as OpenAI's would.
    const final = await gw.client.chat.completions.stream({ model: 'openclaw', messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 2 }).finalChatCompletion();
    expect(final.choices[0].logprobs?.content).toEqual(expected);
  });

  it('[logprobs] a reply without them has logprobs: null', async () => {
    upstream.setScript(() => reply({ content: 'plain' }));
    const body = JSON.parse((await rawPost({})).text);
    expect(body.choices[0].logprobs).toBeNull();
    const chunks = await rawStream({});
    expect(chunks.every((chunk) => chunk.choices[0]?.logprobs === null)).toBe(true);
  });

  it('[refusal] relays a refusal with its logprobs, content null, streamed and not', async () => {
    upstream.setScript(() => reply({ refusal: 'I cannot help with that.' }));
    const body = JSON.parse((await rawPost({ logprobs: true })).text);
    assertOpenAiShape('CreateChatCompletionResponse', body);
    expect(body.choices[0].message).toMatchObject({ content: null, refusal: 'I cannot help with that.' });
    expect(body.choices[0].logprobs.content).toBeNull();
    expect(body.choices[0].logprobs.refusal.map((entry: { token: string }) => entry.token).join('')).toBe('I cannot help with that.');

    const stream = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'x' }], stream: true, logprobs: true });
    let refusal = '';
    let tokens = '';
    for await (const chunk of stream) {
      refusal += chunk.choices[0]?.delta.refusal ?? '';
      tokens += (chunk.choices[0]?.logprobs?.refusal ?? []).map((entry) => entry.token).join('');
    }
    expect(refusal).toBe('I cannot help with that.');
    expect(tokens).toBe('I cannot help with that.');
  });
});

describe('tool calls', () => {
  it('[tools] relays reasoning, then each tool call delta with its index, streamed and not', async () => {
    const calls = [
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_2', name: 'get_time', arguments: '{"tz":"CET"}' },
    ];
    upstream.setScript(() => ({ kind: 'reply', dialect: 'vllm', choices: [{ reasoning: 'Both tools are needed.', toolCalls: calls }] }));
    const tools: OpenAI.ChatCompletionTool[] = calls.map((call) => ({ type: 'function', function: { name: call.name, parameters: { type: 'object' } } }));

    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'x' }], tools });
    assertOpenAiShape('CreateChatCompletionResponse', reply);
    expect(reply.choices[0].finish_reason).toBe('tool_calls');
    expect(reply.choices[0].message.content).toBeNull();
    expect(reply.choices[0].message.tool_calls).toEqual(calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })));
    expect((reply.choices[0].message as unknown as Record<string, unknown>).reasoning).toBe('Both tools are needed.');

    const chunks = await rawStream({ tools });
    for (const chunk of chunks) assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(deltas.length).toBe(6);
    calls.forEach((call, index) => {
      const mine = deltas.filter((delta: { index: number }) => delta.index === index);
      expect(mine[0]).toMatchObject({ index, id: call.id, type: 'function', function: { name: call.name } });
      expect(mine.map((delta: any) => delta.function?.arguments ?? '').join('')).toBe(call.arguments);
    });
  });
});

describe('several choices (n)', () => {
  const two: UpstreamReply = {
    kind: 'reply',
    dialect: 'vllm',
    choices: [
      { reasoning: 'first thought', content: 'first answer' },
      { content: 'second answer', finishReason: 'length' },
    ],
  };

  it('[n] relays every choice with its index, non-streamed', async () => {
    upstream.setScript(() => two);
    const { text } = await rawPost({ n: 2 });
    const body = JSON.parse(text);
    assertOpenAiShape('CreateChatCompletionResponse', body);
    expect(chatRequests().at(-1)!.body.n).toBe(2);
    expect(body.choices.map((choice: any) => [choice.index, choice.message.content, choice.finish_reason, choice.message.reasoning ?? null])).toEqual([
      [0, 'first answer', 'stop', 'first thought'],
      [1, 'second answer', 'length', null],
    ]);
  });

  it('[n] relays every choice with its index, streamed (raw and through the SDK stream helper)', async () => {
    upstream.setScript(() => two);
    const chunks = await rawStream({ n: 2 });
    for (const chunk of chunks) assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
    expect(join(chunks, (delta) => delta.content, 0)).toBe('first answer');
    expect(join(chunks, (delta) => delta.content, 1)).toBe('second answer');
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.role === 'assistant').map((chunk) => chunk.choices[0].index)).toEqual([0, 1]);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason).map((chunk) => [chunk.choices[0].index, chunk.choices[0].finish_reason])).toEqual([
      [0, 'stop'],
      [1, 'length'],
    ]);

    const final = await gw.client.chat.completions.stream({ model: 'openclaw', messages: [{ role: 'user', content: 'x' }], n: 2 }).finalChatCompletion();
    expect(final.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
      [0, 'first answer', 'stop'],
      [1, 'second answer', 'length'],
    ]);
  });
});

describe('usage', () => {
  it('[usage] an upstream that reports no usage gets `usage: {}`, not zeros, streamed and not', async () => {
    upstream.setScript(() => ({ kind: 'reply', dialect: 'ollama', choices: [{ content: 'uncounted' }], usage: null }));
    const body = JSON.parse((await rawPost({})).text);
    assertSpecShape('CreateChatCompletionResponse', body);
    expect(body.usage).toEqual({});
    const chunks = await rawStream({ stream_options: { include_usage: true } });
    for (const chunk of chunks) assertSpecShape('CreateChatCompletionStreamResponse', chunk);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: {} });
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'x' }] });
    expect(reply.usage?.prompt_tokens).toBeUndefined();
  });

  it('[usage] only the counts the upstream gave; the total when it gave both parts', async () => {
    upstream.setScript(() => ({ kind: 'reply', dialect: 'vllm', choices: [{ content: 'part' }], usage: { prompt_tokens: 7 } }));
    expect(JSON.parse((await rawPost({})).text).usage).toEqual({ prompt_tokens: 7 });
    upstream.setScript(() => ({ kind: 'reply', dialect: 'vllm', choices: [{ content: 'parts' }], usage: { prompt_tokens: 7, completion_tokens: 2, completion_tokens_details: { reasoning_tokens: 1 } } }));
    expect(JSON.parse((await rawPost({})).text).usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, completion_tokens_details: { reasoning_tokens: 1 } });
  });
});

describe('reasoning in a session', () => {
  const reasoningReply: UpstreamReply = { kind: 'reply', dialect: 'vllm', choices: [{ reasoning: 'private chain of thought', content: 'visible answer' }] };

  const twoTurns = async (model: string, user: string) => {
    upstream.setScript(() => reasoningReply);
    const first = await gw.client.chat.completions.create({ model, user, messages: [{ role: 'user', content: 'first question' }] });
    expect((first.choices[0].message as unknown as Record<string, unknown>).reasoning_content).toBe('private chain of thought');
    await gw.client.chat.completions.create({ model, user, messages: [{ role: 'user', content: 'second question' }] });
    return chatRequests().at(-1)!.body.messages.find((message: { role: string }) => message.role === 'assistant');
  };

  it('[reasoning] is stored with the turn and not sent back to the model by default', async () => {
    const replayed = await twoTurns('openclaw', 'reasoning-default');
    expect(replayed).toEqual({ role: 'assistant', content: 'visible answer' });
    const { messages } = await gw.gateway.runtime.store!.loadTranscript('agent:main:openai-user:reasoning-default');
    expect(messages.find((message) => message.role === 'assistant')).toMatchObject({ reasoning: { text: 'private chain of thought', field: 'reasoning_content' } });
  });

  it('[reasoning] is sent back where the provider sets replayReasoning: under the field it came in, or the one configured', async () => {
    expect(await twoTurns('openclaw/replay', 'reasoning-replay')).toEqual({ role: 'assistant', content: 'visible answer', reasoning_content: 'private chain of thought' });
    expect(await twoTurns('openclaw/replay-as', 'reasoning-replay-as')).toEqual({ role: 'assistant', content: 'visible answer', reasoning: 'private chain of thought' });
  });
});
