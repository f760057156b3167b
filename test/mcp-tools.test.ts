// Agents that act: MCP tools executed by the gateway in a bounded loop, against real MCP servers
// (the test server of test/fixtures/mcp-server.ts as a stdio child process, and the same tools
// over streamable HTTP in this process) and the scriptable upstream model.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHttpMcpServer, type HttpMcpServer, type McpRecord } from './fixtures/mcp-server.ts';
import { startFakeUpstream, steps, type FakeUpstream, type RecordedRequest } from './fixtures/upstream.ts';
import { sseData, startTestGateway, TEST_TOKEN, toolServersReady, type TestGateway } from './helpers/gateway.ts';
import { assertOpenAiShape } from './helpers/openai-schemas.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/mcp-server.ts');
const BIN = resolve(import.meta.dirname, '../bin/openclaw.js');

let upstream: FakeUpstream;
let remote: HttpMcpServer;
let gw: TestGateway;
let dir: string;
let logFile: string;

const call = (id: string, name: string, args: unknown = {}) => ({ id, name, arguments: JSON.stringify(args) });

function stdioRecords(): McpRecord[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as McpRecord);
}

async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string): Promise<T> {
  for (let i = 0; ; i++) {
    const value = await probe();
    if (value) return value;
    if (i > 1_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const serversReady = () => toolServersReady(gw);

function post(body: Record<string, unknown>, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'openclaw', ...body }),
    signal,
  });
}

const userTurn = (content: string) => ({ messages: [{ role: 'user', content }] });
const toolMessages = (request: RecordedRequest) => (request.body.messages as any[]).filter((message) => message.role === 'tool');
const offeredNames = (request: RecordedRequest) => ((request.body.tools ?? []) as any[]).map((tool) => tool.function.name);

beforeAll(async () => {
  upstream = await startFakeUpstream();
  remote = await startHttpMcpServer();
  dir = mkdtempSync(join(tmpdir(), 'openclaw-mcp-'));
  logFile = join(dir, 'stdio-calls.jsonl');
  gw = await startTestGateway({
    gateway: { http: { keepAliveIntervalMs: 50 } },
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
    mcp: {
      servers: {
        local: { command: process.execPath, args: [FIXTURE], env: { MCP_TEST_LOG: logFile } },
        remote: { url: remote.url },
      },
    },
    agents: {
      defaults: { model: 'up/m', tools: { deny: ['remote__image'] } },
      list: [
        { id: 'main', default: true, tools: { allow: ['local__*', 'remote__*'] } },
        { id: 'quick', tools: { allow: ['remote__*', 'local__big'] }, toolTimeoutSeconds: 0.3 },
        { id: 'short', tools: { allow: ['local__*'] }, maxToolSteps: 2, maxToolResultBytes: 300 },
        { id: 'plain' },
      ],
    },
  });
  await serversReady();
});

afterAll(async () => {
  await gw?.close();
  await remote?.close();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  upstream.reset();
  await serversReady();
});

