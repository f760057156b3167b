// The gateway→upstream hop alone: the openai SDK with each `fetch` it could be given, against the
// benchmark upstream (its own process), interleaved, in one run. Answers issue 4's "measure the SDK's
// default fetch against a tuned keep-alive dispatcher and keep the faster".
//
//   node bench/upstream-client.ts [--rounds 3] [--seconds 2]
//
// For each client: one connection (sequential streamed requests: time to response headers, to the
// first content event and to the end, p50) and 16 concurrent streams (completed requests/s).
// Every request is streamed and read the way the gateway reads it (asResponse() + readSseEvents).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { readSseEvents } from '../src/providers/sse-events.ts';
import { createUpstreamFetch } from './upstream-fetch.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(argv[at + 1]);
};
const ROUNDS = option('rounds', 3);
const SDK_VERSION = (JSON.parse(readFileSync(new URL('../node_modules/openai/package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SECONDS = option('seconds', 2);

/** node:http with a keep-alive agent, answering the same Response-shaped object (for comparison only). */
function nodeHttpFetch(agent: HttpAgent): typeof fetch {
  return (async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    for (const [name, value] of new Headers(init.headers as ConstructorParameters<typeof Headers>[0])) headers[name] = value;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined }, resolve);
      req.on('error', reject);
      req.end(init.body as string | undefined);
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
    const text = async () => {
      let all = '';
      for await (const chunk of res) all += chunk;
      return all;
    };
    return { ok: res.statusCode! < 300, status: res.statusCode!, statusText: res.statusMessage ?? '', url: String(input), headers: responseHeaders, body: res as Readable, text, json: async () => JSON.parse(await text()) } as unknown as Response;
  }) as typeof fetch;
}

interface Variant {
  name: string;
  client: OpenAI;
  close(): Promise<void>;
}

function variants(baseURL: string): Variant[] {
  const common = { baseURL, apiKey: 'bench', maxRetries: 0, logLevel: 'off' as const };
  const undiciAgent = new Agent({ keepAliveTimeout: 30_000, connections: null });
  const requestAgent = new Agent({ keepAliveTimeout: 30_000, connections: null });
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
  return [
    { name: 'SDK default (global fetch)', client: new OpenAI(common), close: async () => {} },
    {
      name: 'undici fetch + keep-alive Agent',
      client: new OpenAI({ ...common, fetch: ((url: string, init: RequestInit) => undiciFetch(url, { ...init, dispatcher: undiciAgent } as never)) as unknown as typeof fetch }),
      close: () => undiciAgent.close(),
    },
    {
      name: 'undici request() + keep-alive Agent (the gateway)',
      client: new OpenAI({ ...common, fetch: createUpstreamFetch(requestAgent, undiciFetch as unknown as typeof fetch) }),
      close: () => requestAgent.close(),
    },
    { name: 'node:http + keep-alive Agent', client: new OpenAI({ ...common, fetch: nodeHttpFetch(httpAgent) }), close: async () => httpAgent.destroy() },
  ];
}

async function streamOnce(client: OpenAI): Promise<{ headers: number; content: number; done: number }> {
  const started = performance.now();
  const response = await client.chat.completions
    .create({ model: 'bench', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
    .asResponse();
  const headers = performance.now() - started;
  let content = 0;
  for await (const event of readSseEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
    if (!content && event.data.includes('"content":"') && !event.data.includes('"content":""')) content = performance.now() - started;
  }
  return { headers, content, done: performance.now() - started };
}

const p50 = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function sequential(client: OpenAI, ms: number) {
  const samples = { headers: [] as number[], content: [] as number[], done: [] as number[] };
  for (const stopAt = performance.now() + ms; performance.now() < stopAt && samples.done.length < 20_000; ) {
    const sample = await streamOnce(client);
    samples.headers.push(sample.headers);
    samples.content.push(sample.content);
    samples.done.push(sample.done);
  }
  return { requests: samples.done.length, headers: p50(samples.headers), content: p50(samples.content), done: p50(samples.done) };
}

async function concurrent(client: OpenAI, connections: number, ms: number) {
  let completed = 0;
  const stopAt = performance.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < stopAt) {
        await streamOnce(client);
        completed++;
      }
    }),
  );
  return completed / (ms / 1000);
}

async function main() {
  const upstream = spawn(process.execPath, [new URL('./upstream.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => upstream.stdout!.once('data', (data: Buffer) => resolve(JSON.parse(data.toString().split('\n')[0]).port)));
    const all = variants(`http://127.0.0.1:${port}/v1`);
    for (const variant of all) await sequential(variant.client, 500); // warm-up
    const results = new Map(all.map((variant) => [variant.name, { seq: [] as Awaited<ReturnType<typeof sequential>>[], rps: [] as number[] }]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const variant of all) {
        const entry = results.get(variant.name)!;
        entry.seq.push(await sequential(variant.client, SECONDS * 1000));
        entry.rps.push(await concurrent(variant.client, 16, SECONDS * 1000));
        process.stderr.write(`round ${round} ${variant.name}: c=1 content p50 ${entry.seq.at(-1)!.content.toFixed(3)} ms, c=16 ${entry.rps.at(-1)!.toFixed(0)} req/s\n`);
      }
    }
    const rows = [...results].map(([name, { seq, rps }]) => {
      const median = (pick: (s: (typeof seq)[number]) => number) => p50(seq.map(pick)).toFixed(3);
      return `| ${name} | ${median((s) => s.headers)} | ${median((s) => s.content)} | ${median((s) => s.done)} | ${p50(rps).toFixed(0)} (${rps.map((r) => r.toFixed(0)).join(', ')}) |`;
    });
    process.stdout.write(
      [
        `## gateway→upstream hop: openai SDK ${SDK_VERSION} with each fetch (${ROUNDS} rounds × ${SECONDS} s, interleaved; ${new Date().toISOString()}, Node ${process.version})`,
        '',
        '| client | c=1 headers p50 ms | c=1 first content p50 ms | c=1 end p50 ms | c=16 req/s median (rounds) |',
        '|---|---:|---:|---:|---:|',
        ...rows,
        '',
      ].join('\n'),
    );
    await Promise.all(all.map((variant) => variant.close()));
  } finally {
    upstream.kill('SIGTERM');
  }
}

await main();
