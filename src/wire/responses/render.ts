import { randomUUID } from 'node:crypto';
import type {
  FunctionToolCall,
  McpToolCall,
  OutputItem,
  OutputMessage,
  ReasoningItem,
  Response,
  ResponseError,
  ResponseStreamEvent,
  ResponseUsage,
} from '../../../generated/index.ts';
import type { GatewayError } from '../../errors.ts';
import type { FinishReason } from '../../providers/types.ts';
import type { MessageRecord, TurnMeta, UsageRecord } from '../../records/record.ts';
import { functionCallItem, itemId, mcpCallItem, outputItems, textPart, type ItemKind } from '../../records/responses.ts';
import type { RunEvent, RunResult } from '../../runs/events.ts';
import type { StoredResponse } from '../../sessions/store.ts';
import type { ResponseShell } from './request.ts';

/** `resp_` and 32 hex digits: a UUID's randomness, from Node's cached batch (`randomBytes` per id cost 25 µs a request in the profile). */
export function newResponseId(): string {
  return `resp_${randomUUID().replaceAll('-', '')}`;
}

/** What changes over a response's life; the rest (`ResponseShell`) echoes the request. */
export interface ResponseState {
  status: Response['status'];
  output: OutputItem[];
  usage?: UsageRecord;
  error?: ResponseError;
  incompleteReason?: 'max_output_tokens' | 'content_filter';
  completedAt?: number | null;
}

export function responseObject(id: string, createdAt: number, shell: ResponseShell, state: ResponseState): Response {
  const response: Response = {
    id,
    object: 'response',
    created_at: createdAt,
    status: state.status,
    completed_at: state.completedAt ?? null,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason ? { reason: state.incompleteReason } : null,
    ...shell,
    output: state.output,
  };
  const usage = responseUsage(state.usage);
  if (usage) response.usage = usage;
  return response;
}

/** Usage in the Responses shape: absent when the upstream reported none, details zero where it did not say. */
export function responseUsage(usage: UsageRecord | undefined): ResponseUsage | undefined {
  if (!usage || (usage.inputTokens === undefined && usage.outputTokens === undefined && usage.totalTokens === undefined)) return undefined;
  const input = usage.inputTokens ?? 0;
  const output = usage.outputTokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens ?? input + output,
  };
}

/**
 * A failure as a Response's `error`: OpenAI's codes for this API are a closed list, so the
 * gateway's own code travels in the message.
 */
export function responseError(code: string, message: string, kind?: GatewayError['kind']): NonNullable<ResponseError> {
  let wire: NonNullable<ResponseError>['code'] = 'server_error';
  if (kind === 'rate_limited' || code.endsWith('rate_limited')) wire = 'rate_limit_exceeded';
  else if (code === 'invalid_image_url' || code === 'image_url_not_allowed') wire = 'invalid_image_url';
  else if (code === 'upstream_rejected') wire = 'invalid_prompt';
  return { code: wire, message: `${message} (${code})` };
}

