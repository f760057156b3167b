import type {
  ChatCompletionMessageToolCall,
  ChatCompletionRequestMessage,
  CompletionUsage,
  FinishReason,
} from '../../generated/index.ts';

export type ChatMessage = ChatCompletionRequestMessage;
export type ToolCall = ChatCompletionMessageToolCall;
export type Usage = CompletionUsage;
export type { FinishReason };

/** The plain text of a message's content (text parts joined), for providers and logs that need text. */
export function messageText(message: ChatMessage): string {
  const content = 'content' in message ? message.content : null;
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : ''))
    .filter((text) => text !== '')
    .join('\n');
}

export interface SplitMessages {
  /** `system` / `developer` messages: apply to this request only, never stored. */
  instructions: ChatMessage[];
  /** Conversation up to and including the request's last assistant message. */
  earlierTurns: ChatMessage[];
  /** Messages after the request's last assistant message: what this request adds. */
  newTurns: ChatMessage[];
}

export function splitRequestMessages(messages: ChatMessage[]): SplitMessages {
  const instructions = messages.filter((m) => m.role === 'system' || m.role === 'developer');
  const conversation = messages.filter((m) => m.role !== 'system' && m.role !== 'developer');
  let lastAssistant = -1;
  conversation.forEach((m, index) => {
    if (m.role === 'assistant') lastAssistant = index;
  });
  return {
    instructions,
    earlierTurns: conversation.slice(0, lastAssistant + 1),
    newTurns: conversation.slice(lastAssistant + 1),
  };
}

export interface PromptPlan {
  /** What the model receives. */
  prompt: ChatMessage[];
  /** What this run adds to the stored transcript before the assistant reply. */
  turnsToStore: ChatMessage[];
}

/**
 * Agent system prompt → request instructions → stored transcript → new turns. The request's
 * earlier turns seed an empty transcript and are ignored otherwise, so a client that resends its
 * whole history never sees it doubled.
 */
export function planPrompt(args: { agentSystemPrompt?: string; split: SplitMessages; stored: ChatMessage[] }): PromptPlan {
  const { split, stored } = args;
  const history = stored.length > 0 ? stored : split.earlierTurns;
  const system: ChatMessage[] = args.agentSystemPrompt ? [{ role: 'system', content: args.agentSystemPrompt }] : [];
  return {
    prompt: [...system, ...split.instructions, ...history, ...split.newTurns],
    turnsToStore: [...(stored.length > 0 ? [] : split.earlierTurns), ...split.newTurns],
  };
}
