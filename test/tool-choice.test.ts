// A client's `tool_choice` may name or require one of the agent's server tools (MCP), as it may a
// tool of its own. A choice that forces a call holds for the first step only: on later steps it is
// `auto`, or the model would be made to call a tool again at every step until maxToolSteps.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHttpMcpServer, type HttpMcpServer } from './fixtures/mcp-server.ts';
import { startFakeUpstream, steps, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, TEST_TOKEN, toolServersReady, type TestGateway } from './helpers/gateway.ts';

let upstream: FakeUpstream;
let tools: HttpMcpServer;
let gw: TestGateway;

const call = (id: string, name: string, args: unknown = {}) => ({ id, name, arguments: JSON.stringify(args) });
const user = [{ role: 'user' as const, content: 'what does the tool say?' }];

function post(path: string, body: Record<string, unknown>) {
  return fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  tools = await startHttpMcpServer();
  gw = await startTestGateway({
    gateway: { http: { endpoints: { responses: { enabled: true } } } },
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
    mcp: { servers: { remote: { url: tools.url } } },
    agents: {
      defaults: { model: 'up/m' },
      list: [
        { id: 'main', default: true, tools: { allow: ['remote__echo', 'remote__add'] } },
        { id: 'once', tools: { allow: ['remote__echo'] }, maxToolSteps: 1 },
        { id: 'plain' },
      ],
    },
  });
  await toolServersReady(gw);
});

afterAll(async () => {
  await gw?.close();
  await tools?.close();
  await upstream?.close();
});

beforeEach(() => upstream.reset());

