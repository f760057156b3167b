// Benchmarks the gateway against the upstream it fronts, in one run: every figure is also printed as a
// ratio to the same request sent straight to the upstream, measured interleaved (gateway, direct,
// gateway, direct…) so machine noise hits both sides alike. See bench/README.md.
//
//   node bench/run.ts            full run (~3–5 min)
//   node bench/run.ts --quick    under a minute: shorter cells, fewer connections, 100 idle streams
//   node bench/run.ts --profile  CPU profiles of the gateway under load (bench/results/profiles/)
//   node bench/run.ts --responses-cpu  only the gateway CPU per request, /v1/responses vs /v1/chat/completions
//   --store postgres             sessions in PostgreSQL (a fresh database on OPENCLAW_BENCH_POSTGRES_URL,
//                                default the local server, dropped at the end) instead of SQLite
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { summariseProfile, formatProfileSummary } from './profile-summary.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');
const TOKEN = 'bench-token-0123456789abcdef';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
/** Only start-up and the idle-streams figure (skips the load cells). */
const IDLE_ONLY = argv.includes('--idle-only');
/** Only the one-connection chunk timing, gateway and direct interleaved five times (≈20 s): for hot-path work. */
const FIRST_CHUNK = argv.includes('--first-chunk');
/** Only the gateway CPU per non-streaming request, /v1/responses against /v1/chat/completions (≈1 min). */
const RESPONSES_CPU = argv.includes('--responses-cpu');
/** Only the tool-step cell (≈20 s). */
const TOOL_STEP = argv.includes('--tool-step');
/** Where the gateway keeps sessions: `sqlite` (the default) or `postgres`. */
const STORE = (() => {
  const index = argv.findIndex((arg) => arg === '--store' || arg.startsWith('--store='));
  if (index === -1) return 'sqlite';
  const value = argv[index].includes('=') ? argv[index].split('=')[1] : argv[index + 1];
  if (value !== 'sqlite' && value !== 'postgres') throw new Error('--store must be sqlite or postgres');
  return value;
})();
const POSTGRES_ADMIN_URL = process.env.OPENCLAW_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

interface Plan {
  connections: number[];
  statefulConnections: number[];
  durationSec: number;
  timingMs: number;
  timingMaxRequests: number;
  warmupSec: number;
  idleStreams: number;
  readyStarts: number;
  /** Hard cap for the whole run; everything is stopped when it passes. */
  deadlineMs: number;
}

const PLAN: Plan = QUICK
  ? { connections: [1, 16], statefulConnections: [16], durationSec: 2, timingMs: 1_000, timingMaxRequests: 5_000, warmupSec: 1, idleStreams: 100, readyStarts: 1, deadlineMs: 90_000 }
  : { connections: [1, 16, 64], statefulConnections: [1, 16, 64], durationSec: 4, timingMs: 2_500, timingMaxRequests: 20_000, warmupSec: 2, idleStreams: 1_000, readyStarts: 4, deadlineMs: 8 * 60_000 };

// ---------------------------------------------------------------------------------------------
// Process management: every child is tracked and stopped on exit, error, SIGINT and the deadline.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleaningUp = false;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

function cleanupSync() {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

/** Drops the bench's PostgreSQL database (after the gateways using it stopped). */
let dropDatabase: (() => Promise<void>) | undefined;

async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  await Promise.all([...children].map((child) => stopChild(child, 'SIGTERM', 2_000)));
  await dropDatabase?.().catch((error: unknown) => process.stderr.write(`bench: could not drop the PostgreSQL database: ${(error as Error).message}\n`));
  cleanupSync();
}

async function postgresAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The `sessions.store` the gateway runs with: SQLite in its state dir, or a fresh PostgreSQL database. */
async function sessionStoreConfig(): Promise<Record<string, unknown>> {
  if (STORE === 'sqlite') return { driver: 'sqlite' };
  const database = `openclaw_bench_${process.pid}`;
  await postgresAdmin(`CREATE DATABASE ${database}`);
  dropDatabase = () => postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return { driver: 'postgres', url: url.toString(), poolSize: 10 };
}

process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping children…\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Upstream and gateway children.

interface Upstream {
  child: ChildProcess;
  url: string;
  configure(options: Record<string, unknown>): Promise<void>;
  stats(): Promise<{ requests: number; openStreams: number; held: number }>;
}

