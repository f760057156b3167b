// Instructions the gateway executes per request, counted by valgrind (callgrind, counting only
// while the measured requests run), for checkouts side by side. A count does not move with whatever else the machine
// is doing, where CPU time on a shared two-core machine moves by 2× (CPU time per request read
// 820 µs on a quiet machine and 1,700 µs with two other benchmarks running, for the same code):
// for a change of a few percent to the hot path, this is the figure that can show it.
//
//   node bench/instructions.ts <checkout> [<checkout> …] [--non-stream] [--requests 1000] [--warmup 1000] [--user] [--express] [--chunks 20]
//
// Each checkout's gateway runs under valgrind with counting off; after `warmup` requests it is
// switched on (callgrind_control) for `requests` more, then off again, so start-up, warm-up and
// shutdown are left out (an earlier version subtracted two whole runs: their start-ups alone
// differed by more than the change being measured). Every thread of the process counts (the
// garbage collector's, the compiler's). Requests go one at a time over one keep-alive
// connection, to the same bench/upstream.ts; `--user` makes them stateful (sessions of 20 turns, one after another).
// Slow: a gateway under valgrind answers ≈30–50× slower (a few minutes per checkout).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { createUpstream } from './upstream.ts';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'non-stream': { type: 'boolean', default: false },
    user: { type: 'boolean', default: false },
    requests: { type: 'string', default: '1000' },
    /** Also count the bare express 5 + undici proxy (bench/express-proxy.ts) on the same upstream: the floor the issue's CPU targets are set against; and the same proxy with the gateway's request validator (--validator). */
    express: { type: 'boolean', default: false },
    // After 300 warm-up requests the gateway's code was still being optimised: the same code read
    // 2.0 M and 2.25 M instructions per request in two runs, 1.40 M after 1,000 (the bare express
    // proxy 0.90 M and 0.56 M). Runs of the same code still differ by up to ≈ 4 % (garbage
    // collections falling inside or outside the counted requests): compare A B A B.
    warmup: { type: 'string', default: '1000' },
    /** Content chunks per upstream stream (the load cells of bench/run.ts use 20). */
    chunks: { type: 'string', default: '20' },
  },
});
if (positionals.length === 0) {
  console.error('usage: node bench/instructions.ts <checkout> [<checkout> …] [--non-stream] [--requests N] [--warmup N] [--user]');
  process.exit(2);
}
const REQUESTS = Number(flags.requests);
const WARMUP = Number(flags.warmup);
const TOKEN = 'bench-token-0123456789abcdef';
/**
 * The node flags and malloc setting bin/openclaw.js gives `openclaw gateway`, given here so that
 * it does not re-execute itself (valgrind would lose it). A checkout whose launcher sets no malloc
 * setting ignores it.
 */
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=100'];
const GATEWAY_ENV = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4194304' };
const scratch = mkdtempSync(join(tmpdir(), 'openclaw-instructions-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** The bench's upstream, in this process: only the gateway's own process runs under valgrind. */
function startUpstream(): Promise<number> {
  const upstream = createUpstream({ chunks: Number(flags.chunks) });
  return new Promise((resolvePort) => upstream.server.listen({ host: '127.0.0.1', port: 0 }, () => resolvePort((upstream.server.address() as AddressInfo).port)));
}

function writeConfig(checkout: string, name: string, upstreamPort: number): string {
  const schema = readFileSync(join(checkout, 'src/config/schema.ts'), 'utf8');
  const limitsOff = schema.includes('maxConnectionsPerAddress') ? { maxConnectionsPerAddress: 0, maxConcurrentRunsPerAddress: 0 } : {};
  const file = join(scratch, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      gateway: { auth: { mode: 'token', token: TOKEN }, http: { ...limitsOff, endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: `http://127.0.0.1:${upstreamPort}/v1` } } },
      agents: { defaults: { model: 'up/bench' } },
    }),
  );
  return file;
}

/** With `--user`, every 20 requests share a session: the last of them replays 19 earlier turns. */
const bodyOf = (index: number) => JSON.stringify({ model: 'openclaw', stream: !flags['non-stream'], messages: [{ role: 'user', content: 'hi' }], ...(flags.user ? { user: `instructions-${Math.floor(index / 20)}` } : {}) });

