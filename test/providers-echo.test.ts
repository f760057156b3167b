// The built-in offline echo provider, as documented in its header comment, through the gateway.
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let gw: TestGateway;

const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
  { type: 'function', function: { name: 'ping', parameters: { type: 'object', properties: {} } } },
];

beforeAll(async () => {
  gw = await startTestGateway(); // no providers configured: echo is the default
});

afterAll(async () => {
  await gw?.close();
});

const user = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

describe('echo provider', () => {
  it('answers Echo: <last user message>, streamed word by word', async () => {
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('hello offline world') });
    expect(reply.choices[0].message.content).toBe('Echo: hello offline world');
    expect(reply.choices[0].finish_reason).toBe('stop');
    const stream = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('hello offline world'), stream: true });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces).toEqual(['Echo:', ' hello', ' offline', ' world']);
  });

  it('`n` repeats the answer in that many choices', async () => {
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('twice please'), n: 2 });
    expect(reply.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
      [0, 'Echo: twice please', 'stop'],
      [1, 'Echo: twice please', 'stop'],
    ]);
  });

  it('`/tool <name> <json>` calls that tool', async () => {
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('/tool lookup {"q":"weather"}'), tools });
    expect(reply.choices[0].finish_reason).toBe('tool_calls');
    const [call] = reply.choices[0].message.tool_calls!;
    expect(call).toMatchObject({ type: 'function', function: { name: 'lookup', arguments: '{"q":"weather"}' } });
    expect(call.id).toMatch(/^call_echo_/);
    expect(reply.choices[0].message.content).toBeNull();
  });

  it('`/tool <name>` without arguments sends {}; an unknown tool name just echoes', async () => {
    const bare = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('/tool ping'), tools });
    expect((bare.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function).toEqual({ name: 'ping', arguments: '{}' });
    const unknown = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('/tool nope {}'), tools });
    expect(unknown.choices[0].message.content).toBe('Echo: /tool nope {}');
    const noTools = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('/tool lookup {}') });
    expect(noTools.choices[0].finish_reason).toBe('stop');
  });

  it('a forcing tool_choice calls the tool; a tool result is answered', async () => {
    const forced = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('anything'), tools, tool_choice: { type: 'function', function: { name: 'ping' } } });
    const call = forced.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('ping');
    const followUp = await gw.client.chat.completions.create({
      model: 'openclaw',
      tools,
      messages: [...user('anything'), { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'pong' }],
    });
    expect(followUp.choices[0].message.content).toBe('Tool result: pong');
  });

  it('max_tokens cuts the answer with finish_reason length', async () => {
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user('one two three four five'), max_tokens: 3 });
    expect(reply.choices[0].message.content).toBe('Echo: one two');
    expect(reply.choices[0].finish_reason).toBe('length');
    expect(reply.usage?.completion_tokens).toBe(3);
  });
});
