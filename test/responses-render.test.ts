// The Responses renderer fed run events directly, for shapes the other suites reach only in part:
// the agent's own tool calls arriving as deltas (as a run core without the tool relay sends them),
// reasoning, a refusal after text, a call handed back under a name the client did not offer. Each
// event stream must be valid against OpenAI's schemas, accepted by the openai SDK's own stream
// reader, and end with the same output a retrieval rebuilds from the stored records.
import { ResponseStream } from 'openai/lib/responses/ResponseStream';
import { describe, expect, it } from 'vitest';
import type { ResponseStreamEvent } from '../generated/index.ts';
import { outputItems } from '../src/records/responses.ts';
import type { MessageRecord } from '../src/records/record.ts';
import type { RunEvent, RunResult } from '../src/runs/events.ts';
import { ResponseEventWriter } from '../src/wire/responses/render.ts';
import { finishedResponse } from '../src/wire/responses/response-object.ts';
import type { ResponseShell } from '../src/wire/responses/request.ts';
import { assertOpenAiShape } from './helpers/openai-schemas.ts';

const shell: ResponseShell = {
  model: 'openclaw',
  instructions: null,
  metadata: {},
  tools: [{ type: 'function', name: 'get_weather', description: null, parameters: { type: 'object', properties: {} }, strict: null }],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  temperature: null,
  top_p: null,
};
const id = 'resp_0123456789abcdef0123456789abcdef0123456789abcdef';

function render(events: RunEvent[], result: RunResult): ResponseStreamEvent[] {
  const sent: ResponseStreamEvent[] = [];
  const writer = new ResponseEventWriter({ id, createdAt: 1_700_000_000, shell, send: (event) => sent.push(JSON.parse(JSON.stringify(event))) });
  writer.open();
  for (const event of events) writer.event(event);
  writer.finished(result);
  return sent;
}

/** What the openai SDK's stream reader makes of the events (it checks item identities and order). */
async function throughSdk(events: ResponseStreamEvent[]) {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const event of events) controller.enqueue(new TextEncoder().encode(`${JSON.stringify(event)}\n`));
      controller.close();
    },
  });
  const stream = ResponseStream.fromReadableStream(body);
  return stream.finalResponse();
}

const result = (messages: MessageRecord[], extra: Partial<RunResult> = {}): RunResult => ({
  runId: 'run_1',
  agentId: 'main',
  sessionKey: null,
  model: 'up/m',
  content: null,
  refusal: null,
  toolCalls: [],
  finishReason: 'stop',
  usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
  messages,
  ...extra,
});

