// Backpressure (a slow reader never makes the gateway hold a whole reply): the gateway runs as its
// own process so its resident memory can be read while a client that reads nothing sits on a
// 50 MB streamed reply.
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { sseData } from './helpers/gateway.ts';

const MB = 1024 * 1024;
const PIECE_CHARS = 8 * 1024;
const PIECES = (50 * MB) / PIECE_CHARS;
const PAUSE_MS = 10_000;

/** Piece `index` of the reply: its number first, so a piece out of place or missing shows. */
function piece(index: number): string {
  const label = `<${index}>`;
  return label + String.fromCharCode(97 + (index % 26)).repeat(PIECE_CHARS - label.length);
}

let upstream: FakeUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startGatewayProcess({
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
    agents: { defaults: { model: 'up/bulk-model' } },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

function post(body: object): Promise<IncomingMessage> {
  const url = new URL('/v1/chat/completions', gateway.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    // A response paused on purpose stays paused when a listener is added: resume it.
    res.resume();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a client that reads nothing while the upstream streams 50 MB', () => {
  it('leaves the gateway’s memory flat and the upstream waiting, then gets every byte in order', async () => {
    // Everything a stream needs is loaded before the baseline is taken.
    upstream.setScript(() => ({ kind: 'text', text: 'warm', chunks: 1 }));
    const warm = await post({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'warm up' }] });
    expect(sseData(await readAll(warm)).at(-1)).toBe('[DONE]');

    const progress = { bytes: 0, done: false };
    upstream.setScript(() => ({ kind: 'bulk', pieces: PIECES, piece, progress }));
    const baseline = gateway.rssBytes();
    const res = await post({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'send it all' }] });
    expect(res.statusCode).toBe(200);
    // The client reads nothing: its socket stops reading once the response's own buffer is full.
    res.pause();
    let peak = baseline;
    for (let waited = 0; waited < PAUSE_MS; waited += 250) {
      await sleep(250);
      peak = Math.max(peak, gateway.rssBytes());
    }
    const heldBack = progress.bytes;
    const growth = peak - baseline;
    console.log(`backpressure: gateway RSS ${(baseline / MB).toFixed(1)} MB → peak ${(peak / MB).toFixed(1)} MB while paused (+${(growth / MB).toFixed(1)} MB); upstream got ${(heldBack / MB).toFixed(1)} MB of 50 MB out`);
    expect(growth).toBeLessThan(64 * MB);
    // The run stopped pulling from the upstream meanwhile: most of the reply is still to come.
    expect(progress.done).toBe(false);
    expect(heldBack).toBeLessThan(25 * MB);

    const text = await readAll(res);
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.every((chunk) => !chunk.error)).toBe(true);
    const content = chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('');
    expect(content.length).toBe(PIECES * PIECE_CHARS);
    for (let index = 0; index < PIECES; index++) {
      if (content.slice(index * PIECE_CHARS, (index + 1) * PIECE_CHARS) !== piece(index)) throw new Error(`piece ${index} is missing or out of place`);
    }
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop');
    expect(progress.done).toBe(true);
  }, 120_000);
});
