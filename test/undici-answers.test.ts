// The gateway's own readers of upstream answers (src/providers/undici-answers.ts), against a real
// HTTP server on 127.0.0.1 through a real undici pool: what `request()` and its body stream used to
// guarantee, they must too (limits, aborts, a reader that stops early, failures in order).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestStreamed, requestWhole } from '../src/providers/undici-answers.ts';

type Route = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Route>();
/** Requests whose connection the client closed before the answer ended, by path. */
const abandoned: string[] = [];
let connections = 0;
let server: Server;
let origin: string;
const pool = new Agent({ keepAliveTimeout: 1_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) abandoned.push(req.url!);
    });
    req.resume();
    req.on('end', () => routes.get(req.url!)!(req, res));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const options = (path: string) => ({ origin, path, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: '{}' });
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('a whole answer', () => {
  it('is the body as sent, whether it comes with a length or in chunks', async () => {
    routes.set('/length', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    routes.set('/chunks', (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write('{"ok":');
      setTimeout(() => res.end('"in pieces"}'), 10);
    });
    const withLength = await requestWhole(pool, options('/length'), new AbortController().signal, 1_000);
    expect({ status: withLength.statusCode, type: withLength.headers['content-type'], body: withLength.body.toString() }).toEqual({ status: 200, type: 'application/json', body: '{"ok":true}' });
    const inChunks = await requestWhole(pool, options('/chunks'), new AbortController().signal, 1_000);
    expect({ status: inChunks.statusCode, body: inChunks.body.toString() }).toEqual({ status: 201, body: '{"ok":"in pieces"}' });
  });

  it('larger than the limit is given up, said or shown, and its connection closed', async () => {
    routes.set('/declared-large', (_req, res) => res.writeHead(200, { 'content-length': 5_000 }).write('x'.repeat(100)));
    routes.set('/grows-large', (_req, res) => {
      res.writeHead(200);
      const more = () => (res.destroyed ? undefined : res.write('y'.repeat(400), () => setTimeout(more, 2)));
      more();
    });
    await expect(requestWhole(pool, options('/declared-large'), new AbortController().signal, 1_000)).rejects.toThrow(new SyntaxError('A completion is larger than 1000 bytes.'));
    await expect(requestWhole(pool, options('/grows-large'), new AbortController().signal, 1_000)).rejects.toThrow(SyntaxError);
    await until(() => abandoned.includes('/declared-large') && abandoned.includes('/grows-large'));
  });

  it('aborted, before or after it was sent, rejects with the signal’s reason and leaves the upstream', async () => {
    routes.set('/hang', () => undefined);
    const before = new AbortController();
    before.abort(new Error('gone before'));
    await expect(requestWhole(pool, options('/hang'), before.signal, 1_000)).rejects.toThrow('gone before');
    const during = new AbortController();
    const answer = requestWhole(pool, options('/hang'), during.signal, 1_000);
    const seen = abandoned.length;
    setTimeout(() => during.abort(new Error('gone during')), 20);
    await expect(answer).rejects.toThrow('gone during');
    await until(() => abandoned.length > seen);
  });
});

describe('answers read to their end', () => {
  // undici gives a connection back a turn of the event loop after its answer ended (request() alike),
  // so the next request here, as the gateway's next model call, comes after one.
  it('leave their connection to the next request, whole or streamed', async () => {
    routes.set('/short', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    routes.set('/events', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: [DONE]\n\n'), 5);
    });
    const own = new Agent({ keepAliveTimeout: 1_000 });
    const before = connections;
    try {
      for (let i = 0; i < 3; i++) {
        expect((await requestWhole(own, options('/short'), new AbortController().signal, 1_000)).body.toString()).toBe('{}');
        await new Promise((resolve) => setImmediate(resolve));
        const streamed = await requestStreamed(own, options('/events'), new AbortController().signal);
        let read = '';
        for await (const chunk of streamed.body) read += Buffer.from(chunk).toString();
        expect(read).toBe('data: one\n\ndata: [DONE]\n\n');
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(connections - before).toBe(1);
    } finally {
      await own.close();
    }
  });
});

describe('a streamed answer', () => {
  it('is read in order, and a failure after some chunks comes after them', async () => {
    routes.set('/cut', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('one,');
      setTimeout(() => res.write('two,', () => setTimeout(() => req.socket.destroy(), 10)), 10);
    });
    const answer = await requestStreamed(pool, options('/cut'), new AbortController().signal);
    expect(answer.headers['content-type']).toBe('text/event-stream');
    let read = '';
    const failure = await (async () => {
      for await (const chunk of answer.body) read += Buffer.from(chunk).toString();
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(read).toBe('one,two,');
    expect(failure).toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('read more slowly than it comes, in many chunks: every byte, in order', async () => {
    const pieces = 3_000;
    routes.set('/many', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let next = 0;
      // One write per piece, each waiting for the last to leave, so they arrive as many chunks.
      const more = () => (next === pieces ? res.end() : res.write(`${String(next++).padStart(5, '0')};`, () => setImmediate(more)));
      more();
    });
    const answer = await requestStreamed(pool, options('/many'), new AbortController().signal);
    let read = '';
    let chunks = 0;
    for await (const chunk of answer.body) {
      read += Buffer.from(chunk).toString();
      if (++chunks % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(read).toBe(Array.from({ length: pieces }, (_, i) => `${String(i).padStart(5, '0')};`).join(''));
    expect(chunks).toBeGreaterThan(100);
  });

  it('left by its reader before the end closes the connection (the rest is not wanted)', async () => {
    routes.set('/endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const more = () => (res.destroyed ? undefined : res.write('data: more\n\n', () => setTimeout(more, 5)));
      more();
    });
    const answer = await requestStreamed(pool, options('/endless'), new AbortController().signal);
    for await (const chunk of answer.body) {
      expect(Buffer.from(chunk).toString()).toContain('data: more');
      break;
    }
    await until(() => abandoned.includes('/endless'));
  });

  it('aborted after its headers ends its reader with the signal’s reason', async () => {
    routes.set('/slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('first,');
    });
    const control = new AbortController();
    const answer = await requestStreamed(pool, options('/slow'), control.signal);
    const reading = (async () => {
      let read = '';
      for await (const chunk of answer.body) {
        read += Buffer.from(chunk).toString();
        control.abort(new Error('client gone'));
      }
      return read;
    })();
    await expect(reading).rejects.toThrow('client gone');
    await until(() => abandoned.includes('/slow'));
  });
});
