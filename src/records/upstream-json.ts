// The Chat Completions request body as JSON text, with stored messages spliced in as text.
//
// A stateful request replays its session's tail: ~40 stored records on a 20-turn session, ≈20 KB.
// Mapping each record to its upstream message and stringifying the whole body again cost about as
// much as parsing the records in the first place. Most stored messages are a user's or an
// assistant's plain text, whose upstream form is its stored JSON text with the content part's
// wrapping removed: for those the body takes that slice of the text the store read, and the rest
// go through toUpstreamMessage as before.
import { toUpstreamMessage, type UpstreamMessageOptions } from './chat-completions.ts';
import type { MessageRecord } from './record.ts';

/**
 * Where a record read from a store keeps the JSON text it was parsed from: on its content array, so
 * that a copy of the record with other content (`{ ...record, content }`) does not carry it. A
 * symbol is never serialised, and array copies (`[...content]`, `slice`) leave it behind.
 */
const STORED_TEXT = Symbol('stored JSON text');

type Carrier = { [STORED_TEXT]?: string };

/**
 * Remembers the text a stored record was parsed from; `text` must be JSON.stringify of a record (as
 * every store writes it). Records are not changed in place once made (a text part edited in place
 * would be sent as its old text), so only the stores, at parse time, call this.
 */
export function keepStoredText<T extends MessageRecord>(record: T, text: string): T {
  // An assignment, not defineProperty: this runs for every message of every replay (defineProperty cost a third of the parse).
  const content = record?.content as Carrier | undefined;
  if (Array.isArray(content)) content[STORED_TEXT] = text;
  return record;
}

const USER_PREFIX = '{"role":"user","content":[{"type":"text","text":';
const ASSISTANT_PREFIX = '{"role":"assistant","content":[{"type":"text","text":';
const SUFFIX = '}]}';
const PART_OPENING = '[{"type":"text","text":';

/** One record as the upstream message's JSON text. */
export function upstreamMessageJson(record: MessageRecord, options: UpstreamMessageOptions = {}): string {
  return storedPlainText(record) ?? JSON.stringify(toUpstreamMessage(record, options));
}

/**
 * `{"role":…,"content":"…"}` cut from the stored text of a user or assistant message that is one
 * text part and nothing else, which is exactly what toUpstreamMessage makes of it (a single text
 * part travels as a string; such an assistant message has no calls, refusal, name or reasoning).
 * The record's own fields are checked, not just the text's shape: a text part followed by tool
 * calls ends in `}]}` too.
 */
function storedPlainText(record: MessageRecord): string | undefined {
  if (record.role !== 'user' && record.role !== 'assistant') return undefined;
  const content = record.content;
  const text = (content as Carrier)?.[STORED_TEXT];
  if (text === undefined || content.length !== 1 || ownKeys(record) !== 2) return undefined;
  const part = content[0];
  if (part?.type !== 'text' || ownKeys(part) !== 2) return undefined;
  const prefix = record.role === 'user' ? USER_PREFIX : ASSISTANT_PREFIX;
  // With exactly those keys in that order, JSON.stringify wrote prefix + the text's literal + suffix.
  if (!text.startsWith(prefix) || !text.endsWith(SUFFIX)) return undefined;
  // `{"role":"user","content":` + literal + `}`: the part's wrapping (`[{"type":"text","text":` … `}]`) dropped.
  return `${text.slice(0, prefix.length - PART_OPENING.length)}${text.slice(prefix.length, text.length - SUFFIX.length)}}`;
}

/** Own enumerable keys, counted without making an array. */
function ownKeys(value: object): number {
  let count = 0;
  for (const key in value) if (Object.hasOwn(value, key)) count++;
  return count;
}

/**
 * A Chat Completions request body: the request's fields, then `model`, `messages` and `fields`
 * (`stream`, `stream_options`…), in that order, as JSON.stringify of that object would write it.
 * Throws what JSON.stringify throws for a value it cannot write.
 */
export function chatCompletionsBody(model: string, messages: readonly MessageRecord[], params: Record<string, unknown>, fields: Record<string, unknown>, options: UpstreamMessageOptions = {}): string {
  let own = params;
  // The names this function sets win over a request field of the same name, as in an object spread.
  if ('model' in params || 'messages' in params || Object.keys(fields).some((name) => name in params)) {
    own = { ...params };
    delete own.model;
    delete own.messages;
    for (const name of Object.keys(fields)) delete own[name];
  }
  let list = '';
  for (let i = 0; i < messages.length; i++) list += (i === 0 ? '' : ',') + upstreamMessageJson(messages[i], options);
  const head = JSON.stringify({ ...own, model });
  const tail = JSON.stringify(fields);
  return `${head.slice(0, -1)},"messages":[${list}]${tail === '{}' ? '' : `,${tail.slice(1, -1)}`}}`;
}