describe('the tool loop', () => {
  it('executes one call on a stdio server and calls the model again with its result', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('c1', 'local__echo', { text: 'hello tools' })] }, { kind: 'text', text: 'The tool said hello.' }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'use the tool' }] });
    expect(reply.choices[0].message.content).toBe('The tool said hello.');
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.choices[0].message.tool_calls).toBeUndefined();
    expect(upstream.requests).toHaveLength(2);
    const offered = upstream.requests[0].body.tools.find((tool: any) => tool.function.name === 'local__echo');
    expect(offered.function.parameters).toMatchObject({ type: 'object', required: ['text'] });
    const second = upstream.requests[1].body.messages as any[];
    expect(second.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'local__echo' } }] });
    expect(second.at(-1)).toEqual({ role: 'tool', tool_call_id: 'c1', content: 'hello tools' });
    expect(stdioRecords().filter((record) => record.type === 'call').at(-1)).toMatchObject({ tool: 'echo', args: { text: 'hello tools' } });
    // The usage of both model calls is summed.
    expect(reply.usage!.total_tokens).toBe(12 + 14);
  });

  it('does not cancel a call that has answered when its run ends', async () => {
    const marker = `answered-${Date.now()}`;
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('n1', 'local__echo', { text: marker })] }, { kind: 'text', text: 'done' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'once' }] });
    // A second run's call: a cancellation the first run's end sent would be on stdin before it.
    upstream.reset();
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('n2', 'local__echo', { text: `${marker}-2` })] }, { kind: 'text', text: 'done' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'twice' }] });
    const records = await until(() => {
      const all = stdioRecords();
      const second = all.findIndex((record) => record.type === 'call' && (record.args as { text?: string })?.text === `${marker}-2`);
      return second >= 0 && all.slice(0, second);
    }, 'the second call');
    const first = records.findIndex((record) => record.type === 'call' && (record.args as { text?: string })?.text === marker);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(records.slice(first).filter((record) => record.type === 'cancel_notice')).toEqual([]);
  });

  it('runs the calls of one step in parallel (streamable HTTP server)', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('p1', 'remote__sleep', { ms: 150 }), call('p2', 'remote__sleep', { ms: 150 })] }, { kind: 'text', text: 'both slept' }));
    const before = remote.records.length;
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'sleep twice' }] });
    expect(reply.choices[0].message.content).toBe('both slept');
    const seen = remote.records.slice(before).map((record) => record.type);
    // Both calls reached the server before either finished.
    expect(seen).toEqual(['call', 'call', 'finished', 'finished']);
    expect(toolMessages(upstream.requests[1]).map((message) => message.tool_call_id)).toEqual(['p1', 'p2']);
  });

  it('runs several steps, each with the results of the ones before', async () => {
    upstream.setScript(
      steps(
        { kind: 'tool_calls', calls: [call('s1', 'local__add', { a: 2, b: 3 })], text: 'Adding first. ' },
        { kind: 'tool_calls', calls: [call('s2', 'remote__echo', { text: 'five' })] },
        { kind: 'text', text: 'It is five.' },
      ),
    );
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'add' }] });
    expect(upstream.requests).toHaveLength(3);
    expect(toolMessages(upstream.requests[1])).toEqual([{ role: 'tool', tool_call_id: 's1', content: '5' }]);
    expect(toolMessages(upstream.requests[2])).toEqual([
      { role: 'tool', tool_call_id: 's1', content: '5' },
      { role: 'tool', tool_call_id: 's2', content: 'five' },
    ]);
    // The text of every step reaches the client, as it would have streamed.
    expect(reply.choices[0].message.content).toBe('Adding first. It is five.');
  });

  it('hands a tool error, and arguments that do not fit the schema, back to the model', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('e1', 'local__fail'), call('e2', 'local__add', { a: 'two', b: 3 }), { id: 'e3', name: 'local__add', arguments: '{not json' }] }, { kind: 'text', text: 'Sorry.' }));
    const callsBefore = stdioRecords().filter((record) => record.tool === 'add').length;
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'break things' }] });
    expect(reply.choices[0].message.content).toBe('Sorry.');
    const [failed, mismatched, unparsable] = toolMessages(upstream.requests[1]);
    expect(failed).toEqual({ role: 'tool', tool_call_id: 'e1', content: 'the tool failed on purpose' });
    expect(mismatched.content).toMatch(/^Error: the arguments do not fit the tool's input schema: \/a must be number/);
    expect(unparsable.content).toMatch(/^Error: the arguments are not valid JSON/);
    // Neither bad call reached the server.
    expect(stdioRecords().filter((record) => record.tool === 'add')).toHaveLength(callsBefore);
  });

  it('cancels a call that outlives toolTimeoutSeconds and tells the model', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('t1', 'remote__wait_for_cancel')] }, { kind: 'text', text: 'It timed out.' }));
    const before = remote.records.length;
    const reply = await gw.client.chat.completions.create({ model: 'openclaw/quick', messages: [{ role: 'user', content: 'wait' }] });
    expect(reply.choices[0].message.content).toBe('It timed out.');
    expect(toolMessages(upstream.requests[1])[0].content).toBe('Error: The tool did not answer within 0.3 s (toolTimeoutSeconds).');
    expect(remote.records.slice(before).map((record) => record.type)).toEqual(['call', 'cancelled']);
  });

  it('drops a stdio message past the size limit, not the gateway: the call times out and the server serves on', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('o1', 'local__big', { bytes: 11 * 1024 * 1024 })] }, { kind: 'text', text: 'Too big.' }));
    const pid = stdioRecords().at(-1)?.pid;
    const reply = await gw.client.chat.completions.create({ model: 'openclaw/quick', messages: [{ role: 'user', content: 'huge' }] });
    expect(reply.choices[0].message.content).toBe('Too big.');
    expect(toolMessages(upstream.requests[1])[0].content).toBe('Error: The tool did not answer within 0.3 s (toolTimeoutSeconds).');
    // The same server process answers the next call (once it has written the rest of the big one).
    upstream.reset();
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('o2', 'local__echo', { text: 'still here' })] }, { kind: 'text', text: 'ok' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'small' }] });
    expect(toolMessages(upstream.requests[1])[0].content).toBe('still here');
    expect(stdioRecords().at(-1)).toMatchObject({ type: 'call', tool: 'echo', pid });
  });

  it('answers a call to a denied tool, or to a tool that does not exist, without executing it', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('d1', 'remote__image'), call('d2', 'weather__forecast', { city: 'Oslo' })] }, { kind: 'text', text: 'Cannot.' }));
    const before = remote.records.length;
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'try' }] });
    // The denied tool was never offered, and neither call was executed.
    expect(offeredNames(upstream.requests[0])).not.toContain('remote__image');
    expect(offeredNames(upstream.requests[0])).toContain('remote__echo');
    expect(remote.records.slice(before)).toEqual([]);
    for (const message of toolMessages(upstream.requests[1])) expect(message.content).toMatch(/^Error: there is no tool "(remote__image|weather__forecast)" available to you/);
    const metrics = await gw.gateway.metrics.render();
    expect(metrics).toMatch(/openclaw_tool_calls_total\{server="remote",tool="image",outcome="denied"\} 1/);
    expect(metrics).toMatch(/openclaw_tool_calls_total\{server="-",tool="-",outcome="unknown"\} 1/);
  });

  it('stops after maxToolSteps with one last call that offers no server tools', async () => {
    upstream.setScript((request) => (request.body.tools ? { kind: 'tool_calls', calls: [call(`m${upstream.requests.length}`, 'local__echo', { text: 'again' })] } : { kind: 'text', text: 'Giving up.' }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw/short', messages: [{ role: 'user', content: 'loop' }] });
    expect(reply.choices[0].message.content).toBe('Giving up.');
    expect(upstream.requests).toHaveLength(3);
    expect(upstream.requests[2].body.tools).toBeUndefined();
    expect(toolMessages(upstream.requests[2])).toHaveLength(2);
  });

  it('turns images into image parts and cuts results past maxToolResultBytes with a marker', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('i1', 'local__big', { bytes: 1000 })] }, { kind: 'text', text: 'ok' }));
    await gw.client.chat.completions.create({ model: 'openclaw/short', messages: [{ role: 'user', content: 'big' }], user: 'big-result' });
    const cut = toolMessages(upstream.requests[1])[0].content as string;
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(300);
    expect(cut).toMatch(/^x+\n\[truncated: the tool returned 1000 bytes; the gateway passes on at most 300 \(maxToolResultBytes\)\]$/);

    upstream.reset();
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('i2', 'local__image')] }, { kind: 'text', text: 'a dot' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'picture' }], user: 'image-result' });
    expect(toolMessages(upstream.requests[1])[0].content).toBe('a red dot\n[image image/png returned by the tool; tool messages carry text only]');
    const turns = await gw.gateway.runtime.store!.listTurns('agent:main:openai-user:image-result');
    const result = turns[0].messages.find((message) => message.role === 'tool')!;
    expect(result.content).toEqual([
      { type: 'text', text: 'a red dot' },
      { type: 'image', url: expect.stringMatching(/^data:image\/png;base64,iVBOR/) },
    ]);
  });

  it('a client tool may not take the name of a server tool the agent has', async () => {
    const response = await post({ ...userTurn('hi'), tools: [{ type: 'function', function: { name: 'local__echo', parameters: { type: 'object' } } }] });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error).toMatchObject({ code: 'tool_name_conflict', param: 'tools[0].function.name' });
    expect(body.error.message).toContain('local__echo');
    expect(upstream.requests).toHaveLength(0);
    // An agent without that tool may have a client tool of that name.
    upstream.setScript(steps({ kind: 'text', text: 'fine' }));
    const plain = await post({ model: 'openclaw/plain', ...userTurn('hi'), tools: [{ type: 'function', function: { name: 'local__echo', parameters: { type: 'object' } } }] });
    expect(plain.status).toBe(200);
    expect(offeredNames(upstream.requests[0])).toEqual(['local__echo']);
  });
});

