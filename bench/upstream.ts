// A minimal OpenAI-compatible upstream for the benchmarks: pure node:http, fixed text, no parsing
// beyond the JSON body. `POST /v1/chat/completions` answers streaming or not (as the request asks)
// after `latencyMs`, in `chunks` content chunks `chunkDelayMs` apart. In `hold` mode a stream sends
// the role chunk and then waits until the client closes (for the idle-streams figure); in `gate`
// mode it sends the role chunk and waits for `POST /_bench/release`, which starts every waiting
// stream at once (for the slow-streams figure: all of them open before the first chunk).
//
// Run as its own process (so it does not share an event loop with the load generator):
//   node bench/upstream.ts [--port 0] [--latency-ms 0] [--chunks 8] [--chunk-delay-ms 0]
// It prints `{"port":N}` on stdout once listening. `POST /_bench/config` (JSON, same keys as
// UpstreamOptions) changes the behaviour at run time; `GET /_bench/stats` reports open streams.
// A request that offers `tools` gets a call to its first tool instead (see the tool-step cell).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamOptions {
  latencyMs: number;
  chunks: number;
  chunkDelayMs: number;
  /** `normal`: streams end with [DONE]; `hold`: role chunk, then wait for the client to close. */
  mode: 'normal' | 'hold' | 'gate';
}

export const DEFAULT_UPSTREAM: UpstreamOptions = { latencyMs: 0, chunks: 8, chunkDelayMs: 0, mode: 'normal' };

const WORDS = ['The ', 'quick ', 'brown ', 'fox ', 'jumps ', 'over ', 'the ', 'lazy ', 'dog. '];

export interface Upstream {
  server: Server;
  options: UpstreamOptions;
  stats: { requests: number; openStreams: number; held: number; gated: number };
}

export function createUpstream(initial: Partial<UpstreamOptions> = {}): Upstream {
  const options: UpstreamOptions = { ...DEFAULT_UPSTREAM, ...initial };
  const stats = { requests: 0, openStreams: 0, held: 0, gated: 0 };
  const gated = new Set<() => void>();
  const server = createServer((req, res) => {
    readBody(req).then(
      (raw) => route(req, res, raw),
      () => res.destroy(),
    );
  });
  server.keepAliveTimeout = 30_000;

  const route = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/_bench/config' && req.method === 'POST') {
      Object.assign(options, JSON.parse(raw || '{}'));
      return json(res, 200, options);
    }
    if (path === '/_bench/stats') return json(res, 200, stats);
    if (path === '/_bench/release' && req.method === 'POST') {
      const waiting = [...gated];
      gated.clear();
      stats.gated = 0;
      for (const start of waiting) start();
      return json(res, 200, { released: waiting.length });
    }
    if (path === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'bench', object: 'model', created: 0, owned_by: 'bench' }] });
    if (path !== '/v1/chat/completions' || req.method !== 'POST') return json(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
    stats.requests++;
    let body: { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
    try {
      body = JSON.parse(raw);
    } catch {
      return json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
    }
    const model = body.model ?? 'bench';
    // The tool-step cell: a request that offers tools and does not end with a tool result is
    // answered with a call to the first tool (at once, in one piece); the reply to its result is
    // the usual text.
    const tools = (body as { tools?: Array<{ function: { name: string } }> }).tools;
    const messages = (body as { messages?: Array<{ role: string }> }).messages;
    if (tools && tools.length > 0 && messages?.at(-1)?.role !== 'tool') {
      const call = { id: `call_bench${stats.requests}`, type: 'function', function: { name: tools[0].function.name, arguments: '{}' } };
      const usage = { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 };
      const base = { id: `chatcmpl-bench${stats.requests}`, created: Math.floor(Date.now() / 1000), model };
      if (!body.stream) {
        return json(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, tool_calls: [call] }, finish_reason: 'tool_calls', logprobs: null }], usage });
      }
      const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(chunk({ role: 'assistant', content: null }, null));
      res.write(chunk({ tool_calls: [{ index: 0, ...call }] }, null));
      res.write(chunk({}, 'tool_calls'));
      if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    const id = `chatcmpl-bench${stats.requests}`;
    const created = Math.floor(Date.now() / 1000);
    const chunks = Math.max(1, options.chunks);
    const text = Array.from({ length: chunks }, (_, i) => WORDS[i % WORDS.length]);
    const usage = { prompt_tokens: 10, completion_tokens: chunks, total_tokens: 10 + chunks };
    const after = (ms: number, fn: () => void) => (ms > 0 ? setTimeout(fn, ms) : fn());

    if (!body.stream) {
      after(options.latencyMs, () => {
        json(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: text.join(''), refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage,
        });
      });
      return;
    }

    // Built by concatenation around the one part that changes: with thousands of slow streams the
    // upstream writes 100,000 chunks a second and must not be what the figure measures.
    const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":`;
    const chunk = (delta: object, finish: string | null) => `${head}${JSON.stringify(delta)},"finish_reason":${finish === null ? 'null' : `"${finish}"`},"logprobs":null}]}\n\n`;
    const mode = options.mode;
    const chunkDelayMs = options.chunkDelayMs;
    const includeUsage = body.stream_options?.include_usage === true;
    let closed = false;
    /** Sends the next chunk (set once the stream has begun). */
    let next: () => void = () => undefined;
    // Released streams start at a random point of their first interval, as independent streams
    // would be, rather than all in the same instant.
    const start = () => (chunkDelayMs > 0 ? setTimeout(next, Math.random() * chunkDelayMs) : next());
    stats.openStreams++;
    res.on('close', () => {
      closed = true;
      stats.openStreams--;
      if (mode === 'hold') stats.held--;
      if (gated.delete(start)) stats.gated--;
    });
    after(options.latencyMs, () => {
      if (closed) return;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(chunk({ role: 'assistant', content: '' }, null));
      if (mode === 'hold') {
        stats.held++;
        return; // until the client goes away
      }
      let i = 0;
      next = () => {
        if (closed) return;
        if (i < chunks) {
          // The first content chunk carries the wall-clock time it was sent ("@<epoch ms> "), so a
          // client on this machine can tell how long the chunk took to reach it: directly, or
          // through the gateway's relay.
          const content = i === 0 ? `@${(performance.timeOrigin + performance.now()).toFixed(3)} ` : text[i];
          i++;
          res.write(chunk({ content }, null));
          if (chunkDelayMs > 0) setTimeout(next, chunkDelayMs);
          else next();
          return;
        }
        res.write(chunk({}, 'stop'));
        if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      if (mode === 'gate') {
        gated.add(start);
        stats.gated++;
        return; // until /_bench/release
      }
      next();
    });
  };

  return { server, options, stats };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > 8 * 1024 * 1024) reject(new Error('body too large'));
      else parts.push(part);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function flag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} needs a non-negative number`);
  return value;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const upstream = createUpstream({
    latencyMs: flag(argv, '--latency-ms', DEFAULT_UPSTREAM.latencyMs),
    chunks: flag(argv, '--chunks', DEFAULT_UPSTREAM.chunks),
    chunkDelayMs: flag(argv, '--chunk-delay-ms', DEFAULT_UPSTREAM.chunkDelayMs),
  });
  upstream.server.listen({ host: '127.0.0.1', port: flag(argv, '--port', 0) }, () => {
    process.stdout.write(`${JSON.stringify({ port: (upstream.server.address() as AddressInfo).port })}\n`);
  });
  const stop = () => {
    upstream.server.close();
    upstream.server.closeAllConnections();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Never outlive the runner: it holds our stdin open.
  process.stdin.on('end', stop).on('error', stop).resume();
}
