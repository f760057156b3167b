import type { Response } from '../../../generated/index.ts';
import type { GatewayError } from '../../errors.ts';
import type { FinishReason } from '../../providers/types.ts';
import type { MessageRecord } from '../../records/record.ts';
import type { RunEvent, RunResult } from '../../runs/events.ts';
import type { StoredResponse } from '../../sessions/store.ts';
import { MessageStream } from './message-stream.ts';
import { ReasoningStream } from './reasoning-stream.ts';
import type { ResponseShell } from './request.ts';
import { epochSeconds, incompleteReason, responseError, responseObject, type ResponseState } from './response-object.ts';
import { StreamedOutput, type Send } from './streamed-output.ts';
import { ToolCallStream } from './tool-call-stream.ts';

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
  private readonly output: StreamedOutput;
  private readonly message: MessageStream;
  private readonly reasoning: ReasoningStream;
  private readonly toolCalls: ToolCallStream;
  private stepFinish: FinishReason | undefined;

  private readonly id: string;
  private readonly createdAt: number;
  private readonly shell: ResponseShell;

  /** `send` must write (serialize) each event before it returns: items keep changing after they were sent. */
  constructor(options: { id: string; createdAt: number; shell: ResponseShell; send: Send }) {
    this.id = options.id;
    this.createdAt = options.createdAt;
    this.shell = options.shell;
    this.output = new StreamedOutput(options.id, options.send);
    this.message = new MessageStream(this.output);
    this.reasoning = new ReasoningStream(this.output);
    this.toolCalls = new ToolCallStream(this.output, new Set(options.shell.tools.map((tool) => tool.name)));
  }

  open(): void {
    const response = this.snapshot({ status: 'in_progress', output: [] });
    this.output.emit({ type: 'response.created', response, sequence_number: 0 });
    this.output.emit({ type: 'response.in_progress', response, sequence_number: 0 });
  }

  event(event: RunEvent): void {
    switch (event.type) {
      case 'content':
      case 'refusal':
        this.beginStep();
        this.reasoning.close();
        this.message.delta(event.type === 'content' ? 'output_text' : 'refusal', event.text);
        return;
      case 'reasoning':
        this.beginStep();
        this.reasoning.delta(event.text);
        return;
      case 'tool_call':
        this.beginStep();
        this.reasoning.close();
        this.toolCalls.delta(event);
        return;
      case 'step.finished':
        this.stepFinish = event.finishReason;
        this.endStep(event.finishReason);
        return;
      case 'tool.started':
        this.toolCalls.started(event);
        return;
      default:
        // Progress this wire format does not show (run.accepted, usage, tool.finished…).
        return;
    }
  }

  finished(result: RunResult, completedAt: number | null = epochSeconds(Date.now())): void {
    this.endStep(result.finishReason);
    this.toolCalls.finished(result);
    const reason = incompleteReason(result.finishReason);
    const response = this.snapshot({ status: reason ? 'incomplete' : 'completed', incompleteReason: reason, output: this.output.items, usage: result.usage, completedAt });
    this.output.emit(reason ? { type: 'response.incomplete', response, sequence_number: 0 } : { type: 'response.completed', response, sequence_number: 0 });
  }

  failed(error: Pick<GatewayError, 'code' | 'message'> & { kind?: GatewayError['kind'] }, status: 'failed' | 'cancelled' = 'failed'): void {
    // The items still open keep what had arrived, marked incomplete.
    this.toolCalls.failed();
    this.message.keepOpenPart();
    this.reasoning.keepOpenText();
    for (const item of this.output.items) {
      if ('status' in item && item.status === 'in_progress') item.status = 'incomplete';
    }
    const response = this.snapshot({ status, output: this.output.items, error: responseError(error.code, error.message, error.kind) });
    this.output.emit({ type: 'response.failed', response, sequence_number: 0 });
  }

  private snapshot(state: ResponseState): Response {
    return responseObject(this.id, this.createdAt, this.shell, { ...state, output: [...state.output] });
  }

  /** A delta after a step ended starts the next step: the held calls of the last one were the agent's own. */
  private beginStep(): void {
    if (this.stepFinish === undefined) return;
    this.stepFinish = undefined;
    this.toolCalls.showHeldAsServerCalls();
  }

  /** The step's items are complete: close them; calls not shown yet wait for the run to say whose they are. */
  private endStep(finishReason: FinishReason): void {
    this.reasoning.close();
    this.message.close(finishReason);
    this.toolCalls.endStep();
  }
}

/**
 * A stored response as the events its stream would have sent (`GET /v1/responses/{id}?stream=true`):
 * its records fed through the same writer, so the items and ids are those of the stored response.
 */
export function replayStoredResponse(stored: StoredResponse, send: Send): void {
  const meta = stored.meta;
  const writer = new ResponseEventWriter({ id: stored.id, createdAt: epochSeconds(stored.createdAt), shell: stored.extra as ResponseShell, send });
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
  writer.finished(result, meta.finishedAt !== undefined ? epochSeconds(meta.finishedAt) : null);
}