describe('several choices', () => {
  it('n above 1 is refused for an agent that runs tools on the gateway, and forwarded for one that does not', async () => {
    const response = await post({ ...userTurn('hi'), n: 2 });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error).toMatchObject({ code: 'invalid_value', param: 'n' });
    expect(body.error.message).toContain('runs tools on the gateway');
    expect(upstream.requests).toHaveLength(0);
    upstream.setScript(steps({ kind: 'text', text: 'fine' }));
    const plain = await post({ model: 'openclaw/plain', ...userTurn('hi'), n: 2 });
    expect(plain.status).toBe(200);
    expect((await plain.json()).choices[0].message.content).toBe('fine');
    expect(upstream.requests[0].body.n).toBe(2);
  });
});

describe('server crashes', () => {
  it('a server that exits mid-call fails that call and comes back for the next', async () => {
    const pidBefore = stdioRecords().at(-1)?.pid;
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('x1', 'local__crash')] }, { kind: 'text', text: 'It crashed.' }));
    const reply = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'crash' }] });
    expect(reply.choices[0].message.content).toBe('It crashed.');
    expect(toolMessages(upstream.requests[1])[0].content).toBe('Error: MCP server local went away during the call.');
    await until(() => gw.gateway.runtime.tools!.status().find((server) => server.name === 'local' && server.state === 'ready' && server.restarts >= 1), 'local to restart');

    upstream.reset();
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('x2', 'local__echo', { text: 'back' })] }, { kind: 'text', text: 'done' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'again' }] });
    expect(toolMessages(upstream.requests[1])[0].content).toBe('back');
    const last = stdioRecords().at(-1)!;
    expect(last.tool).toBe('echo');
    expect(last.pid).not.toBe(pidBefore);
  });
});

