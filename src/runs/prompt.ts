import type { MessageRecord } from '../records/record.ts';

export interface SplitMessages {
  /** `system` / `developer` messages: apply to this request only, never stored. */
  instructions: MessageRecord[];
  /** Conversation up to and including the request's last assistant message. */
  earlierTurns: MessageRecord[];
  /** Messages after the request's last assistant message: what this request adds. */
  newTurns: MessageRecord[];
}

export function splitRequestMessages(messages: MessageRecord[]): SplitMessages {
  const instructions: MessageRecord[] = [];
  const conversation: MessageRecord[] = [];
  let lastAssistant = -1;
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'developer') instructions.push(message);
    else {
      if (message.role === 'assistant') lastAssistant = conversation.length;
      conversation.push(message);
    }
  }
  return { instructions, earlierTurns: conversation.slice(0, lastAssistant + 1), newTurns: conversation.slice(lastAssistant + 1) };
}

export interface PromptPlan {
  /** What the model receives. */
  prompt: MessageRecord[];
  /** What this run adds to the stored transcript before its own replies. */
  turnsToStore: MessageRecord[];
}

/**
 * Agent system prompt → request instructions → stored transcript → new turns. The request's
 * earlier turns seed an empty transcript and are ignored otherwise, so a client that resends its
 * whole history never sees it doubled.
 */
export function planPrompt(args: { agentSystemPrompt?: string; split: SplitMessages; stored: MessageRecord[]; storedPosition: number }): PromptPlan {
  const { split } = args;
  const stored = trimToTurnStart(args.stored);
  const seeded = args.storedPosition === 0;
  const history = seeded ? split.earlierTurns : stored;
  const system: MessageRecord[] = args.agentSystemPrompt ? [{ role: 'system', content: [{ type: 'text', text: args.agentSystemPrompt }] }] : [];
  return {
    prompt: [...system, ...split.instructions, ...history, ...split.newTurns],
    turnsToStore: seeded ? [...split.earlierTurns, ...split.newTurns] : split.newTurns,
  };
}

/**
 * A stored tail must start at a user turn: a tool result without its call, or an answer without
 * its question, confuses every model. The cut tail of a long session usually starts mid-turn.
 */
function trimToTurnStart(messages: MessageRecord[]): MessageRecord[] {
  const start = messages.findIndex((message) => message.role === 'user');
  return start <= 0 ? (start === -1 ? [] : messages) : messages.slice(start);
}
