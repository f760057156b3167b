// The OpenAI Agents SDK for JavaScript running agents against the gateway through its Responses
// model: a function tool executed by the SDK between two model calls, streamed and not, and a
// conversation the gateway keeps (previousResponseId).
import { Agent, OpenAIResponsesModel, run, setTracingDisabled, tool } from '@openai/agents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let gw: TestGateway;
let upstream: FakeUpstream;

beforeAll(async () => {
  // The SDK would otherwise export traces to OpenAI.
  setTracingDisabled(true);
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    gateway: { http: { endpoints: { responses: { enabled: true } } } },
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
    agents: { list: [{ id: 'main', default: true, model: 'echo/echo' }, { id: 'scripted', model: 'up/scripted' }] },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

function weatherAgent(model: string, calls: string[]) {
  const getWeather = tool({
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return `sunny in ${city}`;
    },
  });
  return new Agent({ name: 'Weather', instructions: 'Answer briefly.', model: new OpenAIResponsesModel(gw.client, model), tools: [getWeather] });
}

describe('client: OpenAI Agents SDK (@openai/agents, Responses model)', () => {
  it('[text] [tools] runs an agent whose function tool the SDK executes between two model calls', async () => {
    const calls: string[] = [];
    const result = await run(weatherAgent('openclaw', calls), '/tool get_weather {"city":"Paris"}');
    expect(calls).toEqual(['Paris']);
    expect(result.finalOutput).toBe('Tool result: sunny in Paris');
    const types = result.newItems.map((item) => item.type);
    expect(types).toEqual(['tool_call_item', 'tool_call_output_item', 'message_output_item']);
  });

  it('[stream] [tools] streams the same run', async () => {
    const calls: string[] = [];
    const result = await run(weatherAgent('openclaw', calls), '/tool get_weather {"city":"Oslo"}', { stream: true });
    let text = '';
    for await (const chunk of result.toTextStream()) text += chunk;
    await result.completed;
    expect(calls).toEqual(['Oslo']);
    expect(text).toBe('Tool result: sunny in Oslo');
    expect(result.finalOutput).toBe('Tool result: sunny in Oslo');
  });

  it('[tools] sends what a real model conversation needs: instructions, tools, the short-form user message, then the call and its output', async () => {
    upstream.setScript((_req, i) => (i === 0 ? { kind: 'tool_calls', calls: [{ id: 'call_agents_1', name: 'get_weather', arguments: '{"city":"Rome"}' }] } : { kind: 'text', text: 'Rome is sunny.' }));
    const calls: string[] = [];
    const result = await run(weatherAgent('openclaw/scripted', calls), 'Weather in Rome?');
    expect(calls).toEqual(['Rome']);
    expect(result.finalOutput).toBe('Rome is sunny.');
    const [first, second] = upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => r.body);
    expect(first.messages).toEqual([
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: 'Weather in Rome?' },
    ]);
    expect(first.tools.map((t: any) => t.function.name)).toEqual(['get_weather']);
    expect(second.messages.map((m: any) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(second.messages[3]).toMatchObject({ role: 'tool', tool_call_id: 'call_agents_1', content: 'sunny in Rome' });
  });

  it('[continuation] continues a conversation the gateway keeps, with previousResponseId', async () => {
    const agent = new Agent({ name: 'Echo', instructions: 'Repeat.', model: new OpenAIResponsesModel(gw.client, 'openclaw') });
    const first = await run(agent, 'first turn');
    expect(first.finalOutput).toBe('Echo: first turn');
    expect(first.lastResponseId).toMatch(/^resp_/);
    const second = await run(agent, 'second turn', { previousResponseId: first.lastResponseId });
    expect(second.finalOutput).toBe('Echo: second turn');
    const stored = await gw.gateway.runtime.store!.getResponse(second.lastResponseId!);
    expect(stored!.previousResponseId).toBe(first.lastResponseId);
    const transcript = await gw.gateway.runtime.store!.loadTranscript(stored!.sessionKey);
    expect(transcript.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });
});
