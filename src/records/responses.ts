// Responses API items ↔ the gateway's records, in one place: input items become records (what the
// run and the session store work on), and records become the items a response shows, as output
// and as `input_items`. Beside chat-completions.ts: a session stored through either wire format
// can be continued through the other.
import type {
  EasyInputMessage,
  FunctionToolCall,
  InputItem,
  InputMessageContent,
  ItemResource,
  McpToolCall,
  OutputItem,
  OutputMessage,
  ReasoningItem,
} from '../../generated/index.ts';
import type { ContentPart, MessageRecord, ToolCallRecord } from './record.ts';

export type AssistantRecord = Extract<MessageRecord, { role: 'assistant' }>;
type ToolRecord = Extract<MessageRecord, { role: 'tool' }>;

// ---------------------------------------------------------------------------------------------
// Input items → records.

type WirePart = InputMessageContent | { type: string; text?: string; refusal?: string; image_url?: string | null; detail?: string };

function partsFromWire(content: string | ReadonlyArray<WirePart>): ContentPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const parts: ContentPart[] = [];
  for (const part of content) {
    if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string') parts.push({ type: 'text', text: part.text });
    else if (part.type === 'refusal' && typeof part.refusal === 'string') parts.push({ type: 'refusal', text: part.refusal });
    else if (part.type === 'input_image' && typeof part.image_url === 'string') {
      const detail = part.detail;
      parts.push(detail === 'auto' || detail === 'low' || detail === 'high' ? { type: 'image', url: part.image_url, detail } : { type: 'image', url: part.image_url });
    }
  }
  return parts;
}

function reasoningText(item: ReasoningItem): string {
  const from = item.content && item.content.length > 0 ? item.content : item.summary;
  return from.map((part) => part.text).join('\n');
}

/**
 * Input items as records. Consecutive output items of one model turn (its reasoning, message and
 * function calls) become one assistant record, as a chat model expects them; a function call
 * output becomes a tool result; reasoning text is kept on the assistant record that follows it.
 */