async function startUpstream(): Promise<Upstream> {
  const child = track(spawn(process.execPath, [join(ROOT, 'bench', 'upstream.ts')], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('upstream did not start within 10 s')), 10_000);
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
    child.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    async configure(options) {
      const res = await fetch(`${url}/_bench/config`, { method: 'POST', body: JSON.stringify(options) });
      if (!res.ok) throw new Error(`upstream config: HTTP ${res.status}`);
    },
    async stats() {
      return (await fetch(`${url}/_bench/stats`)).json() as Promise<{ requests: number; openStreams: number; held: number }>;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function writeGatewayConfig(dir: string, upstreamUrl: string, options: { tools?: boolean; store?: Record<string, unknown> } = {}): string {
  const path = join(dir, options.tools ? 'bench-tools.json5' : 'bench.json5');
  const config: Record<string, unknown> = {
    ...(options.store ? { sessions: { store: options.store } } : {}),
    gateway: {
      bind: '127.0.0.1',
      auth: { mode: 'token', token: TOKEN },
      http: { endpoints: { chatCompletions: { enabled: true }, responses: { enabled: true } } },
    },
    models: { providers: { up: { api: 'openai-completions', baseUrl: `${upstreamUrl}/v1`, apiKey: 'bench' } } },
    agents: { defaults: { model: 'up/bench' }, list: [{ id: 'main', default: true }] },
  };
  if (options.tools) {
    // The tool-step cell's own gateway (the other figures run without a tool server): the demo MCP
    // server over stdio, whose `time` tool answers at once.
    config.mcp = { servers: { bench: { command: process.execPath, args: [join(ROOT, 'examples', 'mcp-demo-server.ts')] } } };
    config.agents = { defaults: { model: 'up/bench' }, list: [{ id: 'main', default: true }, { id: 'tools', tools: { allow: ['bench__time'] } }] };
  }
  writeFileSync(path, `// written by bench/run.ts\n${JSON.stringify(config, null, 2)}\n`);
  return path;
}

interface Gateway {
  child: ChildProcess;
  url: string;
  readyMs: number;
  /** Process start → the first chat completion answered (sent right after /ready said 200). */
  firstCompletionMs: number;
  stderr(): string;
}

async function startGateway(configPath: string, options: { cpuProfDir?: string } = {}): Promise<Gateway> {
  const port = await freePort();
  const stateDir = tempDir('openclaw-bench-state-');
  // BENCH_GATEWAY_NODE_ARGS: extra node flags for the gateway only (e.g. --max-semi-space-size=8).
  const extraArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const nodeArgs = [...extraArgs, ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [])];
  let stderr = '';
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'openclaw.js'), 'gateway', '--config', configPath, '--port', String(port), '--bind', '127.0.0.1'], {
      // Logs (one JSON line per request) go nowhere: the gateway still formats them, as in production.
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: undefined, OPENCLAW_GATEWAY_TOKEN: undefined },
    }),
  );
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-8_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${stderr}`);
    if (performance.now() > deadline) throw new Error(`gateway not ready within 15 s:\n${stderr}`);
    const status = await probe(`${url}/ready`);
    if (status === 200) break;
    await sleep(2);
  }
  const readyMs = performance.now() - started;
  // The gateway loads what the API needs (validator, SDK) in the background after it listens, so
  // the first completion is the other half of "how soon can it serve".
  const first = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: requestBody('openclaw', false) });
  await first.text();
  if (first.status !== 200) throw new Error(`gateway's first completion: HTTP ${first.status}`);
  return { child, url, readyMs, firstCompletionMs: performance.now() - started, stderr: () => stderr };
}

function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function procStatus(pid: number | undefined): { rssMB: number; hwmMB: number } {
  if (!pid) return { rssMB: NaN, hwmMB: NaN };
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMB: NaN, hwmMB: NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// Load: autocannon for requests/s and latency; our own loop for chunk timing.

type Target = 'gateway' | 'direct' | 'floor';
interface Endpoint {
  target: Target;
  url: string;
  headers: Record<string, string>;
  model: string;
}

function requestBody(model: string, stream: boolean, user?: string): string {
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: 'Say something short.' }],
    ...(stream ? { stream: true } : {}),
    ...(user ? { user } : {}),
  });
}

let runSerial = 0;

