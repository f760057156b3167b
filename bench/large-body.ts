// How long one large request body holds the gateway's event loop, and what that does to everyone
// else's latency. The gateway runs in this process (its loop measured with
// perf_hooks.monitorEventLoopDelay, 1 ms resolution); a child process runs the upstream and the
// client, which polls /health back to back while it sends one ~19 MB body (100,000 messages):
// once valid (forwarded upstream), once rejected by the validator (its last message bad), once
// valid but for an unknown agent (parsed and validated, then a 404 before any run). The
// bench upstream refuses bodies over 8 MB, so the valid case ends in a 502 after the gateway has
// parsed, validated and sent it: what counts here is the gateway's loop, not the answer.
//   node bench/large-body.ts [--messages 100000]
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseConfig } from '../src/config/load.ts';
import { createGateway } from '../src/gateway.ts';
import { createUpstream } from './upstream.ts';

const TOKEN = 'bench-token-0123456789abcdef';
const messagesArg = process.argv.indexOf('--messages');
const MESSAGES = messagesArg > 0 ? Number(process.argv[messagesArg + 1]) : 100_000;

if (process.argv.includes('--child')) await child();
else await parent();

async function parent(): Promise<void> {
  const worker: ChildProcess = fork(import.meta.filename, ['--child', '--messages', String(MESSAGES)], { stdio: 'inherit' });
  const upstreamPort = await new Promise<number>((done) => worker.once('message', (m: { port: number }) => done(m.port)));
  const config = parseConfig(
    {
      gateway: { auth: { mode: 'token', token: TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: `http://127.0.0.1:${upstreamPort}/v1`, apiKey: 'sk-bench' } } },
      agents: { list: [{ id: 'main', default: true, model: 'up/bench-model' }] },
    },
    {},
  );
  const gateway = createGateway(config, { env: {}, stateDir: '/tmp/openclaw-large-body-bench' });
  const { url } = await gateway.listen({ port: 0, bind: '127.0.0.1' });
  await gateway.app.warmUp?.();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  worker.on('message', (message: { type: string; label?: string; report?: unknown }) => {
    if (message.type === 'start') {
      histogram.reset();
      histogram.enable();
    } else if (message.type === 'stop') {
      histogram.disable();
      const ms = (ns: number) => Math.round(ns / 1e5) / 10;
      console.log(JSON.stringify({ case: message.label, loopDelay: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }, ...(message.report as object) }));
    }
  });
  worker.send({ url, token: TOKEN });
  await new Promise((done) => worker.once('exit', done));
  await gateway.close({ graceMs: 1_000 });
}

async function child(): Promise<void> {
  const upstream = createUpstream();
  await new Promise<void>((done) => upstream.server.listen(0, '127.0.0.1', done));
  process.send!({ port: (upstream.server.address() as { port: number }).port });
  const { url, token } = await new Promise<{ url: string; token: string }>((done) => process.once('message', done as never));
  const message = (i: number) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} `.padEnd(170, 'x') });
  const messages = Array.from({ length: MESSAGES }, (_, i) => message(i));
  const valid = JSON.stringify({ model: 'openclaw/main', messages: [...messages.slice(0, -1), { role: 'user', content: 'hi' }] });
  const invalid = JSON.stringify({ model: 'openclaw/main', messages: [...messages.slice(0, -1), { role: 'bogus', content: 'hi' }] });
  // Valid, but for an agent that does not exist: parsed and validated, then refused before any run
  // (the window the body checks alone take).
  const unknownAgent = valid.replace('"model":"openclaw/main"', '"model":"openclaw/nobody"');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const cases = [
    ['valid', valid],
    ['invalid (last message)', invalid],
    ['valid, unknown agent (parse and validation only)', unknownAgent],
    ['valid', valid],
    ['valid, unknown agent (parse and validation only)', unknownAgent],
  ] as const;
  for (const [label, body] of cases) {
    process.send!({ type: 'start' });
    const latencies: number[] = [];
    let stop = false;
    const poll = (async () => {
      while (!stop) {
        const t = performance.now();
        await (await fetch(`${url}/health`)).text();
        latencies.push(performance.now() - t);
        await new Promise((done) => setTimeout(done, 2));
      }
    })();
    await new Promise((done) => setTimeout(done, 200));
    const t = performance.now();
    const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body });
    await response.text();
    const bigMs = Math.round(performance.now() - t);
    await new Promise((done) => setTimeout(done, 200));
    stop = true;
    await poll;
    latencies.sort((a, b) => a - b);
    const at = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] * 10) / 10;
    process.send!({ type: 'stop', label, report: { bodyMB: Math.round(body.length / 1e5) / 10, status: response.status, bigRequestMs: bigMs, health: { n: latencies.length, p50: at(50), p99: at(99), max: at(100) } } });
  }
  upstream.server.close();
  process.exit(0);
}
