import { randomUUID } from 'node:crypto';
import type { CompletionUsage, CreateChatCompletionResponse, CreateChatCompletionStreamResponse, ToolStepEvent } from '../../../generated/index.ts';
import { usageToWire } from '../../records/chat-completions.ts';
import type { UsageRecord } from '../../records/record.ts';
import type { ReplyChoice, RunEvent, RunResult } from '../../runs/events.ts';

export function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

export interface CompletionMeta {
  id: string;
  created: number;
  /** The request's `model`, echoed as sent. */
  model: string;
}

/** Usage in OpenAI's shape: the counts the upstream gave, with their details, and none it did not give. */
export function completionUsage(usage: UsageRecord | undefined): CompletionUsage {
  return usageToWire(usage);
}

type ResponseMessage = CreateChatCompletionResponse['choices'][number]['message'];

/** The OpenAI `chat.completion` object for a finished run. */
export function completionBody(meta: CompletionMeta, result: RunResult): CreateChatCompletionResponse {
  const choices = result.choices ?? [firstChoice(result)];
  const body: CreateChatCompletionResponse = {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: choices.map((choice) => ({ index: choice.index, message: responseMessage(choice), finish_reason: choice.finishReason, logprobs: choice.logprobs ?? null })),
    usage: completionUsage(result.usage),
  };
  // The upstream's own fields (system_fingerprint, service_tier…); never our id, object, created, model, choices or usage.
  if (result.completionFields) Object.assign(body, result.completionFields);
  return body;
}

function firstChoice(result: RunResult): ReplyChoice {
  const choice: ReplyChoice = { index: 0, content: result.content, refusal: result.refusal, toolCalls: result.toolCalls, finishReason: result.finishReason };
  if (result.reasoning) choice.reasoning = result.reasoning;
  if (result.logprobs) choice.logprobs = result.logprobs;
  if (result.messageFields) choice.messageFields = result.messageFields;
  return choice;
}

function responseMessage(choice: ReplyChoice): ResponseMessage {
  // A reply that is only a refusal has no content, as OpenAI's.
  const content = choice.content === '' && choice.refusal !== null ? null : choice.content;
  const message: ResponseMessage = { role: 'assistant', content, refusal: choice.refusal };
  if (choice.toolCalls.length > 0) message.tool_calls = choice.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  if (choice.reasoning) {
    // Under both names, whichever the upstream used: clients read one or the other.
    message.reasoning_content = choice.reasoning.text;
    message.reasoning = choice.reasoning.text;
  }
  if (choice.messageFields) {
    for (const key of Object.keys(choice.messageFields)) if (!(key in message)) message[key] = choice.messageFields[key];
  }
  return message;
}

type StreamChoice = CreateChatCompletionStreamResponse['choices'][number];
type Delta = StreamChoice['delta'];

type ToolRunEvent = Extract<RunEvent, { type: 'tool.started' | 'tool.finished' }>;

/** A server tool step as clients see it (the SSE extension chunk and the WebSocket `agent.tool` event). */
export function toolStepEvent(event: ToolRunEvent): ToolStepEvent {
  if (event.type === 'tool.started') return { type: event.type, step: event.step, call_id: event.callId, name: event.name, arguments: event.arguments };
  return { type: event.type, step: event.step, call_id: event.callId, name: event.name, outcome: event.outcome, duration_ms: event.durationMs };
}

/** Builds the chunks of one streamed completion; every chunk shares the id, created and model. */
export class ChunkBuilder {
  private readonly meta: CompletionMeta;
  /** With include_usage, OpenAI sends `usage: null` on every chunk but the last. */
  private readonly includeUsage: boolean;
  /** The upstream's completion-level fields (system_fingerprint…), on every chunk once they are known. */
  private fields: Record<string, unknown> | undefined;
  /** Choices after the first that have had their first delta (which carries the role, as OpenAI's do). */
  private opened: Set<number> | undefined;

  constructor(meta: CompletionMeta, includeUsage: boolean) {
    this.meta = meta;
    this.includeUsage = includeUsage;
  }

  /** The first choice's opening chunk, sent as soon as the stream is committed; other choices get their role with their first delta. */
  role(): CreateChatCompletionStreamResponse {
    return this.chunk({ role: 'assistant', content: '', refusal: null }, null, undefined);
  }

  /** The chunk for one run event, or undefined for events this wire format does not show. */
  event(event: RunEvent): CreateChatCompletionStreamResponse | undefined {
    switch (event.type) {
      case 'content': {
        const chunk = this.chunk({ content: event.text }, null, event.choice);
        if (event.logprobs) chunk.choices[0].logprobs = { content: event.logprobs, refusal: null };
        return chunk;
      }
      case 'refusal': {
        const chunk = this.chunk({ refusal: event.text }, null, event.choice);
        if (event.logprobs) chunk.choices[0].logprobs = { content: null, refusal: event.logprobs };
        return chunk;
      }
      case 'reasoning':
        // Under both names, whichever the upstream used: clients read one or the other.
        return this.chunk({ reasoning_content: event.text, reasoning: event.text }, null, event.choice);
      case 'tool_call': {
        const call: NonNullable<Delta['tool_calls']>[number] = { index: event.index };
        if (event.id) {
          call.id = event.id;
          call.type = 'function';
        }
        if (event.name !== undefined || event.arguments !== undefined) {
          call.function = {};
          if (event.name !== undefined) call.function.name = event.name;
          if (event.arguments !== undefined) call.function.arguments = event.arguments;
        }
        return this.chunk({ tool_calls: [call] }, null, event.choice);
      }
      case 'message_fields':
        // Only fields the gateway does not know: the delta is the upstream's own, passed on as it is.
        return this.chunk(event.fields as Delta, null, event.choice);
      case 'completion_fields':
        this.fields = { ...this.fields, ...event.fields };
        return undefined;
      default:
        return undefined;
    }
  }

  /** A tool step as a chunk with no choices (what OpenAI's usage chunk looks like), for clients that asked for them. */
  toolEvent(event: ToolRunEvent): CreateChatCompletionStreamResponse {
    const chunk: CreateChatCompletionStreamResponse = { id: this.meta.id, object: 'chat.completion.chunk', created: this.meta.created, model: this.meta.model, choices: [], openclaw_tool_event: toolStepEvent(event) };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }

  /** The closing chunk of each choice, with its finish reason. */
  finish(result: RunResult): CreateChatCompletionStreamResponse[] {
    if (!result.choices) return [this.chunk({}, result.finishReason, undefined)];
    return result.choices.map((choice) => this.chunk({}, choice.finishReason, choice.index));
  }

  usage(result: RunResult): CreateChatCompletionStreamResponse {
    const chunk: CreateChatCompletionStreamResponse = { id: this.meta.id, object: 'chat.completion.chunk', created: this.meta.created, model: this.meta.model, choices: [], usage: completionUsage(result.usage) };
    if (this.fields) Object.assign(chunk, this.fields);
    return chunk;
  }

  private chunk(delta: Delta, finishReason: StreamChoice['finish_reason'], choice: number | undefined): CreateChatCompletionStreamResponse {
    if (choice && !this.opened?.has(choice)) {
      (this.opened ??= new Set()).add(choice);
      delta = { role: 'assistant', ...delta };
    }
    const chunk: CreateChatCompletionStreamResponse = {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.meta.created,
      model: this.meta.model,
      choices: [{ index: choice ?? 0, delta, finish_reason: finishReason, logprobs: null }],
    };
    if (this.includeUsage) chunk.usage = null;
    if (this.fields) Object.assign(chunk, this.fields);
    return chunk;
  }
}
