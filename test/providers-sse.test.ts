// The SSE reader the upstream relay runs on: event framing across arbitrary network reads.
import { describe, expect, it } from 'vitest';
import { readSseEvents, type SseEvent } from '../src/providers/sse-events.ts';

async function collect(pieces: Array<string | Uint8Array>): Promise<SseEvent[]> {
  async function* source() {
    for (const piece of pieces) yield typeof piece === 'string' ? new TextEncoder().encode(piece) : piece;
  }
  const events: SseEvent[] = [];
  for await (const event of readSseEvents(source())) events.push(event);
  return events;
}

const WIRE = 'data: {"a":1}\n\ndata: {"b":"ü – 😀"}\n\n: keep-alive\n\nevent: error\ndata: {"error":{"message":"x"}}\n\ndata: [DONE]\n\n';
const EXPECTED: SseEvent[] = [{ data: '{"a":1}' }, { data: '{"b":"ü – 😀"}' }, { event: 'error', data: '{"error":{"message":"x"}}' }, { data: '[DONE]' }];

describe('readSseEvents', () => {
  it('reads events, skipping comments, whatever the network reads look like', async () => {
    expect(await collect([WIRE])).toEqual(EXPECTED);
    const bytes = new TextEncoder().encode(WIRE);
    // Every split point, including inside a multi-byte character and between the two newlines.
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await collect([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(EXPECTED);
    }
    expect(await collect([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual(EXPECTED);
  });

  it('reads CRLF and CR-only streams the same, even when a CRLF is split between two reads', async () => {
    const multiLine = 'data: {"a":\ndata: 1}\n\ndata: [DONE]\n\n';
    const expected: SseEvent[] = [{ data: '{"a":\n1}' }, { data: '[DONE]' }];
    for (const ending of ['\r\n', '\r']) {
      const bytes = new TextEncoder().encode(multiLine.replace(/\n/g, ending));
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(await collect([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(expected);
      }
    }
  });

  it('refuses an event that grows past the size limit instead of buffering without end', async () => {
    const endless = Array.from({ length: 20 }, () => `data: ${'x'.repeat(1024 * 1024)}\n`);
    await expect(collect(endless)).rejects.toThrow(/larger than/);
  });

  it('accepts CRLF line ends, joins multi-line data, and tolerates "data:" without a space', async () => {
    const events = await collect(['data:{"x":\r\n', 'data: 1}\r\n\r', '\nid: 7\r\nretry: 100\r\ndata: two\r\n\r\n']);
    expect(events).toEqual([{ data: '{"x":\n1}' }, { data: 'two' }]);
  });

  it('delivers an event the stream left open at its end, and nothing for an empty stream', async () => {
    expect(await collect(['data: {"last":true}'])).toEqual([{ data: '{"last":true}' }]);
    expect(await collect([])).toEqual([]);
    expect(await collect([': only a comment\n\n'])).toEqual([]);
  });
});
