/** No chat completion chunk comes near this; a stream that does is broken or hostile. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** One server-sent event: its `event:` name (when it has one) and its `data:` lines joined by "\n". */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Server-sent events from a byte stream (a Node stream or a web ReadableStream: both are async
 * iterables). Events end at a blank line; CRLF and LF line ends are both accepted; comments and
 * `id:`/`retry:` lines are skipped; an event left open when the stream ends is still delivered.
 * It works on whole network reads at once (one decode and a few `indexOf`s per read), which is what
 * makes it cheaper than a line-by-line decoder on the relay's hot path.
 */
export async function* readSseEvents(body: AsyncIterable<Uint8Array | string>, maxEventBytes = MAX_EVENT_CHARS): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (buffer.includes('\r')) {
      // A CR at the very end may be the first half of a CRLF whose LF is in the next read: keep it
      // as it is until then, or it would count as a line end of its own and split the event.
      const pendingCr = buffer.endsWith('\r');
      buffer = (pendingCr ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, '\n') + (pendingCr ? '\r' : '');
    }
    let start = 0;
    let end: number;
    while ((end = buffer.indexOf('\n\n', start)) !== -1) {
      const event = parseBlock(buffer.slice(start, end));
      start = end + 2;
      if (event) yield event;
    }
    if (start > 0) buffer = buffer.slice(start);
    if (buffer.length > maxEventBytes) throw new SyntaxError(`A server-sent event is larger than ${maxEventBytes} characters.`);
  }
  buffer += decoder.decode();
  const event = parseBlock(buffer.replace(/\r\n?/g, '\n'));
  if (event) yield event;
}

function parseBlock(block: string): SseEvent | undefined {
  // The common case, one `data: {...}` line, without splitting.
  if (block.startsWith('data:') && !block.includes('\n')) return { data: block.charCodeAt(5) === 32 ? block.slice(6) : block.slice(5) };
  let data: string | undefined;
  let event: string | undefined;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') event = value;
  }
  if (data === undefined) return undefined;
  return event === undefined ? { data } : { event, data };
}