interface CannonResult {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function cannon(endpoint: Endpoint, stream: boolean, stateful: boolean, connections: number, durationSec: number): Promise<CannonResult> {
  const serial = ++runSerial;
  let clientIndex = 0;
  const result = await autocannon({
    url: `${endpoint.url}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...endpoint.headers },
    body: requestBody(endpoint.model, stream),
    connections,
    duration: durationSec,
    timeout: 10,
    // A distinct `user` per connection: each connection is one session, its turns strictly sequential.
    setupClient: stateful ? (client) => client.setBody(requestBody(endpoint.model, stream, `bench-${serial}-${clientIndex++}`)) : undefined,
  });
  return {
    rps: result['2xx'] / (result.duration || durationSec),
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    requests: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

interface TimingResult {
  requests: number;
  failures: number;
  /** Upstream wrote its first content chunk → the client had it (both clocks on this machine). */
  relayP50: number;
  relayP99: number;
  firstChunkP50: number;
  firstChunkP99: number;
  firstContentP50: number;
  firstContentP99: number;
  doneP50: number;
  doneP99: number;
}

/** `connections` workers, each sending streaming requests one after another on a keep-alive socket. */
async function streamTiming(endpoint: Endpoint, stateful: boolean, connections: number, durationMs: number, maxRequests: number): Promise<TimingResult> {
  const serial = ++runSerial;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const firstChunk: number[] = [];
  const firstContent: number[] = [];
  const relay: number[] = [];
  const done: number[] = [];
  let failures = 0;
  let sent = 0;
  const stopAt = performance.now() + durationMs;
  const one = (body: string) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      let chunkAt = 0;
      let contentAt = 0;
      let tail = '';
      let finished = false;
      const finish = (ok: boolean) => {
        if (finished) return;
        finished = true;
        if (ok && chunkAt && contentAt) {
          firstChunk.push(chunkAt - started);
          firstContent.push(contentAt - started);
          done.push(performance.now() - started);
        } else failures++;
        resolve();
      };
      const req = request(
        `${endpoint.url}/v1/chat/completions`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...endpoint.headers }, timeout: 10_000 },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            res.resume();
            return finish(false);
          }
          res.setEncoding('utf8');
          res.on('data', (text: string) => {
            const now = performance.now();
            if (!chunkAt && text.includes('data: ')) chunkAt = now;
            if (!contentAt && /"content":"[^"]/.test(text)) {
              // The first non-empty `content` delta (the role chunk carries an empty one, which may
              // arrive in the same read).
              contentAt = now;
              const stamp = /"content":"@(\d+\.\d+) /.exec(text);
              if (stamp) relay.push(performance.timeOrigin + now - Number(stamp[1]));
            }
            tail = (tail + text).slice(-64);
            if (tail.includes('data: [DONE]')) {
              if (!chunkAt) chunkAt = now;
              finish(true);
            }
          });
          res.on('end', () => finish(tail.includes('data: [DONE]')));
          res.on('error', () => finish(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => finish(false));
      req.end(body);
    });
  const worker = async (index: number) => {
    const body = requestBody(endpoint.model, true, stateful ? `bench-t${serial}-${index}` : undefined);
    while (performance.now() < stopAt && sent < maxRequests) {
      sent++;
      await one(body);
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, index) => worker(index)));
  agent.destroy();
  return {
    requests: done.length,
    failures,
    firstChunkP50: percentile(firstChunk, 50),
    firstChunkP99: percentile(firstChunk, 99),
    firstContentP50: percentile(firstContent, 50),
    firstContentP99: percentile(firstContent, 99),
    relayP50: percentile(relay, 50),
    relayP99: percentile(relay, 99),
    doneP50: percentile(done, 50),
    doneP99: percentile(done, 99),
  };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Opens `count` streams that the upstream (in hold mode) keeps open; resolves once all are held upstream. */
async function openIdleStreams(endpoint: Endpoint, upstream: Upstream, count: number): Promise<{ close(): void; opened: number }> {
  const requests: ReturnType<typeof request>[] = [];
  const body = requestBody(endpoint.model, true);
  let opened = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const req = request(
        `${endpoint.url}/v1/chat/completions`,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...endpoint.headers } },
        (res) => {
          res.once('data', () => {
            opened++;
            resolve();
          });
          res.on('end', resolve);
          res.on('error', resolve);
        },
      );
      req.on('error', () => resolve());
      req.setTimeout(15_000, () => resolve());
      req.end(body);
      requests.push(req);
    });
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, openOne));
  // The gateway answers with its role chunk before it reaches the upstream: wait until the upstream holds them.
  const deadline = Date.now() + 20_000;
  while ((await upstream.stats()).held < count && Date.now() < deadline) await sleep(50);
  return {
    opened,
    close() {
      for (const req of requests) req.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The run.

const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
/** Ratio gateway ÷ direct; `n/a` when direct is 0 (e.g. autocannon's whole-ms latency below 1 ms). */
const ratio = (gateway: number, direct: number) => (direct > 0 && Number.isFinite(gateway) ? `${(gateway / direct).toFixed(2)}×` : 'n/a');

interface Cell {
  kind: 'non-stream' | 'stream';
  state: 'stateless' | 'stateful';
  connections: number;
  gateway: CannonResult;
  direct: CannonResult;
  timing?: { gateway: TimingResult; direct: TimingResult; floor?: TimingResult };
  /** The pass-through floor proxy (bench/floor-proxy.ts), stateless cells only. */
  floor?: CannonResult;
}

/** bench/floor-proxy.ts in its own process, in front of the upstream. */
async function startFloorProxy(upstreamUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = track(spawn(process.execPath, [join(ROOT, 'bench', 'floor-proxy.ts'), '--upstream', upstreamUrl], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('floor proxy did not start within 10 s')), 10_000);
    child.stdout!.once('data', (data: Buffer) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString().split('\n')[0]).port);
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function main() {
  const deadline = setTimeout(() => {
    process.stderr.write(`bench: hard deadline of ${PLAN.deadlineMs / 1000} s passed, stopping\n`);
    void cleanup().finally(() => process.exit(124));
  }, PLAN.deadlineMs);
  deadline.unref();
  const startedAt = new Date();
  const t0 = performance.now();
  mkdirSync(RESULTS, { recursive: true });
  const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

  const upstream = await startUpstream();
  const dir = tempDir('openclaw-bench-');
  const configPath = writeGatewayConfig(dir, upstream.url, { store: await sessionStoreConfig() });
  log(`session store: ${STORE}`);
  const direct: Endpoint = { target: 'direct', url: upstream.url, headers: { authorization: 'Bearer bench' }, model: 'bench' };

  if (PROFILE) return profileRun(upstream, configPath, direct, log);
  if (FIRST_CHUNK) return firstChunkRun(upstream, configPath, direct, log);
  if (RESPONSES_CPU) return responsesCpuRun(upstream, configPath, log);
  if (TOOL_STEP) {
    const toolStep = await toolStepCell(upstream, dir, direct, log, 5);
    await stopChild(upstream.child);
    process.stdout.write(toolStepMarkdown(toolStep));
    return;
  }

  // Time to /ready: a few cold starts, then the one we keep.
  const readyMs: number[] = [];
  const firstCompletionMs: number[] = [];
  for (let i = 0; i < PLAN.readyStarts; i++) {
    const gw = await startGateway(configPath);
    readyMs.push(gw.readyMs);
    firstCompletionMs.push(gw.firstCompletionMs);
    await stopChild(gw.child);
  }
  const gw = await startGateway(configPath);
  readyMs.push(gw.readyMs);
  firstCompletionMs.push(gw.firstCompletionMs);
  log(`gateway ready in ${readyMs.map((ms) => ms.toFixed(0)).join(', ')} ms; upstream ${upstream.url}`);
  const gateway: Endpoint = { target: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw' };
  const rssIdle = procStatus(gw.child.pid);
  const floorProxy = IDLE_ONLY ? undefined : await startFloorProxy(upstream.url);
  const floor: Endpoint = { target: 'floor', url: floorProxy?.url ?? '', headers: {}, model: 'bench' };

  // Sanity: both answer, streaming and not.
  for (const endpoint of [gateway, direct]) {
    for (const stream of [false, true]) {
      const res = await fetch(`${endpoint.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...endpoint.headers }, body: requestBody(endpoint.model, stream) });
      const text = await res.text();
      if (res.status !== 200 || (stream && !text.includes('[DONE]'))) throw new Error(`${endpoint.target} ${stream ? 'stream' : 'non-stream'}: HTTP ${res.status} ${text.slice(0, 300)}`);
    }
  }

  const cells: Cell[] = [];
  if (!IDLE_ONLY) {
    log(`warm-up ${PLAN.warmupSec}s each`);
    await cannon(gateway, false, false, 16, PLAN.warmupSec);
    await cannon(gateway, true, false, 16, PLAN.warmupSec);
    await cannon(direct, false, false, 16, PLAN.warmupSec);
  }
  for (const kind of IDLE_ONLY ? [] : (['non-stream', 'stream'] as const)) {
    for (const state of ['stateless', 'stateful'] as const) {
      for (const connections of state === 'stateless' ? PLAN.connections : PLAN.statefulConnections) {
        const stream = kind === 'stream';
        const stateful = state === 'stateful';
        const g = await cannon(gateway, stream, stateful, connections, PLAN.durationSec);
        const d = await cannon(direct, stream, stateful, connections, PLAN.durationSec);
        const cell: Cell = { kind, state, connections, gateway: g, direct: d };
        if (!stateful) cell.floor = await cannon(floor, stream, false, connections, PLAN.durationSec);
        if (stream) {
          const tg = await streamTiming(gateway, stateful, connections, PLAN.timingMs, PLAN.timingMaxRequests);
          const td = await streamTiming(direct, stateful, connections, PLAN.timingMs, PLAN.timingMaxRequests);
          cell.timing = { gateway: tg, direct: td };
          if (!stateful) cell.timing.floor = await streamTiming(floor, false, connections, PLAN.timingMs, PLAN.timingMaxRequests);
        }
        cells.push(cell);
        log(`${kind} ${state} c=${connections}: gateway ${fmt(g.rps, 0)} req/s, direct ${fmt(d.rps, 0)} req/s (${ratio(g.rps, d.rps)})${g.non2xx + g.errors + d.non2xx + d.errors ? ` non2xx/errors g=${g.non2xx}/${g.errors} d=${d.non2xx}/${d.errors}` : ''}`);
      }
    }
  }
  const responsesCpu = IDLE_ONLY ? undefined : await responsesCpuCells(gateway, gw.child.pid!, log);
  const afterLoad = procStatus(gw.child.pid);
  if (floorProxy) await stopChild(floorProxy.child);
  await stopChild(gw.child);

  // Idle streams, on a fresh gateway (so the heap grown by the load cells does not hide them): the
  // upstream holds every stream open after its role chunk.
  const fresh = await startGateway(configPath);
  const idleGateway: Endpoint = { ...gateway, url: fresh.url };
  log(`opening ${PLAN.idleStreams} idle streams through a fresh gateway`);
  await upstream.configure({ mode: 'hold' });
  await sleep(500);
  const baseline = procStatus(fresh.child.pid);
  const idle = await openIdleStreams(idleGateway, upstream, PLAN.idleStreams);
  await sleep(500);
  const heldViaGateway = (await upstream.stats()).held;
  const withIdle = procStatus(fresh.child.pid);
  idle.close();
  let remaining = heldViaGateway;
  for (const until = Date.now() + 10_000; Date.now() < until; await sleep(50)) {
    remaining = (await upstream.stats()).held;
    if (remaining === 0) break;
  }
  // The same number held directly, for the upstream's own footprint.
  const upBaseline = procStatus(upstream.child.pid);
  const idleDirect = await openIdleStreams(direct, upstream, PLAN.idleStreams);
  await sleep(500);
  const upWithIdle = procStatus(upstream.child.pid);
  idleDirect.close();
  for (const until = Date.now() + 10_000; Date.now() < until && (await upstream.stats()).held > 0; ) await sleep(50);
  await upstream.configure({ mode: 'normal' });
  const finalStatus = procStatus(fresh.child.pid);

  const stopCode = await stopChild(fresh.child);
  const toolStep = await toolStepCell(upstream, dir, direct, log, QUICK ? 2 : 5);
  await stopChild(upstream.child);
  const totalSec = (performance.now() - t0) / 1000;

  const idleResult = {
    streams: PLAN.idleStreams,
    openedThroughGateway: idle.opened,
    heldUpstream: heldViaGateway,
    gatewayRssBeforeMB: baseline.rssMB,
    gatewayRssWithStreamsMB: withIdle.rssMB,
    perStreamKB: ((withIdle.rssMB - baseline.rssMB) * 1024) / Math.max(1, idle.opened), // per client stream
    stillHeldUpstream10sAfterClientsClosed: remaining,
    upstreamRssBeforeMB: upBaseline.rssMB,
    upstreamRssWithDirectStreamsMB: upWithIdle.rssMB,
  };
  const report = {
    date: startedAt.toISOString(),
    mode: QUICK ? 'quick' : 'full',
    command: `${process.env.BENCH_GATEWAY_NODE_ARGS ? `BENCH_GATEWAY_NODE_ARGS='${process.env.BENCH_GATEWAY_NODE_ARGS}' ` : ''}node bench/run.ts${QUICK ? ' --quick' : ''}${STORE === 'sqlite' ? '' : ` --store ${STORE}`}`,
    store: STORE,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, platform: `${process.platform} ${process.arch}` },
    plan: PLAN,
    upstream: { latencyMs: 0, chunks: 8, chunkDelayMs: 0 },
    readyMs: { runs: readyMs, median: percentile(readyMs, 50) },
    firstCompletionMs: { runs: firstCompletionMs, median: percentile(firstCompletionMs, 50) },
    rss: { afterReadyMB: rssIdle.rssMB, peakAfterLoadMB: afterLoad.hwmMB, idleGatewayPeakMB: finalStatus.hwmMB },
    idle: idleResult,
    cells,
    responsesCpu,
    toolStep,
    gatewayExitCode: stopCode,
    totalSeconds: totalSec,
  };
  const file = join(RESULTS, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}${QUICK ? '-quick' : ''}${STORE === 'sqlite' ? '' : `-${STORE}`}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(markdown(report, cells));
  process.stdout.write(toolStepMarkdown(toolStep));
  process.stdout.write(`\nJSON: ${file.slice(ROOT.length + 1)} (total ${totalSec.toFixed(0)} s)\n`);
}