export function recordsFromInput(input: string | ReadonlyArray<InputItem>): MessageRecord[] {
  if (typeof input === 'string') return [{ role: 'user', content: partsFromWire(input) }];
  const records: MessageRecord[] = [];
  let reasoning: string | undefined;
  /** The assistant record further calls of the same model turn join. */
  let open: AssistantRecord | undefined;
  const assistant = (): AssistantRecord => {
    const record: AssistantRecord = { role: 'assistant', content: [] };
    if (reasoning) record.reasoning = { text: reasoning };
    reasoning = undefined;
    records.push(record);
    open = record;
    return record;
  };
  for (const item of input) {
    switch (item.type) {
      case 'function_call': {
        const record = open ?? assistant();
        (record.toolCalls ??= []).push({ id: item.call_id, name: item.name, arguments: item.arguments, executor: 'client' });
        break;
      }
      case 'function_call_output': {
        open = undefined;
        reasoning = undefined;
        records.push({ role: 'tool', toolCallId: item.call_id, content: partsFromWire(item.output as string | WirePart[]) });
        break;
      }
      case 'reasoning': {
        const text = reasoningText(item);
        if (text !== '') reasoning = reasoning ? `${reasoning}\n${text}` : text;
        open = undefined;
        break;
      }
      default: {
        const message = item as EasyInputMessage;
        if (message.role === 'assistant') {
          assistant().content.push(...partsFromWire(message.content));
          break;
        }
        open = undefined;
        reasoning = undefined;
        records.push({ role: message.role, content: partsFromWire(message.content) });
      }
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// Records → items.

export type ItemKind = 'msg' | 'fc' | 'fco' | 'rs' | 'mcp';

/** An item's id: its response's id, its kind and its place, so the same item keeps its id wherever it is shown. */
export function itemId(responseId: string, kind: ItemKind, index: number): string {
  return `${kind}_${responseId.replace(/^resp_/, '')}_${index}`;
}

export function textPart(text: string): { type: 'output_text'; text: string; annotations: []; logprobs: [] } {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

function outputContent(content: ContentPart[]): OutputMessage['content'] {
  const parts: OutputMessage['content'] = [];
  for (const part of content) {
    if (part.type === 'text') parts.push(textPart(part.text));
    else if (part.type === 'refusal') parts.push({ type: 'refusal', refusal: part.text });
  }
  return parts;
}

function textOf(content: ContentPart[]): string {
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

/** A server tool's `<server>__<tool>` name as MCP names it. */
export function splitServerToolName(name: string): { server: string; tool: string } {
  const cut = name.indexOf('__');
  return cut > 0 ? { server: name.slice(0, cut), tool: name.slice(cut + 2) } : { server: '', tool: name };
}

/** A call the gateway ran for one of the agent's own tools, with its result when there is one. */
export function mcpCallItem(id: string, call: ToolCallRecord, result: ToolRecord | undefined): McpToolCall {
  const { server, tool } = splitServerToolName(call.name);
  const item: McpToolCall = { type: 'mcp_call', id, server_label: server, name: tool, arguments: call.arguments, output: null, error: null, status: 'completed' };
  if (!result) item.status = 'incomplete';
  else if (result.isError) {
    item.status = 'failed';
    item.error = { type: 'mcp_tool_execution_error', content: [{ type: 'text', text: textOf(result.content) }] };
  } else item.output = textOf(result.content);
  return item;
}

export interface OutputOptions {
  /** The response was cut short (`max_output_tokens`, content filter): its last message is `incomplete`. */
  incomplete?: boolean;
}

/**
 * What a run added, as a response's output items: per assistant record its reasoning, its message
 * and its calls (the client's as `function_call`, then the agent's own tools as `mcp_call` with
 * their results, which are not items of their own).
 */
export function outputItems(responseId: string, records: ReadonlyArray<MessageRecord>, options: OutputOptions = {}): OutputItem[] {
  const results = new Map<string, ToolRecord>();
  for (const record of records) if (record.role === 'tool') results.set(record.toolCallId, record);
  const items: OutputItem[] = [];
  let lastMessage: OutputMessage | undefined;
  for (const record of records) {
    if (record.role !== 'assistant') continue;
    if (record.reasoning?.text) {
      items.push({ type: 'reasoning', id: itemId(responseId, 'rs', items.length), summary: [], content: [{ type: 'reasoning_text', text: record.reasoning.text }], status: 'completed' });
    }
    const content = outputContent(record.content);
    if (content.length > 0) {
      lastMessage = { type: 'message', id: itemId(responseId, 'msg', items.length), role: 'assistant', status: 'completed', content };
      items.push(lastMessage);
    }
    // The client's calls first, as a stream shows them (they stream as they arrive; the agent's
    // own are shown once the run says they were its own), so an item keeps its place and id.
    const calls = record.toolCalls ?? [];
    for (const call of calls) if (call.executor !== 'server') items.push(functionCallItem(itemId(responseId, 'fc', items.length), call));
    for (const call of calls) if (call.executor === 'server') items.push(mcpCallItem(itemId(responseId, 'mcp', items.length), call, results.get(call.id)));
  }
  if (options.incomplete && lastMessage) lastMessage.status = 'incomplete';
  return items;
}

export function functionCallItem(id: string, call: Pick<ToolCallRecord, 'id' | 'name' | 'arguments'>, status: FunctionToolCall['status'] = 'completed'): FunctionToolCall {
  return { type: 'function_call', id, call_id: call.id, name: call.name, arguments: call.arguments, status };
}

/** The items a request sent, as `GET /v1/responses/{id}/input_items` lists them (oldest first). */
export function inputItems(responseId: string, records: ReadonlyArray<MessageRecord>): ItemResource[] {
  const items: ItemResource[] = [];
  const id = (kind: ItemKind) => `${kind}_in_${responseId.replace(/^resp_/, '')}_${items.length}`;
  for (const record of records) {
    switch (record.role) {
      case 'assistant': {
        if (record.reasoning?.text) items.push({ type: 'reasoning', id: id('rs'), summary: [], content: [{ type: 'reasoning_text', text: record.reasoning.text }], status: 'completed' });
        const content = outputContent(record.content);
        if (content.length > 0) items.push({ type: 'message', id: id('msg'), role: 'assistant', status: 'completed', content });
        for (const call of record.toolCalls ?? []) items.push(functionCallItem(id('fc'), call) as ItemResource);
        break;
      }
      case 'tool':
        items.push({ type: 'function_call_output', id: id('fco'), call_id: record.toolCallId, output: textOf(record.content), status: 'completed' });
        break;
      default: {
        const content: Array<{ type: 'input_text'; text: string } | { type: 'input_image'; image_url: string; detail: 'auto' | 'low' | 'high' }> = [];
        for (const part of record.content) {
          if (part.type === 'text') content.push({ type: 'input_text', text: part.text });
          else if (part.type === 'image') content.push({ type: 'input_image', image_url: part.url, detail: part.detail ?? 'auto' });
        }
        items.push({ type: 'message', id: id('msg'), role: record.role, status: 'completed', content });
      }
    }
  }
  return items;
}