function send(port: number, agent: Agent, index: number): Promise<void> {
  const body = bodyOf(index);
  return new Promise((done, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        if (res.statusCode !== 200) fail(new Error(`status ${res.statusCode}`));
        res.resume();
        res.on('end', () => done());
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const valgrind = (outFile: string) => ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`, process.execPath];

/** The launcher's own environment for the gateway, where the checkout's launcher sets one. */
function gatewayEnv(checkout: string): Record<string, string> {
  return readFileSync(join(checkout, 'bin/openclaw.js'), 'utf8').includes('GLIBC_TUNABLES') ? GATEWAY_ENV : {};
}

function callgrindControl(pid: number, ...args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const control = spawn('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
    control.on('exit', (code) => (code === 0 ? done() : fail(new Error(`callgrind_control ${args.join(' ')} exited with ${code}`))));
  });
}

/** Instructions of a gateway (`config`) or of the express proxy (no config) over `count` requests after `warmup`. */
async function countRun(checkout: string, name: string, config: string | undefined, warmup: number, count: number, upstreamPort: number, proxyArgs: string[] = []): Promise<number> {
  let port = 20_000 + Math.floor(Math.random() * 20_000);
  const stateDir = join(scratch, name);
  const outFile = join(scratch, `${name}.callgrind`);
  const VALGRIND = valgrind(outFile);
  const args = config
    ? [...VALGRIND, ...GATEWAY_NODE_FLAGS, 'bin/openclaw.js', 'gateway', '--config', config, '--port', String(port), '--bind', '127.0.0.1']
    : [...VALGRIND, 'bench/express-proxy.ts', '--upstream', `http://127.0.0.1:${upstreamPort}`, ...proxyArgs];
  const child = spawn('valgrind', args, { cwd: checkout, env: { ...process.env, ...(config ? gatewayEnv(checkout) : {}), OPENCLAW_STATE_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (data) => (stderr += data));
  child.stdout!.on('data', (data) => (stdout += data));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  for (let tries = 0; ; tries++) {
    if (!config) {
      // The proxy prints its port once it listens.
      const listening = /\{"port":(\d+)\}/.exec(stdout);
      if (listening) {
        port = Number(listening[1]);
        break;
      }
    } else {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) break;
      } catch {
        // not yet
      }
    }
    if (tries > 1200) throw new Error(`${config ? 'the gateway' : 'the express proxy'} from ${checkout} did not start under valgrind`);
    await sleep(250);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < warmup; i++) await send(port, agent, i);
  await callgrindControl(child.pid!, '--instr=on');
  for (let i = warmup; i < warmup + count; i++) await send(port, agent, i);
  await callgrindControl(child.pid!, '--instr=off');
  agent.destroy();
  child.kill('SIGTERM');
  await exited;
  const match = /^totals:\s+(\d+)/m.exec(readFileSync(outFile, 'utf8'));
  if (!match) throw new Error(`no instruction count from valgrind for ${checkout}:\n${stderr.slice(-2000)}`);
  return Number(match[1]);
}

const upstreamPort = await startUpstream();
const targets = positionals.map((path, index) => {
  const checkout = resolve(path);
  return { label: checkout, checkout, name: `gw${index}`, config: writeConfig(checkout, `gw${index}`, upstreamPort) as string | undefined, proxyArgs: [] as string[] };
});
if (flags.express) {
  targets.push({ label: 'bare express 5 + undici proxy', checkout: resolve(positionals[0]), name: 'express', config: undefined, proxyArgs: [] });
  targets.push({ label: 'the same + the request validator', checkout: resolve(positionals[0]), name: 'express-validated', config: undefined, proxyArgs: ['--validator'] });
}
const results = await Promise.all(
  targets.map(async ({ label, checkout, name, config, proxyArgs }) => {
    // The targets side by side: counts do not depend on timing.
    const total = await countRun(checkout, name, config, WARMUP, REQUESTS, upstreamPort, proxyArgs);
    return { checkout: label, perRequest: total / REQUESTS };
  }),
);
const mode = `${flags['non-stream'] ? 'non-stream' : 'stream'}${flags.user ? ', stateful (20-turn sessions)' : ', stateless'}`;
console.log(`instructions per request (${mode}; ${REQUESTS} requests after ${WARMUP}, one connection):`);
for (const { checkout, perRequest } of results) {
  console.log(`  ${checkout}: ${(perRequest / 1000).toFixed(0)} k${results[0] !== undefined && results[0].perRequest !== perRequest ? ` (${(perRequest / results[0].perRequest).toFixed(3)}× the first)` : ''}`);
}
process.exit(0);
