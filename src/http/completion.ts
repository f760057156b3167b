import { randomUUID } from 'node:crypto';
import type { RunDelta, RunResult } from '../agents/run.ts';
import type { CreateChatCompletionResponse, CreateChatCompletionStreamResponse, Usage } from './wire.ts';

export function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

/** The OpenAI `chat.completion` object for a finished run; `model` is the request's, as sent. */
export function completionBody(id: string, created: number, model: string, result: RunResult): CreateChatCompletionResponse {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: result.content,
          refusal: null,
          ...(result.toolCalls.length > 0 ? { tool_calls: result.toolCalls } : {}),
        },
        finish_reason: result.finishReason,
        logprobs: null,
      },
    ],
    usage: result.usage,
  };
}

/** Builds the chunks of one streamed completion; every chunk shares the id, created and model. */
export class ChunkBuilder {
  private readonly id: string;
  private readonly created: number;
  private readonly model: string;
  /** With include_usage, OpenAI sends `usage: null` on every chunk but the last. */
  private readonly includeUsage: boolean;

  constructor(id: string, created: number, model: string, includeUsage: boolean) {
    this.id = id;
    this.created = created;
    this.model = model;
    this.includeUsage = includeUsage;
  }

  role(): CreateChatCompletionStreamResponse {
    return this.chunk({ role: 'assistant', content: '', refusal: null }, null);
  }

  delta(delta: RunDelta): CreateChatCompletionStreamResponse {
    if (delta.type === 'content') return this.chunk({ content: delta.text }, null);
    const call: NonNullable<CreateChatCompletionStreamResponse['choices'][number]['delta']['tool_calls']>[number] = { index: delta.index };
    if (delta.id) {
      call.id = delta.id;
      call.type = 'function';
    }
    if (delta.name !== undefined || delta.arguments !== undefined) {
      call.function = {};
      if (delta.name !== undefined) call.function.name = delta.name;
      if (delta.arguments !== undefined) call.function.arguments = delta.arguments;
    }
    return this.chunk({ tool_calls: [call] }, null);
  }

  finish(result: RunResult): CreateChatCompletionStreamResponse {
    return this.chunk({}, result.finishReason);
  }

  usage(usage: Usage): CreateChatCompletionStreamResponse {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage };
  }

  private chunk(
    delta: CreateChatCompletionStreamResponse['choices'][number]['delta'],
    finishReason: CreateChatCompletionStreamResponse['choices'][number]['finish_reason'],
  ): CreateChatCompletionStreamResponse {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      ...(this.includeUsage ? { usage: null } : {}),
    };
  }
}
