import { randomUUID } from 'node:crypto';
import type { CompletionUsage, CreateChatCompletionResponse, CreateChatCompletionStreamResponse, ToolStepEvent } from '../../../generated/index.ts';
import type { UsageRecord } from '../../records/record.ts';
import type { RunEvent, RunResult } from '../../runs/events.ts';

export function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

export interface CompletionMeta {
  id: string;
  created: number;
  /** The request's `model`, echoed as sent. */
  model: string;
}

/** Usage in OpenAI's shape: the counts the upstream gave, with their details. */
export function completionUsage(usage: UsageRecord | undefined): CompletionUsage {
  const wire: CompletionUsage = { prompt_tokens: usage?.inputTokens ?? 0, completion_tokens: usage?.outputTokens ?? 0, total_tokens: usage?.totalTokens ?? (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0) };
  return wire;
}

/** The OpenAI `chat.completion` object for a finished run. */
export function completionBody(meta: CompletionMeta, result: RunResult): CreateChatCompletionResponse {
  const message: CreateChatCompletionResponse['choices'][number]['message'] = { role: 'assistant', content: result.content, refusal: result.refusal };
  if (result.toolCalls.length > 0) message.tool_calls = result.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, finish_reason: result.finishReason, logprobs: null }],
    usage: completionUsage(result.usage),
  };
}

type Delta = CreateChatCompletionStreamResponse['choices'][number]['delta'];

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

  constructor(meta: CompletionMeta, includeUsage: boolean) {
    this.meta = meta;
    this.includeUsage = includeUsage;
  }

  role(): CreateChatCompletionStreamResponse {
    return this.chunk({ role: 'assistant', content: '', refusal: null }, null);
  }

  /** The chunk for one run event, or undefined for events this wire format does not show. */
  event(event: RunEvent): CreateChatCompletionStreamResponse | undefined {
    switch (event.type) {
      case 'content':
        return this.chunk({ content: event.text }, null);
      case 'refusal':
        return this.chunk({ refusal: event.text }, null);
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
        return this.chunk({ tool_calls: [call] }, null);
      }
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

  finish(result: RunResult): CreateChatCompletionStreamResponse {
    return this.chunk({}, result.finishReason);
  }

  usage(result: RunResult): CreateChatCompletionStreamResponse {
    return { id: this.meta.id, object: 'chat.completion.chunk', created: this.meta.created, model: this.meta.model, choices: [], usage: completionUsage(result.usage) };
  }

  private chunk(delta: Delta, finishReason: CreateChatCompletionStreamResponse['choices'][number]['finish_reason']): CreateChatCompletionStreamResponse {
    const chunk: CreateChatCompletionStreamResponse = {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.meta.created,
      model: this.meta.model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }
}