describe('client tools beside server tools', () => {
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } } as const;

  it('executes the server calls of the step, returns only the client calls, and the follow-up continues the session', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('g1', 'local__echo', { text: 'noted' }), call('w1', 'get_weather', { city: 'Oslo' })] }, { kind: 'text', text: 'Sunny, and noted.' }));
    const headers = { 'x-openclaw-session-key': 'mixed-step' };
    const stream = await post({ stream: true, tools: [weather], ...userTurn('weather and a note') }, headers);
    const chunks = sseData(await stream.text())
      .filter((data) => data !== '[DONE]')
      .map((data) => JSON.parse(data));
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    // The client sees its own call only, as index 0.
    expect(calls.every((delta: any) => delta.index === 0)).toBe(true);
    expect(calls[0]).toMatchObject({ id: 'w1', type: 'function', function: { name: 'get_weather' } });
    expect(calls.map((delta: any) => delta.function?.arguments ?? '').join('')).toBe('{"city":"Oslo"}');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
    expect(upstream.requests).toHaveLength(1);
    expect(stdioRecords().at(-1)).toMatchObject({ tool: 'echo', args: { text: 'noted' } });

    const turns = await gw.gateway.runtime.store!.listTurns('agent:main:mixed-step');
    expect(turns[0].meta.outcome).toBe('tool_calls');
    expect(turns[0].messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    const stored = turns[0].messages[1] as any;
    expect(stored.toolCalls.map((c: any) => [c.name, c.executor])).toEqual([
      ['local__echo', 'server'],
      ['get_weather', 'client'],
    ]);

    const followUp = await post(
      {
        tools: [weather],
        messages: [
          { role: 'user', content: 'weather and a note' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 'w1', content: 'sunny' },
        ],
      },
      headers,
    );
    expect((await followUp.json()).choices[0].message.content).toBe('Sunny, and noted.');
    const prompt = upstream.requests[1].body.messages as any[];
    expect(prompt.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'tool']);
    expect(prompt[1].tool_calls.map((c: any) => c.id)).toEqual(['g1', 'w1']);
    expect(prompt.slice(2).map((message) => [message.tool_call_id, message.content])).toEqual([
      ['g1', 'noted'],
      ['w1', 'sunny'],
    ]);
  });
});

