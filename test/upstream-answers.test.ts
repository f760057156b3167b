// How the gateway asks its upstream, and what it accepts back: a client that does not stream has
// its run ask for the whole answer (one JSON completion); a streaming client's run asks for a
// stream. Either way the upstream's actual content type decides how its answer is read, and a
// whole answer that is not a completion fails as a broken stream does.
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let upstream: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 2, retryBaseDelayMs: 5 } } },
    agents: { list: [{ id: 'main', default: true, model: 'up/whole-model' }] },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

afterEach(() => upstream.reset());

const chatRequests = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions'));
const ask = () => gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });

async function apiError(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

const completion = (content: string) => ({
  id: 'chatcmpl-whole',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'whole-model',
  system_fingerprint: 'fp_whole',
  choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'length' }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});

describe('a client that does not stream', () => {
  it('asks the upstream for the whole answer and relays it: content, finish reason, usage, fields beyond the message', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 200, body: completion('All at once.') }));
    const reply = await ask();
    expect(chatRequests()[0].body).toMatchObject({ model: 'whole-model', stream: false });
    expect(chatRequests()[0].body).not.toHaveProperty('stream_options');
    expect(reply.choices[0]).toMatchObject({ finish_reason: 'length', message: { role: 'assistant', content: 'All at once.', annotations: [] } });
    expect(reply.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(reply.system_fingerprint).toBe('fp_whole');
    // The gateway's own completion, not the upstream's.
    expect(reply.id).not.toBe('chatcmpl-whole');
  });

  it('reads a whole answer alike whether it comes with a Content-Length or in chunks', async () => {
    const body = completion('Sized.');
    upstream.setScript(() => ({ kind: 'status', status: 200, body, headers: { 'content-length': String(Buffer.byteLength(JSON.stringify(body))) } }));
    expect((await ask()).choices[0].message.content).toBe('Sized.');
    // The fixture's json() sends chunked when no length is given.
    upstream.setScript(() => ({ kind: 'status', status: 200, body: completion('Chunked.') }));
    expect((await ask()).choices[0].message.content).toBe('Chunked.');
  });

  it('reads a whole answer that starts with a byte-order mark as the JSON after it', async () => {
    upstream.setScript(() => ({ kind: 'raw', contentType: 'application/json; charset=utf-8', text: `\uFEFF${JSON.stringify(completion('Marked.'))}` }));
    expect((await ask()).choices[0].message.content).toBe('Marked.');
  });

  it('a whole answer that ends before its Content-Length is an outage: retried, then 502, and the gateway goes on', async () => {
    upstream.setScript(() => ({ kind: 'short_body', body: completion('Cut short.'), declared: 100 }));
    const error = await apiError(ask());
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ code: 'upstream_unavailable' });
    expect(chatRequests()).toHaveLength(3);
    upstream.setScript(() => ({ kind: 'status', status: 200, body: completion('Back.') }));
    expect((await ask()).choices[0].message.content).toBe('Back.');
  });

  it('reads a stream when the upstream streams anyway', async () => {
    upstream.setScript(() => ({ kind: 'bulk', pieces: 4, piece: (index) => `p${index} ` }));
    const reply = await ask();
    expect(reply.choices[0].message.content).toBe('p0 p1 p2 p3 ');
  });

  it('an error in a 200 answer is an outage: retried, then 502 upstream_unavailable with the upstream’s message', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 200, body: { error: { message: 'model overloaded', type: 'server_error', code: null } } }));
    const error = await apiError(ask());
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ code: 'upstream_unavailable', message: 'Provider up answered with an error: model overloaded' });
    expect(chatRequests()).toHaveLength(3);
  });

  it.each([
    { name: 'JSON that is not an object', body: 42 },
    { name: 'an array', body: [completion('in a list')] },
    { name: 'an object without choices', body: { id: 'chatcmpl-x', object: 'chat.completion', created: 0, model: 'm' } },
    { name: 'choices without a finish reason or usage', body: { id: 'chatcmpl-x', object: 'chat.completion', created: 0, model: 'm', choices: [] } },
  ])('$name → 502 upstream_malformed, not retried', async ({ body }) => {
    upstream.setScript(() => ({ kind: 'status', status: 200, body }));
    const error = await apiError(ask());
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ code: 'upstream_malformed', message: 'Provider up sent an invalid response.' });
    expect(chatRequests()).toHaveLength(1);
  });
});

describe('a streaming client', () => {
  it('asks for a stream with usage, and relays a whole JSON answer as a stream when that is what comes back', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 200, body: completion('Whole, then streamed.') }));
    const stream = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chatRequests()[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Whole, then streamed.');
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)?.usage).toMatchObject({ total_tokens: 5 });
  });
});
