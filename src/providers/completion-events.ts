import { usageFromWire } from '../records/chat-completions.ts';
import type { UsageRecord } from '../records/record.ts';
import type { FinishReason, ProviderEvent, TokenLogprob } from './types.ts';

/**
 * What an upstream's reply has said so far, across its chunks: the usage, each choice's finish
 * reason, and the completion-level fields (those last seen, and those new or changed since they
 * were last relayed).
 */
export interface CompletionState {
  usage?: UsageRecord;
  /** By choice index. */
  finishReasons: FinishReason[];
  completionFields?: Record<string, unknown>;
  changedFields?: Record<string, unknown>;
}

/**
 * One upstream object as provider events, appended to `out`: a streamed chunk (`part: 'delta'`)
 * or a whole completion (`part: 'message'`), which says at once everything its deltas would have.
 * One mapping for both, so a client that does not stream (the gateway then asks for the whole
 * answer) gets the same reply, field for field, as one that does.
 */
export function completionEvents(chunk: UpstreamChunk, part: 'delta' | 'message', state: CompletionState, out: ProviderEvent[]): void {
  for (const key in chunk) {
    if (OWN_COMPLETION_FIELDS.has(key)) continue;
    const value = chunk[key];
    // Sent again on every chunk (system_fingerprint): relayed once, until it changes.
    if (value === null || value === undefined || state.completionFields?.[key] === value) continue;
    (state.completionFields ??= {})[key] = value;
    (state.changedFields ??= {})[key] = value;
  }
  const choices = chunk.choices;
  if (Array.isArray(choices)) {
    for (const choice of choices) {
      if (typeof choice !== 'object' || choice === null) continue;
      const index = typeof choice.index === 'number' ? choice.index : 0;
      const delta = choice[part];
      if (delta && typeof delta === 'object') messageEvents(delta, choice.logprobs, index, state, out);
      if (typeof choice.finish_reason === 'string') state.finishReasons[index] = choice.finish_reason;
    }
  }
  if (chunk.usage && typeof chunk.usage === 'object') state.usage = usageFromWire(chunk.usage);
}

function messageEvents(delta: Record<string, unknown>, logprobs: UpstreamLogprobs | null | undefined, index: number, state: CompletionState, out: ProviderEvent[]): void {
  let content: string | undefined;
  let refusal: string | undefined;
  let reasoningContent: string | undefined;
  let reasoning: string | undefined;
  let toolCalls: UpstreamToolCall[] | undefined;
  let unknown: Record<string, unknown> | undefined;
  for (const key in delta) {
    const value = delta[key];
    switch (key) {
      case 'role':
        break;
      case 'content':
        if (typeof value === 'string') content = value;
        break;
      case 'refusal':
        if (typeof value === 'string') refusal = value;
        break;
      case 'reasoning_content':
        if (typeof value === 'string') reasoningContent = value;
        break;
      case 'reasoning':
        if (typeof value === 'string') reasoning = value;
        else if (value !== null && value !== undefined) (unknown ??= {})[key] = value;
        break;
      case 'tool_calls':
        if (Array.isArray(value)) toolCalls = value as UpstreamToolCall[];
        break;
      default:
        if (value !== null && value !== undefined) (unknown ??= {})[key] = value;
    }
  }
  const contentLogprobs = logprobs?.content?.length ? logprobs.content : undefined;
  const refusalLogprobs = logprobs?.refusal?.length ? logprobs.refusal : undefined;
  const hasDelta = !!(reasoningContent || reasoning || content || refusal || contentLogprobs || refusalLogprobs || toolCalls?.length || unknown);
  // Completion fields go out just before the first delta that follows them, so an upstream that
  // failed before saying anything still counts as having said nothing.
  if (hasDelta && state.changedFields) {
    out.push({ type: 'completion_fields', fields: state.changedFields });
    state.changedFields = undefined;
  }
  // Servers that send both names send the same text: it is relayed once.
  if (reasoningContent) out.push(withChoice({ type: 'reasoning', text: reasoningContent, field: 'reasoning_content' }, index));
  else if (reasoning) out.push(withChoice({ type: 'reasoning', text: reasoning, field: 'reasoning' }, index));
  if (content || contentLogprobs) out.push(textEvent('content', content, contentLogprobs, index));
  if (refusal || refusalLogprobs) out.push(textEvent('refusal', refusal, refusalLogprobs, index));
  if (toolCalls) {
    // A streamed call says which one it continues; a whole message's calls are in order, unnumbered.
    toolCalls.forEach((call, position) => {
      out.push(withChoice({ type: 'tool_call', index: call.index ?? position, id: call.id, name: call.function?.name, arguments: call.function?.arguments }, index));
    });
  }
  if (unknown) out.push(withChoice({ type: 'message_fields', fields: unknown }, index));
}

/** Fields of a completion (or chunk) that are the upstream's own bookkeeping, or read apart: never relayed as completion fields. */
const OWN_COMPLETION_FIELDS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage', 'error', 'obfuscation']);

/** Content or refusal text, with the log probabilities that came with it. */
function textEvent(type: 'content' | 'refusal', text: string | undefined, logprobs: TokenLogprob[] | undefined, index: number): ProviderEvent {
  const event: ProviderEvent & { type: 'content' | 'refusal' } = withChoice({ type, text: text ?? '' }, index);
  if (logprobs) event.logprobs = logprobs;
  return event;
}

/** Marks a delta with its choice; the first choice's events carry none. */
function withChoice<T extends ProviderEvent>(event: T, index: number): T {
  if (index !== 0) (event as { choice?: number }).choice = index;
  return event;
}

interface UpstreamToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface UpstreamLogprobs {
  content?: TokenLogprob[] | null;
  refusal?: TokenLogprob[] | null;
}

/** A streamed chunk (`choices[].delta`) or a whole completion (`choices[].message`), as far as the mapping reads it. */
export interface UpstreamChunk {
  choices?: Array<{
    index?: number;
    delta?: Record<string, unknown>;
    message?: Record<string, unknown>;
    logprobs?: UpstreamLogprobs | null;
    finish_reason?: FinishReason | null;
  } | null>;
  usage?: Record<string, unknown> | null;
  error?: { message?: string };
  [field: string]: unknown;
}