describe('the Responses event writer', () => {
  it('a run with a server tool step between two model calls: message, mcp_call with its output, message', async () => {
    const events: RunEvent[] = [
      { type: 'run.accepted', runId: 'run_1', model: 'up/m' },
      { type: 'reasoning', text: 'I need the time.', field: 'reasoning_content' },
      { type: 'content', text: 'Let me ' },
      { type: 'content', text: 'check.' },
      { type: 'tool_call', index: 0, id: 'call_srv', name: 'clock__now', arguments: '' },
      { type: 'tool_call', index: 0, arguments: '{"tz":"UTC"}' },
      { type: 'step.finished', step: 1, finishReason: 'tool_calls', model: 'up/m' },
      { type: 'tool.started', step: 1, callId: 'call_srv', name: 'clock__now', arguments: '{"tz":"UTC"}' },
      { type: 'tool.finished', step: 1, callId: 'call_srv', name: 'clock__now', outcome: 'ok', durationMs: 3 },
      { type: 'content', text: 'It is noon.' },
      { type: 'step.finished', step: 2, finishReason: 'stop', model: 'up/m' },
      { type: 'usage', usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } },
    ];
    const records: MessageRecord[] = [
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }], reasoning: { text: 'I need the time.' }, toolCalls: [{ id: 'call_srv', name: 'clock__now', arguments: '{"tz":"UTC"}', executor: 'server' }] },
      { role: 'tool', toolCallId: 'call_srv', toolName: 'clock__now', content: [{ type: 'text', text: '12:00' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'It is noon.' }] },
    ];
    const sent = render(events, result(records, { content: 'It is noon.' }));
    for (const event of sent) assertOpenAiShape('ResponseStreamEvent', event);
    expect(sent.map((event) => event.sequence_number)).toEqual(sent.map((_event, i) => i));
    const completed = sent.at(-1)!;
    expect(completed.type).toBe('response.completed');
    const output = (completed as Extract<ResponseStreamEvent, { type: 'response.completed' }>).response.output;
    expect(output.map((item) => item.type)).toEqual(['reasoning', 'message', 'mcp_call', 'message']);
    expect(output[2]).toEqual({ type: 'mcp_call', id: expect.stringMatching(/^mcp_/), server_label: 'clock', name: 'now', arguments: '{"tz":"UTC"}', output: '12:00', error: null, status: 'completed' });
    // The mcp_call is shown when its tool starts, before the next step's message.
    const added = sent.filter((event) => event.type === 'response.output_item.added').map((event) => (event as any).item.type);
    expect(added).toEqual(['reasoning', 'message', 'mcp_call', 'message']);
    // A retrieval rebuilds the same items, with the same ids, from the stored records.
    expect(outputItems(id, records)).toEqual(output);
    expect(finishedResponse(id, 1_700_000_000, shell, result(records)).output).toEqual(output);
    const final = await throughSdk(sent);
    expect(final.output_text).toBe('Let me check.It is noon.');
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'mcp_call', 'message']);
  });

  it('a step with the client’s call and the agent’s own: the client call streams, the server call follows it, a failed tool shows its error', async () => {
    const events: RunEvent[] = [
      { type: 'tool_call', index: 0, id: 'call_srv', name: 'notes__add', arguments: '{"text":"x"}' },
      { type: 'tool_call', index: 1, id: 'call_cli', name: 'get_weather', arguments: '{"city"' },
      { type: 'tool_call', index: 1, arguments: ':"Rome"}' },
      { type: 'step.finished', step: 1, finishReason: 'tool_calls', model: 'up/m' },
    ];
    const client = { id: 'call_cli', name: 'get_weather', arguments: '{"city":"Rome"}', executor: 'client' as const };
    const records: MessageRecord[] = [
      { role: 'assistant', content: [], toolCalls: [{ id: 'call_srv', name: 'notes__add', arguments: '{"text":"x"}', executor: 'server' }, client] },
      { role: 'tool', toolCallId: 'call_srv', toolName: 'notes__add', isError: true, content: [{ type: 'text', text: 'disk full' }] },
    ];
    const sent = render(events, result(records, { toolCalls: [client], finishReason: 'tool_calls' }));
    for (const event of sent) assertOpenAiShape('ResponseStreamEvent', event);
    const argumentDeltas = sent.filter((event) => event.type === 'response.function_call_arguments.delta').map((event) => (event as any).delta);
    expect(argumentDeltas).toEqual(['{"city"', ':"Rome"}']);
    const output = (sent.at(-1) as any).response.output;
    expect(output.map((item: any) => [item.type, item.call_id ?? item.name])).toEqual([
      ['function_call', 'call_cli'],
      ['mcp_call', 'add'],
    ]);
    expect(output[1]).toMatchObject({ status: 'failed', output: null, error: { type: 'mcp_tool_execution_error', content: [{ type: 'text', text: 'disk full' }] } });
    expect(outputItems(id, records)).toEqual(output);
    const final = await throughSdk(sent);
    expect(final.output.map((item) => item.type)).toEqual(['function_call', 'mcp_call']);
  });

  it('a call to a name that is not a client tool, handed back to the client, ends as a function_call', async () => {
    const events: RunEvent[] = [
      { type: 'tool_call', index: 0, id: 'call_x', name: 'invented_tool', arguments: '{}' },
      { type: 'step.finished', step: 1, finishReason: 'tool_calls', model: 'up/m' },
    ];
    const call = { id: 'call_x', name: 'invented_tool', arguments: '{}', executor: 'client' as const };
    const sent = render(events, result([{ role: 'assistant', content: [], toolCalls: [call] }], { toolCalls: [call], finishReason: 'tool_calls' }));
    for (const event of sent) assertOpenAiShape('ResponseStreamEvent', event);
    expect(sent.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect((await throughSdk(sent)).output).toMatchObject([{ type: 'function_call', call_id: 'call_x', name: 'invented_tool' }]);
  });

  it('a refusal after text is a second content part of the same message', async () => {
    const events: RunEvent[] = [
      { type: 'content', text: 'I can tell you that ' },
      { type: 'refusal', text: 'but not this.' },
      { type: 'step.finished', step: 1, finishReason: 'stop', model: 'up/m' },
    ];
    const records: MessageRecord[] = [{ role: 'assistant', content: [{ type: 'text', text: 'I can tell you that ' }, { type: 'refusal', text: 'but not this.' }] }];
    const sent = render(events, result(records));
    for (const event of sent) assertOpenAiShape('ResponseStreamEvent', event);
    expect(sent.map((event) => event.type)).toContain('response.refusal.done');
    const output = (sent.at(-1) as any).response.output;
    expect(output[0].content).toEqual([
      { type: 'output_text', text: 'I can tell you that ', annotations: [], logprobs: [] },
      { type: 'refusal', refusal: 'but not this.' },
    ]);
    expect(outputItems(id, records)).toEqual(output);
    expect((await throughSdk(sent)).output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text' }, { type: 'refusal' }] });
  });
});