describe('sessions', () => {
  it('stores the tool calls and results of a turn, replays them on the next, and shows them', async () => {
    const key = 'remembers-tools';
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('r1', 'remote__add', { a: 20, b: 22 })] }, { kind: 'text', text: 'It is 42.' }));
    await post(userTurn('what is 20 + 22?'), { 'x-openclaw-session-key': key });
    upstream.reset();
    upstream.setScript(steps({ kind: 'text', text: 'You asked for a sum.' }));
    await post(userTurn('what did I ask?'), { 'x-openclaw-session-key': key });
    const replayed = upstream.requests[0].body.messages as any[];
    expect(replayed.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    expect(replayed[1].tool_calls[0]).toEqual({ id: 'r1', type: 'function', function: { name: 'remote__add', arguments: '{"a":20,"b":22}' } });
    expect(replayed[2]).toEqual({ role: 'tool', tool_call_id: 'r1', content: '42' });

    const shown = await new Promise<string>((done, fail) => {
      const child = spawn(process.execPath, [BIN, 'sessions', 'show', `agent:main:${key}`], { env: { PATH: process.env.PATH, OPENCLAW_STATE_DIR: gw.stateDir }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (data) => (out += data));
      child.on('error', fail);
      child.on('close', () => done(out));
    });
    expect(shown).toContain('→ remote__add({"a":20,"b":22}) [r1, run by the gateway]');
    expect(shown).toContain('[tool r1] remote__add\n  42');
  });

  it('a run that fails mid-loop stores the user turn and its completed steps, never a half step', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('f1', 'local__echo', { text: 'one' })] }, { kind: 'status', status: 400 }));
    const response = await post(userTurn('fail later'), { 'x-openclaw-session-key': 'fails-mid-loop' });
    expect(response.status).toBe(400);
    const turns = await gw.gateway.runtime.store!.listTurns('agent:main:fails-mid-loop');
    expect(turns[0].meta.outcome).toBe('failed');
    expect(turns[0].messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
  });
});

