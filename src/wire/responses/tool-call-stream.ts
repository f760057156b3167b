// The tool calls of a Responses stream. A call to one of the client's function tools streams as a
// `function_call` item as its arguments arrive. The agent's own calls become `mcp_call` items when
// the gateway starts them, done with their output when the run finishes. A call to any other name
// is held until the run says whose it was: a next step means the gateway ran it, a call handed
// back to the client ends as a `function_call`.
import type { FunctionToolCall, McpToolCall } from '../../../generated/index.ts';
import type { MessageRecord } from '../../records/record.ts';
import { functionCallItem, mcpCallItem } from '../../records/responses.ts';
import type { RunEvent, RunResult } from '../../runs/events.ts';
import type { ShownItem, StreamedOutput } from './streamed-output.ts';

interface StreamedCall {
  id: string;
  name: string;
  arguments: string;
  /** Its item, once shown (client calls at once, the agent's own when the next step begins). */
  item?: ShownItem<FunctionToolCall | McpToolCall>;
}

export class ToolCallStream {
  /** The current step's calls, by the model's call index. */
  private calls = new Map<number, StreamedCall>();
  /** Calls of earlier steps not yet shown: not the client's tools, so the gateway's own (or unknown names). */
  private held: StreamedCall[] = [];
  /** The agent's own calls shown and waiting for their results (known when the run finishes). */
  private readonly running: StreamedCall[] = [];
  private readonly output: StreamedOutput;
  private readonly clientTools: ReadonlySet<string>;

  constructor(output: StreamedOutput, clientTools: ReadonlySet<string>) {
    this.output = output;
    this.clientTools = clientTools;
  }

  delta(event: Extract<RunEvent, { type: 'tool_call' }>): void {
    let call = this.calls.get(event.index);
    if (!call) {
      call = { id: '', name: '', arguments: '' };
      this.calls.set(event.index, call);
    }
    if (event.id) call.id = event.id;
    if (event.name) call.name += event.name;
    const delta = event.arguments ?? '';
    call.arguments += delta;
    if (!call.item && call.name !== '' && this.clientTools.has(call.name) && call.id !== '') {
      // One of the client's tools: its item streams from here, arguments so far first.
      call.item = this.output.add('fc', (id) => functionCallItem(id, { ...call!, arguments: '' }, 'in_progress'));
      if (call.arguments !== '') this.output.emit({ type: 'response.function_call_arguments.delta', item_id: call.item.id, output_index: call.item.index, delta: call.arguments, sequence_number: 0 });
      return;
    }
    if (call.item && delta !== '') this.output.emit({ type: 'response.function_call_arguments.delta', item_id: call.item.id, output_index: call.item.index, delta, sequence_number: 0 });
  }

  /** The gateway runs one of the agent's own tools: its item shows now, its output at the end. */
  started(event: Extract<RunEvent, { type: 'tool.started' }>): void {
    const held = this.held.findIndex((call) => call.id === event.callId);
    const call = held === -1 ? { id: event.callId, name: event.name, arguments: event.arguments } : this.held.splice(held, 1)[0];
    if (!this.running.includes(call)) this.showServerCall(call);
  }

  /** A next step began: the calls held from the last one were the agent's own. */
  showHeldAsServerCalls(): void {
    for (const call of this.held.splice(0)) this.showServerCall(call);
  }

  /** The step's calls are complete: close the shown ones; the others wait for the run to say whose they are. */
  endStep(): void {
    for (const call of this.calls.values()) {
      if (call.item) this.closeFunctionCall(call);
      else this.held.push(call);
    }
    this.calls = new Map();
  }

  /** Held calls the run handed back are the client's, the rest the gateway's; the gateway's get their output. */
  finished(result: RunResult): void {
    const handedBack = new Set(result.toolCalls.map((call) => call.id));
    const results = new Map<string, Extract<MessageRecord, { role: 'tool' }>>();
    for (const record of result.messages) if (record.role === 'tool') results.set(record.toolCallId, record);
    for (const call of this.held.splice(0)) {
      if (handedBack.has(call.id)) {
        const item = this.output.add('fc', (id) => functionCallItem(id, { ...call, arguments: '' }, 'in_progress'));
        call.item = item;
        if (call.arguments !== '') this.output.emit({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: item.index, delta: call.arguments, sequence_number: 0 });
        this.closeFunctionCall(call);
      } else {
        this.showServerCall(call);
      }
    }
    for (const call of this.running.splice(0)) {
      const record = result.messages.flatMap((message) => (message.role === 'assistant' ? (message.toolCalls ?? []) : [])).find((candidate) => candidate.id === call.id);
      const done = mcpCallItem(call.item!.id, record ?? { ...call, executor: 'server' }, results.get(call.id));
      this.output.items[call.item!.index] = done;
      this.output.emit({ type: 'response.output_item.done', output_index: call.item!.index, item: done, sequence_number: 0 });
    }
  }

  /** The run failed: the gateway's calls end incomplete, the client's keep the arguments that had arrived. */
  failed(): void {
    for (const call of this.running) (this.output.items[call.item!.index] as McpToolCall).status = 'incomplete';
    for (const call of this.calls.values()) if (call.item) this.output.items[call.item.index] = functionCallItem(call.item.id, call, 'incomplete');
  }

  private showServerCall(call: StreamedCall): void {
    call.item = this.output.add('mcp', (id) => {
      const item = mcpCallItem(id, { ...call, executor: 'server' }, undefined);
      item.status = 'calling';
      return item;
    });
    this.running.push(call);
  }

  private closeFunctionCall(call: StreamedCall): void {
    const { index, id } = call.item!;
    const done = functionCallItem(id, call);
    this.output.items[index] = done;
    this.output.emit({ type: 'response.function_call_arguments.done', item_id: id, output_index: index, name: call.name, arguments: call.arguments, sequence_number: 0 });
    this.output.emit({ type: 'response.output_item.done', output_index: index, item: done, sequence_number: 0 });
  }
}
