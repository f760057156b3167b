// The gateway against previous majors of the official SDK (npm aliases openai-v4/v5/v6) and the current one.
import OpenAIv4 from 'openai-v4';
import OpenAIv5 from 'openai-v5';
import OpenAIv6 from 'openai-v6';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let upstream: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream(() => ({ kind: 'text', text: 'Hello from upstream', chunks: 3, usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } }));
  gw = await startTestGateway({
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
    agents: { list: [{ id: 'main', default: true, model: 'up/m' }, { id: 'offline', model: 'echo/echo' }] },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

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

describe.each(majors)('openai SDK %s', (_name, Client) => {
  const client = () => new Client({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0, timeout: 10_000 });

  it('create, non-streaming', async () => {
    const reply = await client().chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.id).toMatch(/^chatcmpl-/);
    expect(reply.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from upstream' });
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it('create, streaming with include_usage', async () => {
    const stream = await client().chat.completions.create({ model: 'openclaw/offline', messages: [{ role: 'user', content: 'stream me' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo: stream me');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ completion_tokens: 3 });
    expect(ids.size).toBe(1);
  });

  it('models.list', async () => {
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['openclaw/main', 'openclaw/offline']));
  });
});
