// The gateway's own record of a conversation: what the session store keeps and what the run core
// works on. It belongs to no wire format: chat completions (src/records/chat-completions.ts) and
// every later format map to and from it beside that module, so a stored session can be continued
// through any of them.

/** Bumped when the shape below changes; each stored message carries the version it was written in. */
export const RECORD_VERSION = 2;

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image'; url: string; detail?: 'auto' | 'low' | 'high' }
  | { type: 'refusal'; text: string };

export interface ToolCallRecord {
  id: string;
  /** The function name as the model called it (for server tools: `<server>__<tool>`). */
  name: string;
  /** JSON text, as the model produced it (it may not parse). */
  arguments: string;
  /** Who executes it: the client that sent the tool, or the gateway (an MCP server tool). */
  executor: 'client' | 'server';
}

export interface ReasoningRecord {
  text: string;
  /** The upstream field it arrived in (`reasoning_content` for vLLM/DeepSeek, `reasoning` for Ollama/OpenRouter). */
  field?: 'reasoning_content' | 'reasoning';
}

export type MessageRecord =
  /** Instructions: part of a prompt, never stored in a transcript. */
  | { role: 'system' | 'developer'; content: ContentPart[]; name?: string }
  | { role: 'user'; content: ContentPart[]; name?: string }
  | { role: 'assistant'; content: ContentPart[]; toolCalls?: ToolCallRecord[]; reasoning?: ReasoningRecord; name?: string }
  | {
      role: 'tool';
      toolCallId: string;
      content: ContentPart[];
      /** Set on results the gateway produced for its own tools: the call failed. */
      isError?: boolean;
      /** Server tool results: the tool's `<server>__<tool>` name. */
      toolName?: string;
    };

export type StoredRole = 'user' | 'assistant' | 'tool';

/** Token counts the upstream reported; a count it did not report is absent, never invented. */
export interface UsageRecord {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  /** Of the input: read from the provider's prompt cache. */
  cachedInputTokens?: number;
  /** Of the input: written to the provider's prompt cache. */
  cacheWriteInputTokens?: number;
  audioInputTokens?: number;
  textInputTokens?: number;
  imageInputTokens?: number;
  /** Of the output: spent reasoning. */
  reasoningTokens?: number;
  audioOutputTokens?: number;
  textOutputTokens?: number;
  /** Of the output: predicted output (`prediction`) the model kept, and the predicted tokens it did not. */
  acceptedPredictionTokens?: number;
  rejectedPredictionTokens?: number;
}

/** What the gateway knows about one stored turn besides its messages. */
export interface TurnMeta {
  requestId?: string;
  /** `<provider>/<model>` that gave the final answer. */
  model?: string;
  usage?: UsageRecord;
  startedAt?: number;
  finishedAt?: number;
  /** `completed`, `tool_calls` (handed back to the client), `failed`, `aborted`, `incomplete`. */
  outcome?: TurnOutcome;
  /** The error code of a failed turn. */
  errorCode?: string;
  /** What the client was told about a failed turn. */
  errorMessage?: string;
  /** Why the model stopped (`stop`, `length`, `tool_calls`, `content_filter`). */
  finishReason?: string;
  /** Responses API: the response this turn produced. */
  responseId?: string;
}

export type TurnOutcome = 'completed' | 'tool_calls' | 'failed' | 'aborted' | 'incomplete';

export interface TurnRecord {
  messages: MessageRecord[];
  meta: TurnMeta;
}

export function textContent(text: string): ContentPart[] {
  return text === '' ? [] : [{ type: 'text', text }];
}

/** The plain text of some content (text and refusal parts joined), for providers and logs that need text. */
export function contentText(content: ContentPart[]): string {
  let text = '';
  for (const part of content) {
    const piece = part.type === 'image' ? '' : part.text;
    if (piece === '') continue;
    text = text === '' ? piece : `${text}\n${piece}`;
  }
  return text;
}

/** Two model calls' usage together: each count summed where either reported it. */
export function addUsage(total: UsageRecord | undefined, next: UsageRecord | undefined): UsageRecord | undefined {
  if (!next) return total;
  if (!total) return { ...next };
  const out: UsageRecord = { ...total };
  for (const key of Object.keys(next) as Array<keyof UsageRecord>) {
    const value = next[key];
    if (value !== undefined) out[key] = (out[key] ?? 0) + value;
  }
  return out;
}