describe('streaming', () => {
  it('the openai SDK streams a multi-step run as an ordinary completion', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('o1', 'local__echo', { text: 'a' })] }, { kind: 'tool_calls', calls: [call('o2', 'remote__echo', { text: 'b' })] }, { kind: 'text', text: 'All done here.', chunks: 3 }));
    const stream = await gw.client.chat.completions.create({ model: 'openclaw', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'go' }] });
    let text = '';
    const finishes: string[] = [];
    for await (const chunk of stream) {
      assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
      expect(chunk).not.toHaveProperty('openclaw_tool_event');
      for (const choice of chunk.choices) {
        expect(choice.delta.tool_calls).toBeUndefined();
        text += choice.delta.content ?? '';
        if (choice.finish_reason) finishes.push(choice.finish_reason);
      }
    }
    expect(text).toBe('All done here.');
    expect(finishes).toEqual(['stop']);
    expect(upstream.requests).toHaveLength(3);
  });

  it('with x-openclaw-tool-events the stream also carries each tool step', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('v1', 'local__echo', { text: 'seen' }), call('v2', 'nope__missing')] }, { kind: 'text', text: 'ok' }));
    const response = await post({ stream: true, ...userTurn('show me') }, { 'x-openclaw-tool-events': 'true' });
    const chunks = sseData(await response.text())
      .filter((data) => data !== '[DONE]')
      .map((data) => JSON.parse(data));
    for (const chunk of chunks) assertOpenAiShape('CreateChatCompletionStreamResponse', chunk);
    const events = chunks.filter((chunk) => chunk.openclaw_tool_event).map((chunk) => chunk.openclaw_tool_event);
    expect(chunks.filter((chunk) => chunk.openclaw_tool_event).every((chunk) => chunk.choices.length === 0)).toBe(true);
    expect(events.slice(0, 2)).toEqual([
      { type: 'tool.started', step: 1, call_id: 'v1', name: 'local__echo', arguments: '{"text":"seen"}' },
      { type: 'tool.started', step: 1, call_id: 'v2', name: 'nope__missing', arguments: '{}' },
    ]);
    const finished = events.slice(2).sort((a, b) => a.call_id.localeCompare(b.call_id));
    expect(finished).toEqual([
      { type: 'tool.finished', step: 1, call_id: 'v1', name: 'local__echo', outcome: 'ok', duration_ms: expect.any(Number) },
      { type: 'tool.finished', step: 1, call_id: 'v2', name: 'nope__missing', outcome: 'unknown', duration_ms: expect.any(Number) },
    ]);
  });

  it('keeps the stream open with keep-alive comments while a tool runs', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('k1', 'remote__sleep', { ms: 400 })] }, { kind: 'text', text: 'rested' }));
    const raw = await (await post({ stream: true, ...userTurn('rest') })).text();
    const events = raw.split('\n\n').filter(Boolean);
    const role = events.findIndex((event) => event.includes('"role":"assistant"'));
    const content = events.findIndex((event) => event.includes('"content":"re'));
    expect(role).toBeGreaterThanOrEqual(0);
    expect(content).toBeGreaterThan(role);
    expect(events.slice(role + 1, content).some((event) => event === ': keep-alive')).toBe(true);
  });

  it('a client that goes away mid-step cancels the MCP call, and no further model call is made', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('a1', 'remote__wait_for_cancel')] }, { kind: 'text', text: 'never' }));
    const before = remote.records.length;
    const aborter = new AbortController();
    const response = await post({ stream: true, ...userTurn('wait forever') }, { 'x-openclaw-session-key': 'aborted-mid-step' }, aborter.signal);
    expect(response.status).toBe(200);
    await remote.waitFor((record) => remote.records.indexOf(record) >= before && record.type === 'call' && record.tool === 'wait_for_cancel');
    aborter.abort();
    await remote.waitFor((record) => remote.records.indexOf(record) >= before && record.type === 'cancelled');
    await until(() => gw.gateway.runtime.activeRuns === 0, 'the run to end');
    expect(upstream.requests).toHaveLength(1);
    const turns = await gw.gateway.runtime.store!.listTurns('agent:main:aborted-mid-step');
    expect(turns[0].meta.outcome).toBe('aborted');
    expect(turns[0].messages.map((message) => message.role)).toEqual(['user']);
  });

  it('the WebSocket agent.run always emits the tool steps', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('ws1', 'remote__echo', { text: 'over ws' })] }, { kind: 'text', text: 'ws done' }));
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const frames: any[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        frames.push(frame);
        if (frame.type === 'res') resolve();
      }),
    );
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'req', id: 1, method: 'agent.run', params: { message: 'use ws' } }));
    await done;
    ws.close();
    const tools = frames.filter((frame) => frame.event === 'agent.tool').map((frame) => frame.payload);
    expect(tools).toEqual([
      { runId: expect.stringMatching(/^run_/), type: 'tool.started', step: 1, call_id: 'ws1', name: 'remote__echo', arguments: '{"text":"over ws"}' },
      { runId: expect.stringMatching(/^run_/), type: 'tool.finished', step: 1, call_id: 'ws1', name: 'remote__echo', outcome: 'ok', duration_ms: expect.any(Number) },
    ]);
    expect(frames.find((frame) => frame.type === 'res').result.content).toBe('ws done');
  });
});