function incompleteReason(finishReason: string | undefined): ResponseState['incompleteReason'] {
  if (finishReason === 'length') return 'max_output_tokens';
  if (finishReason === 'content_filter') return 'content_filter';
  return undefined;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** The Response for a finished run (non-streaming), its output built from the run's records. */
export function finishedResponse(id: string, createdAt: number, shell: ResponseShell, result: RunResult): Response {
  const reason = incompleteReason(result.finishReason);
  return responseObject(id, createdAt, shell, {
    status: reason ? 'incomplete' : 'completed',
    incompleteReason: reason,
    output: outputItems(id, result.messages, { incomplete: reason !== undefined }),
    usage: result.usage,
    completedAt: seconds(Date.now()),
  });
}

/** A stored response as `GET /v1/responses/{id}` shows it. */
export function storedResponseObject(stored: StoredResponse): Response {
  const meta: TurnMeta = stored.meta;
  const reason = incompleteReason(meta.finishReason);
  const state: ResponseState = { status: 'completed', output: outputItems(stored.id, stored.output, { incomplete: reason !== undefined }), usage: meta.usage };
  switch (meta.outcome) {
    case 'failed':
      state.status = 'failed';
      state.error = responseError(meta.errorCode ?? 'internal_error', meta.errorMessage ?? 'The run failed.');
      break;
    case 'aborted':
      state.status = 'cancelled';
      break;
    default:
      if (reason) {
        state.status = 'incomplete';
        state.incompleteReason = reason;
      }
      state.completedAt = meta.finishedAt !== undefined ? seconds(meta.finishedAt) : null;
  }
  return responseObject(stored.id, seconds(stored.createdAt), stored.extra as ResponseShell, state);
}

type Send = (event: ResponseStreamEvent) => void;

interface OpenPart {
  kind: 'output_text' | 'refusal';
  index: number;
  text: string;
}

/** An item the stream has shown: where, under which id, and its current state. */
interface ShownItem<T extends OutputItem> {
  index: number;
  id: string;
  value: T;
}

interface StreamedCall {
  id: string;
  name: string;
  arguments: string;
  /** Its item, once shown (client calls at once, the agent's own when the next step begins). */
  item?: ShownItem<FunctionToolCall | McpToolCall>;
}

/**
 * A run as the Responses API's semantic events: lifecycle events around output items, each item
 * added, filled by deltas and done, with one increasing `sequence_number`. Items get the ids the
 * stored response shows (`itemId`). A call to one of the client's function tools streams as a
 * `function_call` item as its arguments arrive. The agent's own tool calls become `mcp_call` items
 * when the gateway starts them (`tool.started`), done with their output when the run finishes; a
 * call to any other name that still arrives as deltas is held until the run says whose it was
 * (a next step: the gateway's; handed back to the client: a `function_call`).
 */
export class ResponseEventWriter {
  private sequence = 0;
  private readonly items: OutputItem[] = [];
  private message: (ShownItem<OutputMessage> & { part?: OpenPart }) | undefined;
  private reasoning: (ShownItem<ReasoningItem> & { text: string }) | undefined;
  /** The current step's calls, by the model's call index. */
  private calls = new Map<number, StreamedCall>();
  /** Calls of earlier steps not yet shown: not the client's tools, so the gateway's own (or unknown names). */
  private held: StreamedCall[] = [];
  /** The agent's own calls shown and waiting for their results (known when the run finishes). */
  private readonly running: StreamedCall[] = [];
  private stepFinish: FinishReason | undefined;

  private readonly id: string;
  private readonly createdAt: number;
  private readonly shell: ResponseShell;
  private readonly clientTools: ReadonlySet<string>;
  private readonly send: Send;

  /** `send` must write (serialize) each event before it returns: items keep changing after they were sent. */
  constructor(options: { id: string; createdAt: number; shell: ResponseShell; send: Send }) {
    this.id = options.id;
    this.createdAt = options.createdAt;
    this.shell = options.shell;
    this.clientTools = new Set(options.shell.tools.map((tool) => tool.name));
    this.send = options.send;
  }

  open(): void {
    const response = this.snapshot({ status: 'in_progress', output: [] });
    this.emit({ type: 'response.created', response, sequence_number: 0 });
    this.emit({ type: 'response.in_progress', response, sequence_number: 0 });
  }

  event(event: RunEvent): void {
    switch (event.type) {
      case 'content':
      case 'refusal':
        this.beginStep();
        this.closeReasoning();
        this.textDelta(event.type === 'content' ? 'output_text' : 'refusal', event.text);
        return;
      case 'reasoning':
        this.beginStep();
        this.reasoningDelta(event.text);
        return;
      case 'tool_call':
        this.beginStep();
        this.toolCallDelta(event);
        return;
      case 'step.finished':
        this.stepFinish = event.finishReason;
        this.endStep(event.finishReason);
        return;
      case 'tool.started': {
        // The gateway runs one of the agent's own tools: its item shows now, its output at the end.
        const held = this.held.findIndex((call) => call.id === event.callId);
        const call = held === -1 ? { id: event.callId, name: event.name, arguments: event.arguments } : this.held.splice(held, 1)[0];
        if (!this.running.includes(call)) this.showServerCall(call);
        return;
      }
      default:
        // Progress this wire format does not show (run.accepted, usage, tool.finished…).
        return;
    }
  }

  finished(result: RunResult, completedAt: number | null = seconds(Date.now())): void {
    this.endStep(result.finishReason);
    const handedBack = new Set(result.toolCalls.map((call) => call.id));
    const results = new Map<string, Extract<MessageRecord, { role: 'tool' }>>();
    for (const record of result.messages) if (record.role === 'tool') results.set(record.toolCallId, record);
    for (const call of this.held.splice(0)) {
      if (handedBack.has(call.id)) {
        const item = this.addItem('fc', (id) => functionCallItem(id, { ...call, arguments: '' }, 'in_progress'));
        call.item = item;
        if (call.arguments !== '') this.emit({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: item.index, delta: call.arguments, sequence_number: 0 });
        this.closeFunctionCall(call);
      } else {
        this.showServerCall(call);
      }
    }
    for (const call of this.running.splice(0)) {
      const record = result.messages.flatMap((message) => (message.role === 'assistant' ? (message.toolCalls ?? []) : [])).find((candidate) => candidate.id === call.id);
      const done = mcpCallItem(call.item!.id, record ?? { ...call, executor: 'server' }, results.get(call.id));
      this.items[call.item!.index] = done;
      this.emit({ type: 'response.output_item.done', output_index: call.item!.index, item: done, sequence_number: 0 });
    }
    const reason = incompleteReason(result.finishReason);
    const response = this.snapshot({ status: reason ? 'incomplete' : 'completed', incompleteReason: reason, output: this.items, usage: result.usage, completedAt });
    this.emit(reason ? { type: 'response.incomplete', response, sequence_number: 0 } : { type: 'response.completed', response, sequence_number: 0 });
  }

  failed(error: Pick<GatewayError, 'code' | 'message'> & { kind?: GatewayError['kind'] }, status: 'failed' | 'cancelled' = 'failed'): void {
    for (const call of this.running) (this.items[call.item!.index] as McpToolCall).status = 'incomplete';
    // The items still open keep what had arrived, marked incomplete.
    const { message, reasoning } = this;
    if (message?.part) {
      const { kind, index, text } = message.part;
      message.value.content[index] = kind === 'output_text' ? textPart(text) : { type: 'refusal', refusal: text };
    }
    if (reasoning) reasoning.value.content = [{ type: 'reasoning_text', text: reasoning.text }];
    for (const call of this.calls.values()) if (call.item) this.items[call.item.index] = functionCallItem(call.item.id, call, 'incomplete');
    for (const item of this.items) {
      if ('status' in item && item.status === 'in_progress') item.status = 'incomplete';
    }
    const response = this.snapshot({ status, output: this.items, error: responseError(error.code, error.message, error.kind) });
    this.emit({ type: 'response.failed', response, sequence_number: 0 });
  }

  private snapshot(state: ResponseState): Response {
    return responseObject(this.id, this.createdAt, this.shell, { ...state, output: [...state.output] });
  }

  private emit(event: ResponseStreamEvent): void {
    event.sequence_number = this.sequence++;
    this.send(event);
  }

  private addItem<T extends OutputItem>(kind: ItemKind, make: (id: string) => T): ShownItem<T> {
    const index = this.items.length;
    const id = itemId(this.id, kind, index);
    const value = make(id);
    this.items.push(value);
    this.emit({ type: 'response.output_item.added', output_index: index, item: value, sequence_number: 0 });
    return { index, id, value };
  }

  /** A delta after a step ended starts the next step: the held calls of the last one were the agent's own. */
  private beginStep(): void {
    if (this.stepFinish === undefined) return;
    this.stepFinish = undefined;
    for (const call of this.held.splice(0)) this.showServerCall(call);
  }

  private showServerCall(call: StreamedCall): void {
    call.item = this.addItem('mcp', (id) => {
      const item = mcpCallItem(id, { ...call, executor: 'server' }, undefined);
      item.status = 'calling';
      return item;
    });
    this.running.push(call);
  }

  private textDelta(kind: OpenPart['kind'], delta: string): void {
    const message: ShownItem<OutputMessage> & { part?: OpenPart } = (this.message ??= this.addItem('msg', (id): OutputMessage => ({ type: 'message', id, role: 'assistant', status: 'in_progress', content: [] })));
    if (message.part?.kind !== kind) {
      this.closePart();
      const index = message.value.content.length;
      const part = kind === 'output_text' ? textPart('') : { type: 'refusal' as const, refusal: '' };
      message.value.content.push(part);
      message.part = { kind, index, text: '' };
      this.emit({ type: 'response.content_part.added', item_id: message.id, output_index: message.index, content_index: index, part: part, sequence_number: 0 });
    }
    const part = message.part!;
    part.text += delta;
    if (kind === 'output_text') this.emit({ type: 'response.output_text.delta', item_id: message.id, output_index: message.index, content_index: part.index, delta, logprobs: [], sequence_number: 0 });
    else this.emit({ type: 'response.refusal.delta', item_id: message.id, output_index: message.index, content_index: part.index, delta, sequence_number: 0 });
  }

  private closePart(): void {
    const message = this.message;
    const part = message?.part;
    if (!message || !part) return;
    message.part = undefined;
    const { id } = message;
    if (part.kind === 'output_text') {
      const done = textPart(part.text);
      message.value.content[part.index] = done;
      this.emit({ type: 'response.output_text.done', item_id: id, output_index: message.index, content_index: part.index, text: part.text, logprobs: [], sequence_number: 0 });
      this.emit({ type: 'response.content_part.done', item_id: id, output_index: message.index, content_index: part.index, part: done, sequence_number: 0 });
    } else {
      const done = { type: 'refusal' as const, refusal: part.text };
      message.value.content[part.index] = done;
      this.emit({ type: 'response.refusal.done', item_id: id, output_index: message.index, content_index: part.index, refusal: part.text, sequence_number: 0 });
      this.emit({ type: 'response.content_part.done', item_id: id, output_index: message.index, content_index: part.index, part: done, sequence_number: 0 });
    }
  }

  private closeMessage(finishReason: FinishReason | undefined): void {
    if (!this.message) return;
    this.closePart();
    const { value: item, index } = this.message;
    this.message = undefined;
    item.status = finishReason === 'length' || finishReason === 'content_filter' ? 'incomplete' : 'completed';
    this.emit({ type: 'response.output_item.done', output_index: index, item: item, sequence_number: 0 });
  }

  private reasoningDelta(delta: string): void {
    if (!this.reasoning) {
      const item = this.addItem('rs', (id): ReasoningItem => ({ type: 'reasoning', id, summary: [], content: [], status: 'in_progress' }));
      this.reasoning = { ...item, text: '' };
      this.emit({ type: 'response.content_part.added', item_id: item.id, output_index: item.index, content_index: 0, part: { type: 'reasoning_text', text: '' }, sequence_number: 0 });
    }
    const reasoning = this.reasoning;
    reasoning.text += delta;
    this.emit({ type: 'response.reasoning_text.delta', item_id: reasoning.id, output_index: reasoning.index, content_index: 0, delta, sequence_number: 0 });
  }

  private closeReasoning(): void {
    if (!this.reasoning) return;
    const { value: item, id, index, text } = this.reasoning;
    this.reasoning = undefined;
    const part = { type: 'reasoning_text' as const, text };
    item.content = [part];
    item.status = 'completed';
    this.emit({ type: 'response.reasoning_text.done', item_id: id, output_index: index, content_index: 0, text, sequence_number: 0 });
    this.emit({ type: 'response.content_part.done', item_id: id, output_index: index, content_index: 0, part, sequence_number: 0 });
    this.emit({ type: 'response.output_item.done', output_index: index, item: item, sequence_number: 0 });
  }

  private toolCallDelta(event: Extract<RunEvent, { type: 'tool_call' }>): void {
    this.closeReasoning();
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
      call.item = this.addItem('fc', (id) => functionCallItem(id, { ...call!, arguments: '' }, 'in_progress'));
      if (call.arguments !== '') this.emit({ type: 'response.function_call_arguments.delta', item_id: call.item.id, output_index: call.item.index, delta: call.arguments, sequence_number: 0 });
      return;
    }
    if (call.item && delta !== '') this.emit({ type: 'response.function_call_arguments.delta', item_id: call.item.id, output_index: call.item.index, delta, sequence_number: 0 });
  }

  private closeFunctionCall(call: StreamedCall): void {
    const { index, id } = call.item!;
    const done = functionCallItem(id, call);
    this.items[index] = done;
    this.emit({ type: 'response.function_call_arguments.done', item_id: id, output_index: index, name: call.name, arguments: call.arguments, sequence_number: 0 });
    this.emit({ type: 'response.output_item.done', output_index: index, item: done, sequence_number: 0 });
  }

  /** The step's items are complete: close them; calls not shown yet wait for the run to say whose they are. */
  private endStep(finishReason: FinishReason): void {
    this.closeReasoning();
    this.closeMessage(finishReason);
    for (const call of this.calls.values()) {
      if (call.item) this.closeFunctionCall(call);
      else this.held.push(call);
    }
    this.calls = new Map();
  }
}

