// The agent's own tools (a real MCP server, stdio) through the Responses API: the gateway runs
// them between model steps and shows each call as an `mcp_call` item with its output, streamed and
// not; the client's function tools beside them still come back as `function_call` items.
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startFakeUpstream, steps, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, toolServersReady, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape } from './helpers/openai-schemas.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/mcp-server.ts');

let upstream: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    gateway: { http: { endpoints: { responses: { enabled: true } } } },
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
    mcp: { servers: { local: { command: process.execPath, args: [FIXTURE] } } },
    agents: { defaults: { model: 'up/m' }, list: [{ id: 'main', default: true, tools: { allow: ['local__*'] } }] },
  });
  await toolServersReady(gw);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

const call = (id: string, name: string, args: unknown) => ({ id, name, arguments: JSON.stringify(args) });
const weather: OpenAI.Responses.FunctionTool = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };

describe('the agent’s own tools in the Responses API', () => {
  it('a server tool step shows as an mcp_call item with its output, before the answer', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('call_add', 'local__add', { a: 2, b: 3 })] }, { kind: 'text', text: 'The sum is 5.' }));
    const response = await gw.client.responses.create({ model: 'openclaw', input: 'What is 2 + 3?' });
    assertOpenAiShape('Response', response);
    expect(response.output.map((item) => item.type)).toEqual(['mcp_call', 'message']);
    expect(response.output[0]).toMatchObject({ type: 'mcp_call', server_label: 'local', name: 'add', arguments: '{"a":2,"b":3}', output: '5', status: 'completed' });
    expect(response.output_text).toBe('The sum is 5.');
    const retrieved = await gw.client.responses.retrieve(response.id);
    expect(retrieved.output).toEqual(response.output);
  });

  it('streams it: the mcp_call item is added when the tool starts and done with its output; the SDK accepts the stream', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', text: 'Let me add.', calls: [call('call_add2', 'local__add', { a: 1, b: 1 })] }, { kind: 'text', text: 'Two.' }));
    const stream = gw.client.responses.stream({ model: 'openclaw', input: '1 + 1?' });
    const events: any[] = [];
    for await (const event of stream) events.push(event);
    for (const event of events) assertOpenAiShape('ResponseStreamEvent', event);
    const items = events.filter((event) => event.type === 'response.output_item.added').map((event) => event.item.type);
    expect(items).toEqual(['message', 'mcp_call', 'message']);
    const done = events.find((event) => event.type === 'response.output_item.done' && event.item.type === 'mcp_call');
    expect(done.item).toMatchObject({ output: '2', status: 'completed' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Let me add.Two.');
    expect(final.output).toMatchObject((await gw.client.responses.retrieve(final.id)).output);
  });

  it('a client function tool named like one of the agent’s tools is a 400 naming it where the request has it', async () => {
    const error = await gw.client.responses
      .create({ model: 'openclaw', input: 'x', tools: [{ type: 'web_search' }, { ...weather, name: 'local__add' }] })
      .then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(error?.status).toBe(400);
    expect(error?.error).toMatchObject({ code: 'tool_name_conflict', param: 'tools[1].name' });
  });

  it('a step with a server call and a client call: the server call runs, the client call comes back, its output continues the run', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('call_echo', 'local__echo', { text: 'noted' }), call('call_weather', 'get_weather', { city: 'Oslo' })] }, { kind: 'text', text: 'Oslo: snow.' }));
    const first = await gw.client.responses.create({ model: 'openclaw', input: 'Note it and get the weather', tools: [weather] });
    assertOpenAiShape('Response', first);
    expect(first.output.map((item) => [item.type, (item as any).call_id ?? (item as any).name])).toEqual([
      ['function_call', 'call_weather'],
      ['mcp_call', 'echo'],
    ]);
    expect(first.output[1]).toMatchObject({ output: 'noted' });
    const second = await gw.client.responses.create({ model: 'openclaw', previous_response_id: first.id, tools: [weather], input: [{ type: 'function_call_output', call_id: 'call_weather', output: 'snow' }] });
    expect(second.output_text).toBe('Oslo: snow.');
    const messages = upstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)!.body.messages;
    expect(messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
    expect(messages.slice(2).map((m: any) => m.tool_call_id).sort()).toEqual(['call_echo', 'call_weather']);
  });
});