describe('operations', () => {
  it('a stdio server gets only the environment its entry lists (and PATH)', async () => {
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('env1', 'local__env')] }, { kind: 'text', text: 'ok' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'env' }] });
    expect(toolMessages(upstream.requests[1])[0].content).toBe('MCP_TEST_LOG,PATH');
  });

  it('refreshes a server tool list when it says it changed', async () => {
    expect(gw.gateway.runtime.tools!.catalogue().has('remote__extra')).toBe(false);
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('l1', 'remote__add_tool')] }, { kind: 'text', text: 'added' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'add a tool' }] });
    await until(() => gw.gateway.runtime.tools!.catalogue().has('remote__extra'), 'the new tool');
    upstream.reset();
    upstream.setScript(steps({ kind: 'text', text: 'hi' }));
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'which tools?' }] });
    expect(offeredNames(upstream.requests[0])).toContain('remote__extra');
  });

  it('/ready reports tool servers; metrics count calls by server, tool and outcome', async () => {
    const ready = await (await fetch(`${gw.url}/ready`)).json();
    expect(ready).toEqual({ ready: true, failing: [], stores: [{ role: 'session_store', driver: 'sqlite', ok: true }, { role: 'auth_limiter', driver: 'memory', ok: true }], toolServers: [{ name: 'local', state: 'ready' }, { name: 'remote', state: 'ready' }] });
    upstream.setScript(steps({ kind: 'tool_calls', calls: [call('mt1', 'remote__echo', { text: 'count me' })] }, { kind: 'text', text: 'ok' }));
    const before = await gw.gateway.metrics.render();
    const count = (text: string) => Number(/openclaw_tool_calls_total\{server="remote",tool="echo",outcome="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
    await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'count' }] });
    const after = await gw.gateway.metrics.render();
    expect(count(after)).toBe(count(before) + 1);
    expect(after).toMatch(/openclaw_tool_call_duration_seconds_count\{server="remote",tool="echo"\} \d+/);
  });
});

