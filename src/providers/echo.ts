import { contentText, type MessageRecord } from '../records/record.ts';
import type { ModelRequest, Provider, ProviderEvent } from './types.ts';

/**
 * The built-in offline provider: no network, deterministic answers, for demos on a fresh machine
 * and for tests.
 * - It answers `Echo: <last user message>` in word-sized streamed chunks.
 * - A last user message `/tool <name> <json arguments>` (with `<name>` among the request's tools,
 *   the client's or the agent's own), or a `tool_choice` that forces a function, makes it call
 *   that tool instead.
 * - After a `tool` message it answers `Tool result: <content>`.
 * - `max_tokens` / `max_completion_tokens` cut the answer (one word = one token), with
 *   `finish_reason: "length"`.
 * - `n` repeats the answer in that many choices.
 */
export class EchoProvider implements Provider {
  readonly name = 'echo';

  async open(request: ModelRequest): Promise<AsyncIterable<ProviderEvent>> {
    return this.reply(request);
  }

  private async *reply(request: ModelRequest): AsyncGenerator<ProviderEvent> {
    const promptTokens = request.messages.reduce((sum, message) => sum + countTokens(contentText(message.content)), 0);
    const toolCall = chooseToolCall(request);
    if (toolCall) {
      const id = `call_echo_${stableSuffix(toolCall.name + toolCall.arguments + request.messages.length)}`;
      yield { type: 'tool_call', index: 0, id, name: toolCall.name, arguments: '' };
      yield { type: 'tool_call', index: 0, arguments: toolCall.arguments };
      yield { type: 'finish', finishReason: 'tool_calls', usage: usage(promptTokens, countTokens(toolCall.arguments) + 1) };
      return;
    }
    const words = replyText(request.messages).split(/(?=\s)/);
    const limit = request.params.max_completion_tokens ?? request.params.max_tokens ?? Infinity;
    const sent = words.slice(0, limit);
    const choices = request.params.n ?? 1;
    for (let choice = 0; choice < choices; choice++) {
      for (const word of sent) {
        if (request.signal.aborted) return;
        yield choice === 0 ? { type: 'content', text: word } : { type: 'content', text: word, choice };
      }
    }
    const finishReason = sent.length < words.length ? 'length' : 'stop';
    yield { type: 'finish', finishReason, usage: usage(promptTokens, sent.length * choices), ...(choices > 1 ? { finishReasons: Array(choices).fill(finishReason) } : {}) };
  }
}

function replyText(messages: MessageRecord[]): string {
  const last = messages.at(-1);
  if (last?.role === 'tool') return `Tool result: ${contentText(last.content)}`;
  const lastUser = messages.findLast((message) => message.role === 'user');
  return `Echo: ${lastUser ? contentText(lastUser.content) : ''}`.trimEnd();
}

function chooseToolCall(request: ModelRequest): { name: string; arguments: string } | undefined {
  const tools = request.params.tools ?? [];
  if (tools.length === 0 || request.params.tool_choice === 'none') return undefined;
  const last = request.messages.at(-1);
  if (last?.role === 'tool') return undefined;
  const text = last?.role === 'user' ? contentText(last.content) : '';
  const command = /^\/tool\s+([A-Za-z0-9_.-]+)\s*(.*)$/s.exec(text.trim());
  if (command && tools.some((tool) => tool.function.name === command[1])) {
    return { name: command[1], arguments: command[2].trim() || '{}' };
  }
  const choice = request.params.tool_choice;
  if (choice && typeof choice === 'object' && choice.type === 'function') return { name: choice.function.name, arguments: '{}' };
  if (choice === 'required') return { name: tools[0].function.name, arguments: '{}' };
  return undefined;
}

function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function usage(input: number, output: number) {
  return { inputTokens: input, outputTokens: output, totalTokens: input + output };
}

function stableSuffix(text: string): string {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0).toString(36).padStart(7, '0');
}