describe('tool_choice and the agent’s server tools', () => {
  it('naming a server tool forces it on the first step only, then the model answers from its result', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'remote__echo', { text: 'forced' })] }, { kind: 'text', text: 'It said forced.' }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user, tool_choice: { type: 'function', function: { name: 'remote__echo' } } });
    expect(reply.choices[0].message.content).toBe('It said forced.');
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[0].body.tool_choice).toEqual({ type: 'function', function: { name: 'remote__echo' } });
    expect(upstream.requests[1].body.tool_choice).toBe('auto');
    expect((upstream.requests[1].body.messages as any[]).at(-1)).toEqual({ role: 'tool', tool_call_id: 'c1', content: 'forced' });
  });

  it('"required" needs no client tools when the agent has server tools, and is "auto" after the first step', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'remote__add', { a: 2, b: 3 })] }, { kind: 'text', text: 'Five.' }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user, tool_choice: 'required' });
    expect(reply.choices[0].message.content).toBe('Five.');
    expect(upstream.requests.map((request) => request.body.tool_choice)).toEqual(['required', 'auto']);
  });

  it('with the client’s own tools beside, a forced server tool is still "auto" afterwards', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'remote__echo', { text: 'x' })] }, { kind: 'text', text: 'Done.' }));
    const clientTool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };
    await gw.client.chat.completions.create({ model: 'openclaw', messages: user, tools: [clientTool], tool_choice: { type: 'function', function: { name: 'remote__echo' } } });
    expect(upstream.requests[0].body.tool_choice).toEqual({ type: 'function', function: { name: 'remote__echo' } });
    expect(upstream.requests[1].body.tool_choice).toBe('auto');
    expect((upstream.requests[1].body.tools as any[]).map((tool) => tool.function.name)).toEqual(['lookup', 'remote__echo', 'remote__add']);
  });

  it('when maxToolSteps is reached, the last call names no server tool (none offered, none chosen)', async () => {
    upstream.setScript((request) => (request.body.tools ? { kind: 'tool_calls', calls: [call(`m${upstream.requests.length}`, 'remote__echo', { text: 'again' })] } : { kind: 'text', text: 'Stopping.' }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw/once', messages: user, tool_choice: { type: 'function', function: { name: 'remote__echo' } } });
    expect(reply.choices[0].message.content).toBe('Stopping.');
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1].body.tools).toBeUndefined();
    expect(upstream.requests[1].body).not.toHaveProperty('tool_choice');
  });

  it('a name that is neither the client’s nor the agent’s is a 400 before the model is called; another agent’s server tool too', async () => {
    const unknown = await post('/v1/chat/completions', { model: 'openclaw', messages: user, tool_choice: { type: 'function', function: { name: 'remote__sleep' } } });
    expect(unknown.status).toBe(400);
    const error = (await unknown.json()).error;
    expect(error).toMatchObject({ param: 'tool_choice.function.name', code: 'invalid_value' });
    expect(error.message).toContain('nor a tool this agent runs on the gateway');
    const plain = await post('/v1/chat/completions', { model: 'openclaw/plain', messages: user, tool_choice: { type: 'function', function: { name: 'remote__echo' } } });
    expect(plain.status).toBe(400);
    expect((await plain.json()).error).toMatchObject({ param: 'tool_choice', code: 'invalid_value' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('`allowed_tools` may list server tools beside the client’s; after the first step it is `auto`', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'remote__echo', { text: 'allowed' })] }, { kind: 'text', text: 'It said allowed.' }));
    const clientTool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };
    const allowed = [{ type: 'function', function: { name: 'remote__echo' } }, { type: 'function', function: { name: 'lookup' } }];
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: user, tools: [clientTool], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: allowed } } });
    expect(reply.choices[0].message.content).toBe('It said allowed.');
    expect(upstream.requests.map((request) => request.body.tool_choice)).toEqual([
      { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: allowed } },
      { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: allowed } },
    ]);
  });

  it('an `allowed_tools` name that is neither the client’s nor the agent’s is a 400 before the model is called', async () => {
    const response = await post('/v1/chat/completions', {
      model: 'openclaw',
      messages: user,
      tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'remote__echo' } }, { type: 'function', function: { name: 'remote__sleep' } }] } },
    });
    expect(response.status).toBe(400);
    const error = (await response.json()).error;
    expect(error).toMatchObject({ param: 'tool_choice.allowed_tools.tools[1].function.name', code: 'invalid_value' });
    expect(error.message).toContain('"remote__sleep"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('the last call after maxToolSteps keeps only the client’s tools in `allowed_tools`, or chooses none when it lists none of them', async () => {
    const clientTool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };
    const echo = { type: 'function', function: { name: 'remote__echo' } };
    const lookup = { type: 'function', function: { name: 'lookup' } };
    upstream.setScript((request) => ((request.body.tools as any[]).length > 1 ? { kind: 'tool_calls', calls: [call(`m${upstream.requests.length}`, 'remote__echo', { text: 'again' })] } : { kind: 'text', text: 'Stopping.' }));
    await gw.client.chat.completions.create({ model: 'openclaw/once', messages: user, tools: [clientTool], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [echo, lookup] } } });
    expect(upstream.requests).toHaveLength(2);
    expect((upstream.requests[1].body.tools as any[]).map((tool) => tool.function.name)).toEqual(['lookup']);
    expect(upstream.requests[1].body.tool_choice).toEqual({ type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [lookup] } });
    upstream.reset();
    upstream.setScript((request) => ((request.body.tools as any[]).length > 1 ? { kind: 'tool_calls', calls: [call(`n${upstream.requests.length}`, 'remote__echo', { text: 'again' })] } : { kind: 'text', text: 'Stopping.' }));
    await gw.client.chat.completions.create({ model: 'openclaw/once', messages: user, tools: [clientTool], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [echo] } } });
    expect(upstream.requests[1].body.tool_choice).toBe('none');
  });

  it('the Responses API takes the same choice (`{ type: "function", name }`)', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'remote__echo', { text: 'via responses' })] }, { kind: 'text', text: 'It said via responses.' }));
    const response = await gw.client.responses.create({ model: 'openclaw', input: 'go', tool_choice: { type: 'function', name: 'remote__echo' } });
    expect(response.output_text).toBe('It said via responses.');
    expect(upstream.requests.map((request) => request.body.tool_choice)).toEqual([{ type: 'function', function: { name: 'remote__echo' } }, 'auto']);
    const unknown = await post('/v1/responses', { model: 'openclaw', input: 'go', tool_choice: { type: 'function', name: 'nope' } });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error).toMatchObject({ param: 'tool_choice.name', code: 'invalid_value' });
  });

  it('the Responses API’s `allowed_tools` may list server tools: the agent’s tools are narrowed to those it lists', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'remote__echo', { text: 'only echo' })] }, { kind: 'text', text: 'It said only echo.' }));
    const response = await gw.client.responses.create({ model: 'openclaw', input: 'go', tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'remote__echo' }] } });
    expect(response.output_text).toBe('It said only echo.');
    // remote__add, which the agent has but the list leaves out, is not offered.
    expect((upstream.requests[0].body.tools as any[]).map((tool) => tool.function.name)).toEqual(['remote__echo']);
    expect(upstream.requests.map((request) => request.body.tool_choice)).toEqual(['required', 'auto']);
  });

  it('a Responses `allowed_tools` name that is neither the client’s nor the agent’s is a 400 naming the entry', async () => {
    const clientTool = { type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} } };
    const response = await post('/v1/responses', {
      model: 'openclaw',
      input: 'go',
      tools: [clientTool],
      tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'lookup' }, { type: 'function', name: 'remote__sleep' }] },
    });
    expect(response.status).toBe(400);
    const error = (await response.json()).error;
    expect(error).toMatchObject({ param: 'tool_choice.tools[1].name', code: 'invalid_value' });
    expect(error.message).toBe('`tool_choice.tools[1]` names the function "remote__sleep", which is not in `tools` nor a tool this agent runs on the gateway.');
    // An agent without server tools: the client's tools are all there is.
    const plain = await post('/v1/responses', { model: 'openclaw/plain', input: 'go', tools: [clientTool], tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'remote__echo' }] } });
    expect(plain.status).toBe(400);
    expect((await plain.json()).error).toMatchObject({ param: 'tool_choice.tools[0].name', message: '`tool_choice.tools[0]` names the function "remote__echo", which is not in `tools`.' });
    expect(upstream.requests).toHaveLength(0);
  });
});