function markdown(report: any, cells: Cell[]): string {
  const lines: string[] = [];
  lines.push(`## openclaw gateway vs direct upstream (${report.mode}${QUICK ? `: ${PLAN.durationSec}s cells, connections ${PLAN.connections.join('/')}, ${PLAN.idleStreams} idle streams instead of 1,000` : ''})`);
  lines.push('');
  lines.push(`${report.date} · ${report.machine.cores} cores (${report.machine.cpu}) · Node ${report.machine.node} · upstream: 8 chunks, no latency · ${PLAN.durationSec}s per cell · sessions in ${report.store}`);
  lines.push('');
  lines.push('### Throughput and latency (autocannon; latency in whole ms)');
  lines.push('');
  lines.push('| request | state | conns | gateway req/s | direct req/s | ratio | gateway p50 / p99 ms | direct p50 / p99 ms | p50 ratio | p99 ratio |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cells) {
    const bad = c.gateway.non2xx + c.gateway.errors + c.gateway.timeouts;
    lines.push(
      `| ${c.kind} | ${c.state} | ${c.connections} | ${fmt(c.gateway.rps, 0)}${bad ? ` (${bad} failed)` : ''} | ${fmt(c.direct.rps, 0)} | ${ratio(c.gateway.rps, c.direct.rps)} | ${c.gateway.p50} / ${c.gateway.p99} | ${c.direct.p50} / ${c.direct.p99} | ${ratio(c.gateway.p50, c.direct.p50)} | ${ratio(c.gateway.p99, c.direct.p99)} |`,
    );
  }
  lines.push('');
  lines.push('### The floor: a pass-through Node proxy (bench/floor-proxy.ts), stateless cells');
  lines.push('');
  lines.push('What one more Node HTTP hop costs with nothing in it (no auth, validation, parsing, session or SDK). Its ratio to direct is the best any Node gateway could show on this machine; gateway ÷ floor is the cost of the gateway itself.');
  lines.push('');
  lines.push('| request | conns | floor req/s | floor ÷ direct | gateway ÷ floor | first chunk p50 floor (added to direct) |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const c of cells) {
    if (!c.floor) continue;
    const tf = c.timing?.floor;
    const added = tf && c.timing ? `${fmt(tf.firstChunkP50, 3)} (+${fmt(tf.firstChunkP50 - c.timing.direct.firstChunkP50, 3)})` : '–';
    lines.push(`| ${c.kind} | ${c.connections} | ${fmt(c.floor.rps, 0)} | ${ratio(c.floor.rps, c.direct.rps)} | ${ratio(c.gateway.rps, c.floor.rps)} | ${added} |`);
  }
  lines.push('');
  lines.push('### Streaming chunk timing (own client loop, ms)');
  lines.push('');
  lines.push('| state | conns | first chunk p50 g / d (added) | first content p50 g / d (added) | first content p99 g / d | relay of the first content p50 g / d (added) | [DONE] p50 g / d (ratio) | [DONE] p99 g / d (ratio) | requests g / d |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cells) {
    if (!c.timing) continue;
    const g = c.timing.gateway;
    const d = c.timing.direct;
    lines.push(
      `| ${c.state} | ${c.connections} | ${fmt(g.firstChunkP50, 3)} / ${fmt(d.firstChunkP50, 3)} (+${fmt(g.firstChunkP50 - d.firstChunkP50, 3)}) | ${fmt(g.firstContentP50, 3)} / ${fmt(d.firstContentP50, 3)} (+${fmt(g.firstContentP50 - d.firstContentP50, 3)}) | ${fmt(g.firstContentP99)} / ${fmt(d.firstContentP99)} | ${fmt(g.relayP50, 3)} / ${fmt(d.relayP50, 3)} (+${fmt(g.relayP50 - d.relayP50, 3)}) | ${fmt(g.doneP50, 3)} / ${fmt(d.doneP50, 3)} (${ratio(g.doneP50, d.doneP50)}) | ${fmt(g.doneP99)} / ${fmt(d.doneP99)} (${ratio(g.doneP99, d.doneP99)}) | ${g.requests}${g.failures ? ` (${g.failures} failed)` : ''} / ${d.requests}${d.failures ? ` (${d.failures} failed)` : ''} |`,
    );
  }
  if (report.responsesCpu) lines.push('', ...responsesCpuMarkdown(report.responsesCpu));
  const idle = report.idle;
  lines.push('');
  lines.push('### Process');
  lines.push('');
  lines.push('| figure | value |');
  lines.push('|---|---:|');
  lines.push(`| start → /ready 200 (median of ${report.readyMs.runs.length}) | ${fmt(report.readyMs.median, 0)} ms (runs: ${report.readyMs.runs.map((ms: number) => ms.toFixed(0)).join(', ')}) |`);
  lines.push(`| start → first chat completion answered (same starts) | ${fmt(report.firstCompletionMs.median, 0)} ms (runs: ${report.firstCompletionMs.runs.map((ms: number) => ms.toFixed(0)).join(', ')}) |`);
  lines.push(`| gateway RSS after ready | ${fmt(report.rss.afterReadyMB, 1)} MB |`);
  lines.push(`| gateway peak RSS (VmHWM) after the load cells | ${fmt(report.rss.peakAfterLoadMB, 1)} MB |`);
  lines.push(`| fresh gateway: RSS with ${idle.streams} idle streams open (before: ${fmt(idle.gatewayRssBeforeMB, 1)} MB) | ${fmt(idle.gatewayRssWithStreamsMB, 1)} MB (${fmt(idle.perStreamKB, 1)} KB/stream; ${idle.heldUpstream}/${idle.streams} held upstream) |`);
  lines.push(`| upstream RSS with ${idle.streams} idle streams held directly (before: ${fmt(idle.upstreamRssBeforeMB, 1)} MB) | ${fmt(idle.upstreamRssWithDirectStreamsMB, 1)} MB |`);
  lines.push(`| upstream streams still open 10 s after the gateway's clients closed | ${idle.stillHeldUpstream10sAfterClientsClosed} |`);
  lines.push(`| fresh gateway: peak RSS (VmHWM) during the idle-streams figure | ${fmt(report.rss.idleGatewayPeakMB, 1)} MB |`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Gateway CPU per request: /v1/responses against /v1/chat/completions, the same run on the same
// upstream. The gateway's own CPU time (utime + stime from /proc) over a cell, divided by the
// requests it answered; cells alternate between the two endpoints, and each figure is the median
// of its rounds, so machine noise hits both alike.

/** The gateway process's CPU time so far, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

interface CpuPair {
  state: 'stateless' | 'stored';
  /** What each side sends. */
  chat: string;
  responses: string;
  chatUsPerRequest: number[];
  responsesUsPerRequest: number[];
  chatRequests: number;
  responsesRequests: number;
}

async function cpuCell(endpoint: Endpoint, pid: number, path: string, body: (client: number) => string, connections: number, durationSec: number): Promise<{ requests: number; usPerRequest: number }> {
  let client = 0;
  const before = cpuMs(pid);
  const result = await autocannon({
    url: `${endpoint.url}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...endpoint.headers },
    body: body(0),
    connections,
    duration: durationSec,
    timeout: 10,
    setupClient: (c) => c.setBody(body(client++)),
  });
  const spent = cpuMs(pid) - before;
  const requests = result['2xx'];
  if (result.non2xx + result.errors > 0) throw new Error(`${path}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { requests, usPerRequest: requests > 0 ? (spent * 1000) / requests : NaN };
}

async function responsesCpuCells(gateway: Endpoint, pid: number, log: (line: string) => void): Promise<CpuPair[]> {
  const rounds = QUICK ? 2 : 4;
  // Quick mode keeps within its deadline on a busy machine: 1 s cells.
  const durationSec = QUICK ? 1 : 4;
  const connections = 16;
  const prompt = 'Say something short.';
  const serial = ++runSerial;
  const pairs: Array<Omit<CpuPair, 'chatUsPerRequest' | 'responsesUsPerRequest' | 'chatRequests' | 'responsesRequests'> & { chatBody: (c: number) => string; responsesBody: (c: number) => string }> = [
    {
      state: 'stateless',
      chat: 'no `user`: nothing stored',
      responses: '`store: false`: nothing stored',
      chatBody: () => JSON.stringify({ model: gateway.model, messages: [{ role: 'user', content: prompt }] }),
      responsesBody: () => JSON.stringify({ model: gateway.model, input: prompt, store: false }),
    },
    {
      state: 'stored',
      chat: '`user` per connection: a session, a turn stored per request',
      responses: '`user` per connection: the same, plus the stored response in the same write',
      chatBody: (c) => JSON.stringify({ model: gateway.model, messages: [{ role: 'user', content: prompt }], user: `cpu-chat-${serial}-${c}` }),
      responsesBody: (c) => JSON.stringify({ model: gateway.model, input: prompt, user: `cpu-resp-${serial}-${c}` }),
    },
  ];
  // Warm both routes (validator compile, first writes) before anything is counted.
  for (const pair of pairs) {
    await cpuCell(gateway, pid, '/v1/chat/completions', pair.chatBody, connections, 1);
    await cpuCell(gateway, pid, '/v1/responses', pair.responsesBody, connections, 1);
  }
  const out: CpuPair[] = [];
  for (const { chatBody, responsesBody, ...pair } of pairs) {
    const result: CpuPair = { ...pair, chatUsPerRequest: [], responsesUsPerRequest: [], chatRequests: 0, responsesRequests: 0 };
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so neither always follows the other's garbage.
      const order = round % 2 === 0 ? (['chat', 'responses'] as const) : (['responses', 'chat'] as const);
      for (const side of order) {
        const cell = side === 'chat' ? await cpuCell(gateway, pid, '/v1/chat/completions', chatBody, connections, durationSec) : await cpuCell(gateway, pid, '/v1/responses', responsesBody, connections, durationSec);
        if (side === 'chat') {
          result.chatUsPerRequest.push(cell.usPerRequest);
          result.chatRequests += cell.requests;
        } else {
          result.responsesUsPerRequest.push(cell.usPerRequest);
          result.responsesRequests += cell.requests;
        }
      }
    }
    const chat = percentile(result.chatUsPerRequest, 50);
    const responses = percentile(result.responsesUsPerRequest, 50);
    log(`gateway CPU per request, ${pair.state}: chat ${fmt(chat, 0)} µs, responses ${fmt(responses, 0)} µs (${ratio(responses, chat)})`);
    out.push(result);
  }
  return out;
}

function responsesCpuMarkdown(pairs: CpuPair[]): string[] {
  const lines = [
    '### Gateway CPU per non-streaming request: /v1/responses vs /v1/chat/completions',
    '',
    `Same upstream and run; the gateway's utime + stime over each cell ÷ the requests it answered, 16 connections, cells alternating; median of ${pairs[0]?.chatUsPerRequest.length ?? 0} rounds (each round's figure in brackets).`,
    '',
    '| state | chat completions µs/request | responses µs/request | responses ÷ chat | requests chat / responses |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const pair of pairs) {
    const chat = percentile(pair.chatUsPerRequest, 50);
    const responses = percentile(pair.responsesUsPerRequest, 50);
    const rounds = (values: number[]) => values.map((value) => fmt(value, 0)).join(', ');
    lines.push(`| ${pair.state}: ${pair.chat} / ${pair.responses} | ${fmt(chat, 0)} [${rounds(pair.chatUsPerRequest)}] | ${fmt(responses, 0)} [${rounds(pair.responsesUsPerRequest)}] | ${ratio(responses, chat)} | ${pair.chatRequests} / ${pair.responsesRequests} |`);
  }
  return lines;
}

async function responsesCpuRun(upstream: Upstream, configPath: string, log: (line: string) => void) {
  const gw = await startGateway(configPath);
  const gateway: Endpoint = { target: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw' };
  const pairs = await responsesCpuCells(gateway, gw.child.pid!, log);
  await stopChild(gw.child);
  await stopChild(upstream.child);
  const startedAt = new Date();
  const file = join(RESULTS, `responses-cpu-${startedAt.toISOString().replace(/[:.]/g, '-')}${QUICK ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({ date: startedAt.toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version }, pairs }, null, 2)}\n`);
  process.stdout.write(`${responsesCpuMarkdown(pairs).join('\n')}\n\nJSON: ${file.slice(ROOT.length + 1)}\n`);
}

// ---------------------------------------------------------------------------------------------
// The tool-step cell: a run with one server tool step whose tool answers at once, against the two
// upstream calls it makes, sent directly one after the other. One connection, non-streaming,
// gateway and direct interleaved in rounds; the plain one-call run beside it, for the gateway's
// cost per request without a tool step.

interface ToolStepResult {
  rounds: number;
  msPerRound: number;
  /** Per round: p50 ms of each measure. */
  gatewayTool: number[];
  directTwoCalls: number[];
  gatewayPlain: number[];
  directOneCall: number[];
  requests: { gatewayTool: number; directTwoCalls: number; gatewayPlain: number; directOneCall: number };
}

function postJson(agent: Agent, url: string, headers: Record<string, string>, body: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers } }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${raw.slice(0, 300)}`));
        resolve(JSON.parse(raw));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** p50 (ms) of `send` repeated for `durationMs` on one keep-alive connection. */
async function timed(durationMs: number, send: () => Promise<void>): Promise<{ p50: number; requests: number }> {
  const times: number[] = [];
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    const started = performance.now();
    await send();
    times.push(performance.now() - started);
  }
  return { p50: percentile(times, 50), requests: times.length };
}

async function toolStepCell(upstream: Upstream, dir: string, direct: Endpoint, log: (line: string) => void, rounds: number): Promise<ToolStepResult> {
  const gw = await startGateway(writeGatewayConfig(dir, upstream.url, { tools: true }));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const user = { role: 'user', content: 'What time is it?' };
  const tool = { type: 'function', function: { name: 'bench__time', parameters: { type: 'object', properties: {} } } };
  const gatewayHeaders = { authorization: `Bearer ${TOKEN}` };
  const gatewayTool = async () => {
    const reply = await postJson(agent, `${gw.url}/v1/chat/completions`, gatewayHeaders, { model: 'openclaw/tools', messages: [user] });
    if (typeof reply.choices[0].message.content !== 'string') throw new Error(`the tool run answered ${JSON.stringify(reply).slice(0, 300)}`);
  };
  const directTwo = async () => {
    const first = await postJson(agent, `${upstream.url}/v1/chat/completions`, direct.headers, { model: 'bench', messages: [user], tools: [tool] });
    const call = first.choices[0].message.tool_calls[0];
    await postJson(agent, `${upstream.url}/v1/chat/completions`, direct.headers, { model: 'bench', tools: [tool], messages: [user, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'Monday 1 January 2024 at 12:00:00 UTC' }] });
  };
  const gatewayPlain = () => postJson(agent, `${gw.url}/v1/chat/completions`, gatewayHeaders, { model: 'openclaw', messages: [user] }).then(() => undefined);
  const directOne = () => postJson(agent, `${upstream.url}/v1/chat/completions`, direct.headers, { model: 'bench', messages: [user] }).then(() => undefined);
  // The tool server connects in the background: the first tool run must see the tool.
  for (let i = 0; ; i++) {
    const reply = await postJson(agent, `${gw.url}/v1/chat/completions`, gatewayHeaders, { model: 'openclaw/tools', messages: [user] }).catch(() => undefined);
    if (reply?.usage?.total_tokens > 20) break;
    if (i > 500) throw new Error(`the bench tool server did not come up:\n${gw.stderr()}`);
    await sleep(20);
  }
  const msPerRound = 2_000;
  await timed(500, gatewayTool);
  await timed(500, directTwo);
  const result: ToolStepResult = { rounds, msPerRound, gatewayTool: [], directTwoCalls: [], gatewayPlain: [], directOneCall: [], requests: { gatewayTool: 0, directTwoCalls: 0, gatewayPlain: 0, directOneCall: 0 } };
  for (let round = 1; round <= rounds; round++) {
    const g = await timed(msPerRound, gatewayTool);
    const d = await timed(msPerRound, directTwo);
    const gp = await timed(msPerRound / 2, gatewayPlain);
    const dp = await timed(msPerRound / 2, directOne);
    result.gatewayTool.push(g.p50);
    result.directTwoCalls.push(d.p50);
    result.gatewayPlain.push(gp.p50);
    result.directOneCall.push(dp.p50);
    result.requests.gatewayTool += g.requests;
    result.requests.directTwoCalls += d.requests;
    result.requests.gatewayPlain += gp.requests;
    result.requests.directOneCall += dp.requests;
    log(`tool step round ${round}: gateway ${fmt(g.p50, 3)} ms vs two direct calls ${fmt(d.p50, 3)} ms (+${fmt(g.p50 - d.p50, 3)}); plain run +${fmt(gp.p50 - dp.p50, 3)}`);
  }
  agent.destroy();
  await stopChild(gw.child);
  return result;
}

function toolStepMarkdown(result: ToolStepResult): string {
  const median = (values: number[]) => percentile(values, 50);
  const g = median(result.gatewayTool);
  const d = median(result.directTwoCalls);
  const gp = median(result.gatewayPlain);
  const dp = median(result.directOneCall);
  const lines = [
    '',
    `### One tool step (1 connection, non-streaming; median of ${result.rounds} rounds of p50, ms)`,
    '',
    'A run whose model calls one server tool (the demo MCP server over stdio; its `time` tool answers at once), then answers from its result: two upstream calls. Against it, the same two upstream calls sent directly one after the other. The plain row is one-call runs, for what the gateway adds to any request.',
    '',
    '| measure | gateway | direct | added |',
    '|---|---:|---:|---:|',
    `| run with one tool step vs two direct calls | ${fmt(g, 3)} | ${fmt(d, 3)} | +${fmt(g - d, 3)} |`,
    `| plain run vs one direct call | ${fmt(gp, 3)} | ${fmt(dp, 3)} | +${fmt(gp - dp, 3)} |`,
    `| requests measured (tool / two calls / plain / one call) | ${result.requests.gatewayTool} / ${result.requests.directTwoCalls} / ${result.requests.gatewayPlain} / ${result.requests.directOneCall} | | |`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// --profile: one CPU profile per workload, summarised.

async function firstChunkRun(upstream: Upstream, configPath: string, direct: Endpoint, log: (line: string) => void) {
  const gw = await startGateway(configPath);
  const gateway: Endpoint = { target: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw' };
  await streamTiming(gateway, false, 1, 2_000, 20_000);
  const rows: string[] = ['| round | first chunk p50 g / d (added) | first content p50 g / d (added) | relay of the first content p50 g / d (added) | [DONE] p50 g / d |', '|---:|---:|---:|---:|---:|'];
  for (let round = 1; round <= 5; round++) {
    const g = await streamTiming(gateway, false, 1, 2_000, 20_000);
    const d = await streamTiming(direct, false, 1, 2_000, 20_000);
    const cells = [
      `${fmt(g.firstChunkP50, 3)} / ${fmt(d.firstChunkP50, 3)} (+${fmt(g.firstChunkP50 - d.firstChunkP50, 3)})`,
      `${fmt(g.firstContentP50, 3)} / ${fmt(d.firstContentP50, 3)} (+${fmt(g.firstContentP50 - d.firstContentP50, 3)})`,
      `${fmt(g.relayP50, 3)} / ${fmt(d.relayP50, 3)} (+${fmt(g.relayP50 - d.relayP50, 3)})`,
      `${fmt(g.doneP50, 3)} / ${fmt(d.doneP50, 3)}`,
    ];
    rows.push(`| ${round} | ${cells.join(' | ')} |`);
    log(`round ${round}: ${cells.join('; ')}`);
  }
  await stopChild(gw.child);
  await stopChild(upstream.child);
  process.stdout.write(`## first chunk at 1 connection (ms, p50 over 2 s per cell)\n\n${rows.join('\n')}\n`);
}

async function profileRun(upstream: Upstream, configPath: string, direct: Endpoint, log: (line: string) => void) {
  const outDir = join(RESULTS, 'profiles');
  mkdirSync(outDir, { recursive: true });
  const durationSec = QUICK ? 3 : 10;
  const summaries: string[] = [];
  for (const stream of [false, true]) {
    const name = stream ? 'stream' : 'non-stream';
    const profDir = tempDir('openclaw-bench-prof-');
    const gw = await startGateway(configPath, { cpuProfDir: profDir });
    const gateway: Endpoint = { target: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw' };
    const warmStart = performance.now();
    await cannon(gateway, stream, false, 16, 1);
    const warmupMs = performance.now() - warmStart;
    const result = await cannon(gateway, stream, false, 16, durationSec);
    const d = await cannon(direct, stream, false, 16, Math.min(3, durationSec));
    log(`profile ${name}: gateway ${fmt(result.rps, 0)} req/s (direct ${fmt(d.rps, 0)}) over ${durationSec}s at 16 connections`);
    const code = await stopChild(gw.child, 'SIGTERM', 10_000);
    const files = readdirSync(profDir).filter((file) => file.endsWith('.cpuprofile'));
    if (files.length === 0) {
      log(`no .cpuprofile written (gateway exit ${code}); it must exit normally for --cpu-prof to write one`);
      continue;
    }
    const target = join(outDir, `gateway-${name}-16c.cpuprofile`);
    writeFileSync(target, readFileSync(join(profDir, files[0])));
    // Leave out start-up and the 1 s warm-up: only the measured load is summarised.
    const summary = summariseProfile(JSON.parse(readFileSync(target, 'utf8')), ROOT, { skipMs: gw.readyMs + warmupMs + 200 });
    summaries.push(`## ${name}, 16 connections, ${durationSec}s (${fmt(result.rps, 0)} req/s; ${result.requests} requests)\n\n${formatProfileSummary(summary, result.requests)}`);
    writeFileSync(join(outDir, `gateway-${name}-16c.summary.json`), `${JSON.stringify(summary, null, 2)}\n`);
    if (!stream) {
      const startup = summariseProfile(JSON.parse(readFileSync(target, 'utf8')), ROOT, { untilMs: gw.readyMs });
      summaries.push(`## start-up (process start → /ready 200 in ${fmt(gw.readyMs, 0)} ms, same profile)\n\n${formatProfileSummary(startup)}`);
    }
  }
  await stopChild(upstream.child);
  const text = summaries.join('\n\n');
  writeFileSync(join(outDir, 'summary.md'), `${text}\n`);
  process.stdout.write(`${text}\n`);
}

main()
  .then(() => cleanup())
  .catch(async (error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
    await cleanup();
    process.exitCode = 1;
  });
