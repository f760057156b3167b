// Chat Completions messages ↔ the gateway's records, in one place: request messages (and the
// transcripts stored before records existed, which are the same shape) become records; records
// become the messages an OpenAI-compatible upstream receives.
import type { ChatCompletionRequestMessage } from '../../generated/index.ts';
import type { ContentPart, MessageRecord, ToolCallRecord } from './record.ts';

export type ChatMessage = ChatCompletionRequestMessage;

/** A chat message as an upstream receives it (plain JSON; the SDK types are not needed at run time). */
export interface UpstreamChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | null | UpstreamContentPart[];
  name?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  refusal?: string;
  reasoning_content?: string;
  reasoning?: string;
}

type UpstreamContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: string } } | { type: 'refusal'; refusal: string };

type WireContent = string | null | undefined | ReadonlyArray<{ type: string; text?: string; refusal?: string; image_url?: { url: string; detail?: string } }>;

function partsFromWire(content: WireContent): ContentPart[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const parts: ContentPart[] = [];
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string') parts.push({ type: 'text', text: part.text });
    else if (part.type === 'refusal' && typeof part.refusal === 'string') parts.push({ type: 'refusal', text: part.refusal });
    else if (part.type === 'image_url' && part.image_url) {
      const detail = part.image_url.detail;
      parts.push(detail === 'auto' || detail === 'low' || detail === 'high' ? { type: 'image', url: part.image_url.url, detail } : { type: 'image', url: part.image_url.url });
    }
  }
  return parts;
}

/** One Chat Completions request message (or a message stored by the first release) as a record. */
export function fromChatMessage(message: ChatMessage): MessageRecord {
  const name = 'name' in message && typeof message.name === 'string' ? message.name : undefined;
  const withName = <T extends object>(record: T): T => (name === undefined ? record : { ...record, name });
  switch (message.role) {
    case 'system':
    case 'developer':
      return withName({ role: message.role, content: partsFromWire(message.content as WireContent) });
    case 'user':
      return withName({ role: 'user', content: partsFromWire(message.content as WireContent) });
    case 'tool':
      return { role: 'tool', toolCallId: message.tool_call_id, content: partsFromWire(message.content as WireContent) };
    case 'assistant': {
      const content = partsFromWire(message.content as WireContent);
      const refusal = (message as { refusal?: string | null }).refusal;
      if (typeof refusal === 'string' && refusal !== '' && !content.some((part) => part.type === 'refusal')) content.push({ type: 'refusal', text: refusal });
      const calls: ToolCallRecord[] = [];
      for (const call of message.tool_calls ?? []) {
        if (call.type === 'function') calls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments, executor: 'client' });
      }
      const record: MessageRecord = { role: 'assistant', content };
      if (calls.length > 0) record.toolCalls = calls;
      return withName(record);
    }
  }
}

export interface UpstreamMessageOptions {
  /** Send the reasoning a stored assistant message kept back to the model, under this field. */
  replayReasoning?: 'reasoning_content' | 'reasoning';
}

/** A record as the message an OpenAI-compatible upstream receives. */
export function toUpstreamMessage(record: MessageRecord, options: UpstreamMessageOptions = {}): UpstreamChatMessage {
  switch (record.role) {
    case 'system':
    case 'developer':
    case 'user': {
      const message: UpstreamChatMessage = { role: record.role, content: upstreamContent(record.content) };
      if (record.name !== undefined) message.name = record.name;
      return message;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: record.toolCallId, content: toolText(record.content) };
    case 'assistant': {
      const text = textOf(record.content);
      const refusal = record.content.filter((part) => part.type === 'refusal').map((part) => (part as { text: string }).text).join('\n');
      const calls = record.toolCalls ?? [];
      const message: UpstreamChatMessage = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
      if (refusal !== '') message.refusal = refusal;
      if (calls.length > 0) message.tool_calls = calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
      if (record.name !== undefined) message.name = record.name;
      if (options.replayReasoning && record.reasoning?.text) message[options.replayReasoning] = record.reasoning.text;
      return message;
    }
  }
}

/** A single text part travels as a plain string, as most upstreams expect; anything richer as parts. */
function upstreamContent(content: ContentPart[]): string | UpstreamContentPart[] {
  if (content.length === 0) return '';
  if (content.length === 1 && content[0].type === 'text') return content[0].text;
  return content.map((part): UpstreamContentPart => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    if (part.type === 'refusal') return { type: 'refusal', refusal: part.text };
    return { type: 'image_url', image_url: part.detail ? { url: part.url, detail: part.detail } : { url: part.url } };
  });
}

/** Chat Completions tool messages carry text only: an image a tool returned is named, not sent. */
function toolText(content: ContentPart[]): string {
  let text = '';
  for (const part of content) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'image') text += `${text === '' ? '' : '\n'}[image ${/^data:([^;,]+)/.exec(part.url)?.[1] ?? 'file'} returned by the tool; tool messages carry text only]`;
  }
  return text;
}

function textOf(content: ContentPart[]): string {
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}
