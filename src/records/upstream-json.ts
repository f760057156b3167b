// Stored records read back, and the Chat Completions request body they go out in, as JSON text.
//
// A stateful request replays its session's tail: ~40 stored records on a 20-turn session, ≈20 KB,
// each parsed, mapped to its upstream message, and the whole body stringified again. Most stored
// messages are a user's or an assistant's plain text, `{"role":…,"content":[{"type":"text","text":
// "…"}]}`, whose upstream form is `{"role":…,"content":"…"}`: the same string literal. Those are
// read by parsing only their literal, and keep it (on their text part, where nothing else sees it)
// so that the body splices it in as text; every other record is parsed and mapped as before.
import { toUpstreamMessage, type UpstreamMessageOptions } from './chat-completions.ts';
import type { MessageRecord } from './record.ts';

/**
 * The text part of a stored plain-text message: a `{ type, text }` like any other (serialised,
 * copied and compared as one), which also holds the JSON literal `text` was read from. A part
 * replaced or edited in place no longer matches its literal and is mapped as usual.
 */
class StoredTextPart {
  readonly type = 'text';
  text: string;
  readonly #literal: string;
  readonly #read: string;

  constructor(text: string, literal: string) {
    this.text = text;
    this.#literal = literal;
    this.#read = text;
  }

  static literalOf(part: unknown): string | undefined {
    return part instanceof StoredTextPart && part.text === part.#read && part.type === 'text' ? part.#literal : undefined;
  }
}

const USER_PREFIX = '{"role":"user","content":[{"type":"text","text":';
const ASSISTANT_PREFIX = '{"role":"assistant","content":[{"type":"text","text":';
const SUFFIX = '}]}';
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * A stored record from its JSON text (what JSON.parse would make of it, and throwing what it
 * throws). A plain-text user or assistant message, as JSON.stringify writes one, is read by
 * parsing its one string literal (a third of the work of parsing the whole record).
 */
export function parseStoredRecord(text: string): MessageRecord {
  const prefix = text.startsWith(USER_PREFIX) ? USER_PREFIX : text.startsWith(ASSISTANT_PREFIX) ? ASSISTANT_PREFIX : undefined;
  if (prefix !== undefined && text.endsWith(SUFFIX) && oneStringLiteral(text, prefix.length, text.length - SUFFIX.length)) {
    const literal = text.slice(prefix.length, text.length - SUFFIX.length);
    const content = [new StoredTextPart(JSON.parse(literal) as string, literal)] as unknown as MessageRecord['content'];
    return prefix === USER_PREFIX ? { role: 'user', content } : { role: 'assistant', content };
  }
  return JSON.parse(text) as MessageRecord;
}

/**
 * Whether text[start, end) is a single JSON string literal: it opens and closes with a quote and
 * every quote between is escaped (`"a","text":"b"`, a key written twice, is not). Whether the
 * literal's escapes are valid is left to JSON.parse.
 */
function oneStringLiteral(text: string, start: number, end: number): boolean {
  const last = end - 1;
  if (last <= start || text.charCodeAt(start) !== QUOTE || text.charCodeAt(last) !== QUOTE) return false;
  for (let at = text.indexOf('"', start + 1); at !== last; at = text.indexOf('"', at + 1)) {
    if (at === -1) return false;
    let backslashes = 0;
    for (let i = at - 1; text.charCodeAt(i) === BACKSLASH; i--) backslashes++;
    if (backslashes % 2 === 0) return false;
  }
  return true;
}

/** One record as the upstream message's JSON text. */
export function upstreamMessageJson(record: MessageRecord, options: UpstreamMessageOptions = {}): string {
  // A user or assistant message of one text part and nothing else: toUpstreamMessage sends its
  // text as the content string (such an assistant message has no calls, refusal, name or reasoning).
  if ((record.role === 'user' || record.role === 'assistant') && record.content.length === 1 && ownKeys(record) === 2) {
    const literal = StoredTextPart.literalOf(record.content[0]);
    if (literal !== undefined) return `${record.role === 'user' ? '{"role":"user","content":' : '{"role":"assistant","content":'}${literal}}`;
  }
  return JSON.stringify(toUpstreamMessage(record, options));
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
  const list = new Array<string>(messages.length);
  for (let i = 0; i < messages.length; i++) list[i] = upstreamMessageJson(messages[i], options);
  const head = JSON.stringify({ ...own, model });
  const tail = JSON.stringify(fields);
  return `${head.slice(0, -1)},"messages":[${list.join(',')}]${tail === '{}' ? '' : `,${tail.slice(1, -1)}`}}`;
}