/**
 * A stored response as the events its stream would have sent (`GET /v1/responses/{id}?stream=true`):
 * its records fed through the same writer, so the items and ids are those of the stored response.
 */
export function replayStoredResponse(stored: StoredResponse, send: Send): void {
  const meta = stored.meta;
  const writer = new ResponseEventWriter({ id: stored.id, createdAt: seconds(stored.createdAt), shell: stored.extra as ResponseShell, send });
  writer.open();
  const finishReason = (meta.finishReason ?? (meta.outcome === 'tool_calls' ? 'tool_calls' : 'stop')) as FinishReason;
  const model = meta.model ?? '';
  const turns = stored.output.filter((record): record is Extract<MessageRecord, { role: 'assistant' }> => record.role === 'assistant');
  turns.forEach((record, step) => {
    if (record.reasoning?.text) writer.event({ type: 'reasoning', text: record.reasoning.text, field: record.reasoning.field ?? 'reasoning' });
    for (const part of record.content) {
      if (part.type === 'text') writer.event({ type: 'content', text: part.text });
      else if (part.type === 'refusal') writer.event({ type: 'refusal', text: part.text });
    }
    (record.toolCalls ?? []).forEach((call, index) => writer.event({ type: 'tool_call', index, id: call.id, name: call.name, arguments: call.arguments }));
    writer.event({ type: 'step.finished', step: step + 1, finishReason: step === turns.length - 1 ? finishReason : 'tool_calls', model });
  });
  if (meta.outcome === 'failed' || meta.outcome === 'aborted') {
    writer.failed({ code: meta.errorCode ?? 'internal_error', message: meta.errorMessage ?? 'The run failed.' }, meta.outcome === 'aborted' ? 'cancelled' : 'failed');
    return;
  }
  const last = turns.at(-1);
  const toolCalls = meta.outcome === 'tool_calls' ? (last?.toolCalls ?? []).filter((call) => call.executor !== 'server') : [];
  const result: RunResult = { runId: '', agentId: stored.agentId, sessionKey: stored.sessionKey, model, content: null, refusal: null, toolCalls, finishReason, usage: meta.usage, messages: stored.output };
  writer.finished(result, meta.finishedAt !== undefined ? seconds(meta.finishedAt) : null);
}