describe('openclaw mcp list', () => {
  it("connects to each server and prints its state, its tools, and each agent's allowed tools", async () => {
    const own = mkdtempSync(join(tmpdir(), 'openclaw-mcp-list-'));
    try {
      const configPath = join(own, 'config.json');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        configPath,
        JSON.stringify({
          mcp: { servers: { local: { command: process.execPath, args: [FIXTURE] }, remote: { url: remote.url }, gone: { url: 'http://127.0.0.1:9/mcp' } } },
          agents: { defaults: { tools: { deny: ['*__crash'] } }, list: [{ id: 'main', tools: { allow: ['local__e*', 'remote__add'] } }, { id: 'plain' }] },
        }),
      );
      const run = await new Promise<{ code: number | null; stdout: string }>((done, fail) => {
        const child = spawn(process.execPath, [BIN, 'mcp', 'list', '--config', configPath, '--json', '--timeout', '10'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.on('data', (data) => (stdout += data));
        child.on('error', fail);
        child.on('close', (code) => done({ code, stdout }));
      });
      // A server that is down makes the command fail, after it listed the others.
      expect(run.code).toBe(1);
      const out = JSON.parse(run.stdout);
      const byName = Object.fromEntries(out.servers.map((server: any) => [server.name, server]));
      expect(byName.local).toMatchObject({ transport: 'stdio', state: 'ready' });
      expect(byName.local.tools).toContain('local__wait_for_cancel');
      expect(byName.remote).toMatchObject({ transport: 'http', state: 'ready' });
      expect(byName.gone.state).toBe('failed');
      expect(out.agents).toEqual([
        { id: 'main', allow: ['local__e*', 'remote__add'], deny: ['*__crash'], tools: ['local__echo', 'local__env', 'remote__add'] },
        { id: 'plain', allow: [], deny: ['*__crash'], tools: [] },
      ]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe('servers that are down, reloads, and shutdown', () => {
  it('starts with a server that cannot start, stays ready, logs its stderr and keeps retrying', async () => {
    const lines: any[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const broken = await startTestGateway(
      { mcp: { servers: { broken: { command: process.execPath, args: ['-e', 'console.error("cannot open the database"); process.exit(2)'] } } }, agents: { list: [{ id: 'main', tools: { allow: ['*'] } }] } },
      { logger },
    );
    try {
      const failure = await until(() => lines.filter((line) => line.event === 'mcp.server_failed').length >= 2 && lines.find((line) => line.event === 'mcp.server_failed'), 'two failed attempts');
      expect(failure).toMatchObject({ server: 'broken', stderr: 'cannot open the database' });
      const ready = await fetch(`${broken.url}/ready`);
      expect(ready.status).toBe(200);
      expect((await ready.json()).toolServers[0].name).toBe('broken');
      // Its agent still answers (echo), without tools.
      const reply = await broken.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });
      expect(reply.choices[0].message.content).toBe('Echo: hi');
    } finally {
      await broken.close();
    }
  });

  it('a streamable HTTP server that went away is connected again once it is back', async () => {
    let server = await startHttpMcpServer();
    const port = Number(new URL(server.url).port);
    const gateway = await startTestGateway({ mcp: { servers: { web: { url: server.url } } }, agents: { list: [{ id: 'main', tools: { allow: ['*'] } }] } });
    const tools = gateway.gateway.runtime.tools!;
    const ask = async () => (await gateway.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: '/tool web__echo {"text":"still there"}' }] })).choices[0].message.content;
    try {
      await until(() => tools.status()[0].state === 'ready', 'web to connect');
      expect(await ask()).toBe('Tool result: still there');
      await server.close();
      expect(await ask()).toMatch(/^Tool result: Error: MCP server web failed the call/);
      server = await startHttpMcpServer(port);
      await until(() => tools.status()[0].state === 'ready' && tools.status()[0].restarts === 1, 'web to connect again');
      expect(await ask()).toBe('Tool result: still there');
    } finally {
      await gateway.close();
      await server.close();
    }
  });

  it('a reload restarts only the servers whose entry changed', async () => {
    const second = mkdtempSync(join(tmpdir(), 'openclaw-mcp-reload-'));
    const logA = join(second, 'a.jsonl');
    const logB = join(second, 'b.jsonl');
    const raw = (bEnv: Record<string, string>) => ({
      mcp: { servers: { a: { command: process.execPath, args: [FIXTURE], env: { MCP_TEST_LOG: logA } }, b: { command: process.execPath, args: [FIXTURE], env: { MCP_TEST_LOG: logB, ...bEnv } } } },
      agents: { list: [{ id: 'main', tools: { allow: ['*'] } }] },
    });
    const reloading = await startTestGateway(raw({}));
    try {
      const tools = reloading.gateway.runtime.tools!;
      const pids = async () => {
        await until(() => tools.status().every((server) => server.state === 'ready'), 'servers ready');
        const out: Record<string, number> = {};
        for (const name of ['a', 'b']) {
          // The echo provider calls the tool the message names; the server logs its pid.
          await reloading.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: `/tool ${name}__echo {"text":"pid"}` }] });
          const log = readFileSync(name === 'a' ? logA : logB, 'utf8').trim().split('\n');
          out[name] = JSON.parse(log.at(-1)!).pid;
        }
        return out;
      };
      const before = await pids();
      const { parseConfig } = await import('../src/config/load.ts');
      const { mergeDeep } = await import('./helpers/gateway.ts');
      reloading.gateway.applyConfig(parseConfig(mergeDeep({ gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } } }, raw({ EXTRA: '1' })), {}));
      // apply() replaced b at once (a new b is connecting); pids() waits for it to be ready.
      expect(tools.status().find((server) => server.name === 'b')!.state).toBe('connecting');
      const after = await pids();
      expect(after.a).toBe(before.a);
      expect(after.b).not.toBe(before.b);
    } finally {
      await reloading.close();
      rmSync(second, { recursive: true, force: true });
    }
  });

  it('stdio servers do not outlive a gateway killed with SIGKILL', async () => {
    const own = mkdtempSync(join(tmpdir(), 'openclaw-mcp-kill-'));
    try {
      const log = join(own, 'calls.jsonl');
      const configPath = join(own, 'config.json');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        configPath,
        JSON.stringify({
          gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } },
          mcp: { servers: { local: { command: process.execPath, args: [FIXTURE], env: { MCP_TEST_LOG: log } } } },
          agents: { list: [{ id: 'main', tools: { allow: ['*'] } }] },
        }),
      );
      const gateway = spawn(process.execPath, [BIN, 'gateway', '--config', configPath, '--port', '0', '--bind', '127.0.0.1'], {
        env: { PATH: process.env.PATH, OPENCLAW_STATE_DIR: own },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      gateway.stdout.on('data', (data) => (output += data));
      gateway.stderr.on('data', (data) => (output += data));
      const ready = await until(() => output.split('\n').find((line) => line.includes('"mcp.server_ready"')), 'the server to start');
      const pid = JSON.parse(ready).pid as number;
      expect(isAlive(pid)).toBe(true);
      gateway.kill('SIGKILL');
      await until(() => !isAlive(pid), 'the MCP server to exit');
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
