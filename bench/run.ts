// Benchmarks the gateway against the upstream it fronts, in one run: every figure is also printed as a
// ratio to the same request sent straight to the upstream, and beside two proxies with nothing in
// them (bare express 5 + undici, and bare node:http + undici), measured interleaved (gateway,
// direct, express, floor, gateway, …) so machine noise hits them alike. See bench/README.md.
//
//   node bench/run.ts            full run (≈9–11 min)
//   node bench/run.ts --quick    under a minute: shorter cells, fewer connections, fewer streams
//   node bench/run.ts --profile  CPU profiles of the gateway under load (bench/results/profiles/)
//   node bench/run.ts --responses-cpu  only the gateway CPU per request, /v1/responses vs /v1/chat/completions
//   --store postgres             sessions in PostgreSQL (a fresh database on OPENCLAW_BENCH_POSTGRES_URL,
//                                default the local server, dropped at the end) instead of SQLite
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import type { LoopDelay } from './loop-delay.ts';
import { cpuMs, openFileLimit, procStatus, treeCpuMs, treeStatus, type MemoryStatus } from './proc-stats.ts';
import { summariseProfile, formatProfileSummary } from './profile-summary.ts';
import { seededUser, seedSessions } from './seed-sessions.ts';
import { runSlowStreams, type SlowStreamsResult } from './slow-streams.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');
const TOKEN = 'bench-token-0123456789abcdef';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    /** Only start-up and the idle-streams figure (skips the load cells). */
    'idle-only': { type: 'boolean', default: false },
    /** Only the one-connection chunk timing, gateway and direct interleaved five times (≈20 s): for hot-path work. */
    'first-chunk': { type: 'boolean', default: false },
    /** Node flags to compare: a gateway with them against one without, interleaved (`--ab-node-args=--max-semi-space-size=16`). */
    'ab-node-args': { type: 'string' },
    /** Only the slow-streams cell. */
    'slow-only': { type: 'boolean', default: false },
    /** Content chunks per upstream stream in the load cells. */
    chunks: { type: 'string' },
    /** The slow-streams cell: how many, for how long, and through what (comma-separated: gateway,express,floor). */
    'slow-streams': { type: 'string' },
    'slow-seconds': { type: 'string' },
    'slow-targets': { type: 'string' },
    /** Hard cap for the whole run, in seconds (default 120 quick, 900 full). */
    deadline: { type: 'string' },
    /** Only the tool-step cell (≈20 s). */
    'tool-step': { type: 'boolean', default: false },
    /** Only the gateway CPU per non-streaming request, /v1/responses against /v1/chat/completions (≈1 min). */
    'responses-cpu': { type: 'boolean', default: false },
    /** Where the gateway keeps sessions: `sqlite` (the default) or `postgres`. */
    store: { type: 'string', default: 'sqlite' },
    /** Only the stateful cost: stateless against 20-turn CPU per request at 16 connections, interleaved, and the 10,000-turn cells, with the loop delay at 1 ms resolution (with --profile: a CPU profile of the stateful cells). */
    'stateful-only': { type: 'boolean', default: false },
    /** Rounds of the --stateful-only cells (default 3). */
    rounds: { type: 'string' },
    /** With --stateful-only: a second gateway from this checkout, every cell run on both in turn (A/B on a noisy machine). */
    against: { type: 'string' },
  },
});
const QUICK = flags.quick!;
const PROFILE = flags.profile!;
const IDLE_ONLY = flags['idle-only']!;
const FIRST_CHUNK = flags['first-chunk']!;
const AB_NODE_ARGS = flags['ab-node-args']?.split(/\s+/).filter(Boolean);
const SLOW_ONLY = flags['slow-only']!;
const TOOL_STEP = flags['tool-step']!;
const RESPONSES_CPU = flags['responses-cpu']!;
const STORE = flags.store!;
const STATEFUL_ONLY = flags['stateful-only']!;
if (STORE !== 'sqlite' && STORE !== 'postgres') throw new Error('--store must be sqlite or postgres');
const POSTGRES_ADMIN_URL = process.env.OPENCLAW_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

interface Plan {
  /** Content chunks per upstream stream in the load cells. */
  chunks: number;
  /** autocannon cells, stateless: gateway, direct, bare express, floor. */
  connections: number[];
  /** autocannon cells on 20-turn sessions: gateway and direct. */
  statefulConnections: number[];
  /** autocannon cells on 10,000-turn sessions (one per connection): gateway only. */
  longSessionConnections: number[];
  /** Chunk timing (own client loop), stateless and stateful. */
  timingConnections: number[];
  /** 1 worker vs 2 workers, stateless. */
  workerConnections: number[];
  workerKinds: Array<'non-stream' | 'stream'>;
  durationSec: number;
  timingMs: number;
  timingMaxRequests: number;
  warmupSec: number;
  /** 20-turn sessions the stateful cells rotate over (each request takes the next). */
  sessions20: number;
  longSessionTurns: number;
  idleStreams: number;
  slowStreams: number;
  slowSeconds: number;
  slowTargets: Array<'gateway' | 'express' | 'floor'>;
  readyStarts: number;
  /** Hard cap for the whole run; everything is stopped when it passes. */
  deadlineMs: number;
}

const PLAN: Plan = QUICK
  ? {
      chunks: 20,
      connections: [16],
      statefulConnections: [16],
      // One connection: the loop is idle between requests, so its delay is the transcript's own.
      longSessionConnections: [1],
      timingConnections: [1],
      workerConnections: [],
      workerKinds: [],
      durationSec: 1.5,
      timingMs: 750,
      timingMaxRequests: 5_000,
      warmupSec: 0.5,
      sessions20: 500,
      longSessionTurns: 1_000,
      idleStreams: 100,
      slowStreams: 300,
      slowSeconds: 3,
      slowTargets: ['gateway'],
      readyStarts: 0,
      deadlineMs: 120_000,
    }
  : {
      chunks: 20,
      connections: [1, 16, 64],
      statefulConnections: [1, 16, 64],
      longSessionConnections: [1, 16],
      timingConnections: [1, 16, 64],
      workerConnections: [16, 64],
      workerKinds: ['non-stream', 'stream'],
      durationSec: 4,
      timingMs: 2_500,
      timingMaxRequests: 20_000,
      warmupSec: 2,
      sessions20: 3_000,
      longSessionTurns: 10_000,
      idleStreams: 1_000,
      slowStreams: 10_000,
      slowSeconds: 30,
      slowTargets: ['gateway', 'express', 'floor'],
      readyStarts: 4,
      deadlineMs: 15 * 60_000,
    };
if (flags.chunks) PLAN.chunks = positive(flags.chunks, '--chunks');
if (flags['slow-streams']) PLAN.slowStreams = positive(flags['slow-streams'], '--slow-streams');
if (flags['slow-seconds']) PLAN.slowSeconds = positive(flags['slow-seconds'], '--slow-seconds');
if (flags['slow-targets']) PLAN.slowTargets = flags['slow-targets'].split(',') as Plan['slowTargets'];
if (flags.deadline) PLAN.deadlineMs = positive(flags.deadline, '--deadline') * 1000;
if (SLOW_ONLY && !flags.deadline) PLAN.deadlineMs = Math.max(PLAN.deadlineMs, PLAN.slowTargets.length * (PLAN.slowSeconds + 120) * 1000);

function positive(raw: string, name: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

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
// Upstream, gateway and proxy children.

interface Upstream {
  child: ChildProcess;
  url: string;
  configure(options: Record<string, unknown>): Promise<void>;
  stats(): Promise<{ requests: number; openStreams: number; held: number; gated: number }>;
  /** Starts every stream waiting in `gate` mode. */
  release(): Promise<void>;
}

async function startUpstream(options: { chunks: number; chunkDelayMs?: number }): Promise<Upstream> {
  const args = ['--chunks', String(options.chunks), '--chunk-delay-ms', String(options.chunkDelayMs ?? 0)];
  const child = track(spawn(process.execPath, [join(ROOT, 'bench', 'upstream.ts'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
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
    async configure(settings) {
      const res = await fetch(`${url}/_bench/config`, { method: 'POST', body: JSON.stringify(settings) });
      if (!res.ok) throw new Error(`upstream config: HTTP ${res.status}`);
    },
    async stats() {
      return (await fetch(`${url}/_bench/stats`)).json() as Promise<{ requests: number; openStreams: number; held: number; gated: number }>;
    },
    async release() {
      await (await fetch(`${url}/_bench/release`, { method: 'POST' })).text();
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
  const path = join(dir, `bench-${new URL(upstreamUrl).port}${options.tools ? '-tools' : ''}.json5`);
  const config: Record<string, unknown> = {
    ...(options.store ? { sessions: { store: options.store } } : {}),
    gateway: {
      bind: '127.0.0.1',
      auth: { mode: 'token', token: TOKEN },
      // Every load comes from loopback, one address: its per-address limits would refuse the idle streams.
      http: { maxConnectionsPerAddress: 0, maxConcurrentRunsPerAddress: 0, endpoints: { chatCompletions: { enabled: true }, responses: { enabled: true } } },
      // Read by the runner for the event-loop delay; the HTTP metrics are counted either way.
      metrics: { enabled: true },
    },
    models: { providers: { up: { api: 'openai-completions', baseUrl: `${upstreamUrl}/v1`, apiKey: 'bench' } } },
    agents: { defaults: { model: 'up/bench' }, list: [{ id: 'main', default: true }] },
  };
  if (options.tools) {
    // The tool-step cell's own gateway (the other figures run without a tool server): two MCP
    // servers over stdio, each with a `time` tool: bench/mcp-instant-server.ts, which answers at
    // once (agent `tools`), and the demo server on the official SDK (agent `sdk-tools`).
    config.mcp = {
      servers: {
        bench: { command: process.execPath, args: [join(ROOT, 'bench', 'mcp-instant-server.ts')] },
        demo: { command: process.execPath, args: [join(ROOT, 'examples', 'mcp-demo-server.ts')] },
      },
    };
    config.agents = {
      defaults: { model: 'up/bench' },
      list: [
        { id: 'main', default: true },
        { id: 'tools', tools: { allow: ['bench__time'] } },
        { id: 'sdk-tools', tools: { allow: ['demo__time'] } },
      ],
    };
  }
  writeFileSync(path, `// written by bench/run.ts\n${JSON.stringify(config, null, 2)}\n`);
  return path;
}

interface Gateway {
  child: ChildProcess;
  url: string;
  stateDir: string;
  readyMs: number;
  /** Process start → the first chat completion answered (sent right after /ready said 200). */
  firstCompletionMs: number;
  stderr(): string;
}

async function startGateway(configPath: string, options: { cpuProfDir?: string; workers?: number; stateDir?: string; nodeArgs?: string[]; env?: Record<string, string>; root?: string } = {}): Promise<Gateway> {
  const port = await freePort();
  const stateDir = options.stateDir ?? tempDir('openclaw-bench-state-');
  // BENCH_GATEWAY_NODE_ARGS: extra node flags for the gateway only (e.g. --max-semi-space-size=8).
  const extraArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const nodeArgs = [...extraArgs, ...(options.nodeArgs ?? []), ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [])];
  const workerArgs = options.workers ? ['--workers', String(options.workers)] : [];
  let stderr = '';
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, join(options.root ?? ROOT, 'bin', 'openclaw.js'), 'gateway', '--config', configPath, '--port', String(port), '--bind', '127.0.0.1', ...workerArgs], {
      // Logs (one JSON line per request) go nowhere: the gateway still formats them, as in production.
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: undefined, OPENCLAW_GATEWAY_TOKEN: undefined },
    }),
  );
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-8_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${stderr}`);
    if (performance.now() > deadline) throw new Error(`gateway not ready within 20 s:\n${stderr}`);
    // With workers, every one of them must be listening (the supervisor says so once).
    const status = await probe(`${url}/ready`);
    if (status === 200 && (!options.workers || stderr.includes('listening on'))) break;
    await sleep(2);
  }
  const readyMs = performance.now() - started;
  // The gateway loads what the API needs (validator, SDK) in the background after it listens, so
  // the first completion is the other half of "how soon can it serve".
  const first = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: requestBody('openclaw', false) });
  await first.text();
  if (first.status !== 200) throw new Error(`gateway's first completion: HTTP ${first.status}`);
  return { child, url, stateDir, readyMs, firstCompletionMs: performance.now() - started, stderr: () => stderr };
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

/** The gateway's event-loop delay since the previous scrape (its /metrics; the scrape starts the next window). */
async function gatewayLoopDelay(url: string): Promise<LoopDelay | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
    return { p50Ms: read('nodejs_eventloop_lag_p50_seconds'), p99Ms: read('nodejs_eventloop_lag_p99_seconds'), maxMs: read('nodejs_eventloop_lag_max_seconds'), samples: NaN };
  } catch {
    return undefined;
  }
}

interface Proxy {
  child: ChildProcess;
  url: string;
}

/** bench/floor-proxy.ts or bench/express-proxy.ts in its own process, in front of the upstream. */
async function startProxy(script: 'floor-proxy.ts' | 'express-proxy.ts', upstreamUrl: string, ...extraArgs: string[]): Promise<Proxy> {
  const child = track(spawn(process.execPath, [join(ROOT, 'bench', script), '--upstream', upstreamUrl, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 10 s`)), 10_000);
    child.stdout!.once('data', (data: Buffer) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString().split('\n')[0]).port);
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** A proxy's event-loop delay since the previous ask (over its IPC channel, see loop-delay.ts). */
function proxyLoopDelay(child: ChildProcess): Promise<LoopDelay | undefined> {
  return new Promise((resolve) => {
    if (!child.connected) return resolve(undefined);
    const timer = setTimeout(() => finish(undefined), 5_000);
    const onMessage = (message: LoopDelay & { type?: string }) => {
      if (message?.type === 'loop-delay') finish(message);
    };
    const finish = (value: LoopDelay | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(value);
    };
    child.on('message', onMessage);
    child.send({ type: 'loop-delay' });
  });
}

// ---------------------------------------------------------------------------------------------
// What is measured: a target (an endpoint and the process behind it) under a load.

type TargetName = 'gateway' | 'direct' | 'express' | 'express-validated' | 'floor' | 'gateway-2w';

interface Target {
  name: TargetName;
  url: string;
  headers: Record<string, string>;
  model: string;
  /** The process whose CPU time and memory count (with its children: a supervisor's workers). */
  pid: () => number | undefined;
  /** Event-loop delay since the previous call (each call starts the next window). */
  loopDelay?: () => Promise<LoopDelay | undefined>;
}

/** Which session each request runs on. */
type Load =
  | { kind: 'stateless' }
  /** Each request takes the next of `sessions` seeded sessions (so each holds about the seeded turns). */
  | { kind: 'rotating'; name: string; sessions: number; counter: { next: number } }
  /** Connection i always uses session i (mod `sessions`). */
  | { kind: 'per-connection'; name: string; sessions: number };

function requestBody(model: string, stream: boolean, user?: string): string {
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: 'Say something short.' }],
    ...(stream ? { stream: true } : {}),
    ...(user ? { user } : {}),
  });
}

function bodyFor(load: Load, model: string, stream: boolean, connection: number): string {
  if (load.kind === 'stateless') return requestBody(model, stream);
  if (load.kind === 'rotating') return requestBody(model, stream, seededUser(load.name, load.counter.next++ % load.sessions));
  return requestBody(model, stream, seededUser(load.name, connection % load.sessions));
}

interface CannonResult {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time of the target's process(es) during the cell ÷ completed (2xx) requests, in µs. */
  cpuPerRequestUs: number;
  cpuMs: number;
  loopDelay?: LoopDelay;
}

async function cannon(target: Target, stream: boolean, load: Load, connections: number, durationSec: number): Promise<CannonResult> {
  let clientIndex = 0;
  await target.loopDelay?.();
  const cpuBefore = treeCpuMs(target.pid());
  const result = await autocannon({
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: requestBody(target.model, stream),
    connections,
    duration: durationSec,
    timeout: 10,
    ...(load.kind === 'per-connection' ? { setupClient: (client: autocannon.Client) => client.setBody(bodyFor(load, target.model, stream, clientIndex++)) } : {}),
    ...(load.kind === 'rotating'
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.RequestData) => {
                req.body = bodyFor(load, target.model, stream, 0);
                return req;
              },
            },
          ],
        }
      : {}),
  });
  const cpuMs = treeCpuMs(target.pid()) - cpuBefore;
  const loopDelay = await target.loopDelay?.();
  return {
    rps: result['2xx'] / (result.duration || durationSec),
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    requests: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpuMs,
    cpuPerRequestUs: result['2xx'] > 0 ? (cpuMs * 1000) / result['2xx'] : NaN,
    loopDelay,
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
async function streamTiming(target: Target, load: Load, connections: number, durationMs: number, maxRequests: number): Promise<TimingResult> {
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
        `${target.url}/v1/chat/completions`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers }, timeout: 10_000 },
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
    while (performance.now() < stopAt && sent < maxRequests) {
      sent++;
      await one(bodyFor(load, target.model, true, index));
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
async function openIdleStreams(target: Target, upstream: Upstream, count: number): Promise<{ close(): void; opened: number }> {
  const requests: ReturnType<typeof request>[] = [];
  const body = requestBody(target.model, true);
  const heldBefore = (await upstream.stats()).held;
  let opened = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const req = request(
        `${target.url}/v1/chat/completions`,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } },
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
  while ((await upstream.stats()).held - heldBefore < count && Date.now() < deadline) await sleep(50);
  return {
    opened,
    close() {
      for (const req of requests) req.destroy();
    },
  };
}

async function waitUntilNoneHeld(upstream: Upstream): Promise<number> {
  let held = (await upstream.stats()).held;
  for (const until = Date.now() + 10_000; held > 0 && Date.now() < until; held = (await upstream.stats()).held) await sleep(50);
  return held;
}

// ---------------------------------------------------------------------------------------------
// The run.

const fmt = (value: number | undefined, digits = 2) => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const int = (value: number | undefined) => (value !== undefined && Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
/** Ratio a ÷ b; `n/a` when b is 0 (e.g. autocannon's whole-ms latency below 1 ms). */
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : 'n/a');

interface Cell {
  kind: 'non-stream' | 'stream';
  state: 'stateless' | 'stateful' | 'long-session';
  connections: number;
  gateway: CannonResult;
  direct?: CannonResult;
  /** Bare express 5 + undici proxy (bench/express-proxy.ts), stateless cells only. */
  express?: CannonResult;
  /** The pass-through node:http floor proxy (bench/floor-proxy.ts), stateless cells only. */
  floor?: CannonResult;
  /** The bare express proxy with the gateway's request validator (express-proxy.ts --validator), stateless cells at 16 connections. */
  expressValidated?: CannonResult;
  /** Gateway memory right after the cell. */
  gatewayMemory: MemoryStatus;
}

interface TimingCell {
  state: 'stateless' | 'stateful';
  connections: number;
  gateway: TimingResult;
  direct: TimingResult;
  express?: TimingResult;
  floor?: TimingResult;
}

interface WorkerCell {
  kind: 'non-stream' | 'stream';
  connections: number;
  one: CannonResult;
  two: CannonResult;
}

interface IdleResult {
  streams: number;
  opened: number;
  heldUpstream: number;
  rssBeforeMB: number;
  rssWithStreamsMB: number;
  perStreamKB: number;
  stillHeldUpstream10sAfterClientsClosed: number;
}

interface SlowCell extends SlowStreamsResult {
  target: 'gateway' | 'express' | 'floor';
  seconds: number;
  rssBeforeMB: number;
  rssAllOpenMB: number;
  peakRssMB: number;
  cpuSeconds: number;
  /** Event-loop delay while streams are being opened, then from all open to the last one ended. */
  loopDelayOpening?: LoopDelay;
  loopDelayRunning?: LoopDelay;
  /** The open-file limit capped the number of streams (each costs the proxy two descriptors). */
  cappedByFileLimit?: number;
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

  const dir = tempDir('openclaw-bench-');
  if (SLOW_ONLY) {
    const slow = await slowStreamsCells(dir, await sessionStoreConfig(), log);
    const report = { date: startedAt.toISOString(), mode: 'slow-only', machine: machine(), plan: PLAN, slow, totalSeconds: (performance.now() - t0) / 1000 };
    return writeReport(report, slowMarkdown(slow), startedAt, t0);
  }

  const upstream = await startUpstream({ chunks: PLAN.chunks });
  const store = await sessionStoreConfig();
  const configPath = writeGatewayConfig(dir, upstream.url, { store });
  log(`session store: ${STORE}`);
  const direct: Target = { name: 'direct', url: upstream.url, headers: { authorization: 'Bearer bench' }, model: 'bench', pid: () => upstream.child.pid };

  if (STATEFUL_ONLY && flags.against) return statefulAbRun(upstream, configPath, store, resolve(flags.against), log);
  if (STATEFUL_ONLY) return statefulRun(upstream, configPath, store, log);
  if (PROFILE && TOOL_STEP) return toolStepProfileRun(upstream, dir, log);
  if (PROFILE) return profileRun(upstream, configPath, direct, log);
  if (FIRST_CHUNK) return firstChunkRun(upstream, configPath, direct, log);
  if (AB_NODE_ARGS) return nodeArgsRun(upstream, configPath, store, AB_NODE_ARGS, log);
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
  const gateway: Target = { name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid, loopDelay: () => gatewayLoopDelay(gw.url) };
  await gateway.loopDelay!(); // starts the gateway's event-loop monitor
  const afterReady = procStatus(gw.child.pid);

  const cells: Cell[] = [];
  const timings: TimingCell[] = [];
  const workerCells: WorkerCell[] = [];
  const rss: Record<string, unknown> = { gatewayAfterReadyMB: afterReady.rssMB };
  let seeding: Record<string, number> = {};
  let responsesCpu: CpuPair[] | undefined;
  const sessions20: Load = { kind: 'rotating', name: 'turns20', sessions: PLAN.sessions20, counter: { next: 0 } };
  const longSessions: Load = { kind: 'per-connection', name: 'turns10k', sessions: Math.max(...PLAN.longSessionConnections) };

  if (!IDLE_ONLY) {
    const [floorProxy, expressProxy] = [await startProxy('floor-proxy.ts', upstream.url), await startProxy('express-proxy.ts', upstream.url)];
    const validatedProxy = await startProxy('express-proxy.ts', upstream.url, '--validator');
    const expressValidated: Target = { name: 'express-validated', url: validatedProxy.url, headers: {}, model: 'bench', pid: () => validatedProxy.child.pid, loopDelay: () => proxyLoopDelay(validatedProxy.child) };
    const floor: Target = { name: 'floor', url: floorProxy.url, headers: {}, model: 'bench', pid: () => floorProxy.child.pid, loopDelay: () => proxyLoopDelay(floorProxy.child) };
    const express: Target = { name: 'express', url: expressProxy.url, headers: {}, model: 'bench', pid: () => expressProxy.child.pid, loopDelay: () => proxyLoopDelay(expressProxy.child) };
    rss.expressAfterReadyMB = procStatus(expressProxy.child.pid).rssMB;
    rss.floorAfterReadyMB = procStatus(floorProxy.child.pid).rssMB;

    // Sanity: each answers, streaming and not.
    for (const target of [gateway, direct, express, expressValidated, floor]) {
      for (const stream of [false, true]) {
        const res = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body: requestBody(target.model, stream) });
        const text = await res.text();
        if (res.status !== 200 || (stream && !text.includes('[DONE]'))) throw new Error(`${target.name} ${stream ? 'stream' : 'non-stream'}: HTTP ${res.status} ${text.slice(0, 300)}`);
      }
    }

    const seed20 = await seedSessions(gw.stateDir, store, sessions20.name, PLAN.sessions20, 20);
    const seedLong = await seedSessions(gw.stateDir, store, longSessions.name, longSessions.sessions, PLAN.longSessionTurns);
    seeding = { sessions20: PLAN.sessions20, sessions20Ms: seed20, longSessions: longSessions.sessions, longSessionTurns: PLAN.longSessionTurns, longSessionsMs: seedLong };
    log(`seeded ${PLAN.sessions20} sessions of 20 turns (${seed20.toFixed(0)} ms) and ${longSessions.sessions} of ${PLAN.longSessionTurns} turns (${seedLong.toFixed(0)} ms)`);

    // The gateway has far more code to compile than the proxies: its CPU per request keeps falling
    // for its first few hundred requests (on this machine its first 3 s ran at a third of its rate).
    const gatewayWarmupSec = Math.max(3, PLAN.warmupSec * 2);
    log(`warm-up ${gatewayWarmupSec}s for the gateway, ${PLAN.warmupSec}s for the others`);
    await cannon(gateway, false, { kind: 'stateless' }, 16, gatewayWarmupSec);
    await cannon(gateway, true, { kind: 'stateless' }, 16, gatewayWarmupSec / 2);
    await cannon(gateway, false, sessions20, 16, PLAN.warmupSec);
    for (const target of QUICK ? [express, expressValidated] : [express, expressValidated, floor, direct]) {
      await cannon(target, false, { kind: 'stateless' }, 16, PLAN.warmupSec);
      await cannon(target, true, { kind: 'stateless' }, 16, PLAN.warmupSec);
    }

    for (const kind of ['non-stream', 'stream'] as const) {
      for (const state of ['stateless', 'stateful'] as const) {
        for (const connections of state === 'stateless' ? PLAN.connections : PLAN.statefulConnections) {
          const stream = kind === 'stream';
          const stateful = state === 'stateful';
          const g = await cannon(gateway, stream, stateful ? sessions20 : { kind: 'stateless' }, connections, PLAN.durationSec);
          const gatewayMemory = procStatus(gw.child.pid);
          const d = await cannon(direct, stream, stateful ? { kind: 'per-connection', name: 'direct', sessions: connections } : { kind: 'stateless' }, connections, PLAN.durationSec);
          const cell: Cell = { kind, state, connections, gateway: g, direct: d, gatewayMemory };
          if (!stateful) {
            cell.express = await cannon(express, stream, { kind: 'stateless' }, connections, PLAN.durationSec);
            cell.floor = await cannon(floor, stream, { kind: 'stateless' }, connections, PLAN.durationSec);
            if (connections === 16) cell.expressValidated = await cannon(expressValidated, stream, { kind: 'stateless' }, connections, PLAN.durationSec);
          }
          cells.push(cell);
          const failed = g.non2xx + g.errors + g.timeouts;
          log(
            `${kind} ${state} c=${connections}: gateway ${fmt(g.rps, 0)} req/s ${fmt(g.cpuPerRequestUs, 0)} µs CPU/req, direct ${fmt(d.rps, 0)}${cell.express ? `, express ${fmt(cell.express.rps, 0)} req/s ${fmt(cell.express.cpuPerRequestUs, 0)} µs` : ''}${cell.floor ? `, floor ${fmt(cell.floor.rps, 0)} req/s ${fmt(cell.floor.cpuPerRequestUs, 0)} µs` : ''}${cell.expressValidated ? `, express + validator ${fmt(cell.expressValidated.rps, 0)} req/s ${fmt(cell.expressValidated.cpuPerRequestUs, 0)} µs` : ''}${failed ? ` (gateway: ${failed} failed)` : ''}`,
          );
        }
      }
    }
    // The issue's memory figure: after the stateless and stateful cells up to 64 connections.
    rss.gatewayPeakAfterLoadMB = procStatus(gw.child.pid).hwmMB;
    rss.expressPeakAfterLoadMB = procStatus(expressProxy.child.pid).hwmMB;
    rss.floorPeakAfterLoadMB = procStatus(floorProxy.child.pid).hwmMB;

    for (const connections of PLAN.longSessionConnections) {
      const g = await cannon(gateway, false, longSessions, connections, PLAN.durationSec);
      cells.push({ kind: 'non-stream', state: 'long-session', connections, gateway: g, gatewayMemory: procStatus(gw.child.pid) });
      log(`non-stream on ${PLAN.longSessionTurns}-turn sessions c=${connections}: gateway ${fmt(g.rps, 0)} req/s ${fmt(g.cpuPerRequestUs, 0)} µs CPU/req, loop delay p99 ${fmt(g.loopDelay?.p99Ms)} ms`);
    }

    for (const state of ['stateless', 'stateful'] as const) {
      for (const connections of PLAN.timingConnections) {
        const load: Load = state === 'stateful' ? sessions20 : { kind: 'stateless' };
        const t: TimingCell = {
          state,
          connections,
          gateway: await streamTiming(gateway, load, connections, PLAN.timingMs, PLAN.timingMaxRequests),
          direct: await streamTiming(direct, state === 'stateful' ? { kind: 'per-connection', name: 'direct', sessions: connections } : load, connections, PLAN.timingMs, PLAN.timingMaxRequests),
        };
        if (state === 'stateless') {
          t.express = await streamTiming(express, load, connections, PLAN.timingMs, PLAN.timingMaxRequests);
          t.floor = await streamTiming(floor, load, connections, PLAN.timingMs, PLAN.timingMaxRequests);
        }
        timings.push(t);
        log(`timing ${state} c=${connections}: first chunk p50 gateway ${fmt(t.gateway.firstChunkP50, 3)} ms, direct ${fmt(t.direct.firstChunkP50, 3)} ms`);
      }
    }
    responsesCpu = await responsesCpuCells(gateway, gw.child.pid!, log);
    await stopChild(floorProxy.child);
    await stopChild(expressProxy.child);
    await stopChild(validatedProxy.child);

    // 1 worker (the gateway above) against 2 workers on one port, interleaved. Full runs only: two
    // cold processes need seconds of load before their figure means anything (each loads the
    // validator and the SDK and compiles its hot code; measured: 303 req/s over its first 5 s, then
    // on par with the warm single process).
    const gw2 = PLAN.workerConnections.length ? await startGateway(configPath, { workers: 2 }) : undefined;
    const twoWorkers: Target = { ...gateway, name: 'gateway-2w', url: gw2?.url ?? '', pid: () => gw2?.child.pid, loopDelay: undefined };
    if (gw2) {
      await cannon(twoWorkers, false, { kind: 'stateless' }, 16, 5);
      await cannon(twoWorkers, true, { kind: 'stateless' }, 16, 2);
    }
    for (const kind of PLAN.workerKinds) {
      for (const connections of PLAN.workerConnections) {
        const one = await cannon(gateway, kind === 'stream', { kind: 'stateless' }, connections, PLAN.durationSec);
        const two = await cannon(twoWorkers, kind === 'stream', { kind: 'stateless' }, connections, PLAN.durationSec);
        workerCells.push({ kind, connections, one, two });
        log(`workers ${kind} c=${connections}: 1 worker ${fmt(one.rps, 0)} req/s, 2 workers ${fmt(two.rps, 0)} req/s`);
      }
    }
    if (gw2) {
      rss.twoWorkersPeakSumMB = treeStatus(gw2.child.pid).hwmMB;
      await stopChild(gw2.child);
    }
  }
  const gatewayExitCode = await stopChild(gw.child);

  // Idle streams, on fresh processes (so the heap grown by the load cells does not hide them): the
  // upstream holds every stream open after its role chunk.
  log(`opening ${PLAN.idleStreams} idle streams through a fresh gateway, bare express proxy and floor proxy`);
  const idle: Record<string, IdleResult> = {};
  for (const name of QUICK ? (['gateway'] as const) : (['gateway', 'express', 'floor'] as const)) {
    let target: Target;
    let child: ChildProcess;
    if (name === 'gateway') {
      const fresh = await startGateway(configPath);
      child = fresh.child;
      target = { ...gateway, url: fresh.url, pid: () => fresh.child.pid };
    } else {
      const proxy = await startProxy(name === 'express' ? 'express-proxy.ts' : 'floor-proxy.ts', upstream.url);
      child = proxy.child;
      target = { name, url: proxy.url, headers: {}, model: 'bench', pid: () => proxy.child.pid };
    }
    // Hold mode after the start: the gateway's first completion streams from the upstream too.
    await upstream.configure({ mode: 'hold' });
    await sleep(500);
    const before = procStatus(child.pid);
    const streams = await openIdleStreams(target, upstream, PLAN.idleStreams);
    await sleep(500);
    const heldUpstream = (await upstream.stats()).held;
    const withStreams = procStatus(child.pid);
    streams.close();
    const remaining = await waitUntilNoneHeld(upstream);
    log(`idle streams through ${name}: RSS ${fmt(before.rssMB, 1)} → ${fmt(withStreams.rssMB, 1)} MB (${streams.opened} opened, ${heldUpstream} held upstream, ${remaining} left after close)`);
    idle[name] = {
      streams: PLAN.idleStreams,
      opened: streams.opened,
      heldUpstream,
      rssBeforeMB: before.rssMB,
      rssWithStreamsMB: withStreams.rssMB,
      perStreamKB: ((withStreams.rssMB - before.rssMB) * 1024) / Math.max(1, streams.opened),
      stillHeldUpstream10sAfterClientsClosed: remaining,
    };
    await upstream.configure({ mode: 'normal' });
    await stopChild(child);
  }
  await upstream.configure({ mode: 'hold' });
  // The same number held directly, for the upstream's own footprint.
  const upBaseline = procStatus(upstream.child.pid);
  const idleDirect = await openIdleStreams(direct, upstream, PLAN.idleStreams);
  await sleep(500);
  const upWithIdle = procStatus(upstream.child.pid);
  idleDirect.close();
  await waitUntilNoneHeld(upstream);
  await upstream.configure({ mode: 'normal' });
  await stopChild(upstream.child);
  // A fresh upstream for the one-connection tool-step cell: the one above has just held thousands
  // of streams, and its heap and sockets slowed the two direct calls of this cell by half.
  let toolStep: ToolStepResult | undefined;
  if (!IDLE_ONLY) {
    const toolUpstream = await startUpstream({ chunks: PLAN.chunks });
    toolStep = await toolStepCell(toolUpstream, dir, { ...direct, url: toolUpstream.url, pid: () => toolUpstream.child.pid }, log, QUICK ? 2 : 5);
    await stopChild(toolUpstream.child);
  }

  const slow = IDLE_ONLY ? [] : await slowStreamsCells(dir, store, log);

  const report = {
    date: startedAt.toISOString(),
    mode: QUICK ? 'quick' : IDLE_ONLY ? 'idle-only' : 'full',
    store: STORE,
    command: `${process.env.BENCH_GATEWAY_NODE_ARGS ? `BENCH_GATEWAY_NODE_ARGS='${process.env.BENCH_GATEWAY_NODE_ARGS}' ` : ''}node bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    plan: PLAN,
    upstream: { latencyMs: 0, chunks: PLAN.chunks, chunkDelayMs: 0 },
    seeding,
    readyMs: { runs: readyMs, median: percentile(readyMs, 50) },
    firstCompletionMs: { runs: firstCompletionMs, median: percentile(firstCompletionMs, 50) },
    rss,
    idle,
    idleDirect: { upstreamRssBeforeMB: upBaseline.rssMB, upstreamRssWithStreamsMB: upWithIdle.rssMB },
    cells,
    timings,
    workerCells,
    slow,
    responsesCpu,
    toolStep,
    gatewayExitCode,
    totalSeconds: (performance.now() - t0) / 1000,
  };
  writeReport(report, markdown(report), startedAt, t0);
}

function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, platform: `${process.platform} ${process.arch}`, openFileLimit: openFileLimit() };
}

function writeReport(report: Record<string, unknown>, text: string, startedAt: Date, t0: number) {
  const file = join(RESULTS, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}-${report.mode}${STORE === 'sqlite' ? '' : `-${STORE}`}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(text);
  process.stdout.write(`\nJSON: ${file.slice(ROOT.length + 1)} (total ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}

// ---------------------------------------------------------------------------------------------
// Slow streams: N concurrent streams, one chunk every 100 ms for S seconds, each through a fresh
// process in front of a fresh upstream (so no earlier connection lingers on its ports).

async function slowStreamsCells(dir: string, store: Record<string, unknown>, log: (line: string) => void): Promise<SlowCell[]> {
  const out: SlowCell[] = [];
  const chunks = PLAN.slowSeconds * 10;
  // A proxy holds two descriptors per stream (client and upstream side); keep room for the rest.
  const limit = openFileLimit();
  const streams = Math.min(PLAN.slowStreams, Math.floor((limit - 200) / 2));
  for (const name of PLAN.slowTargets) {
    const upstream = await startUpstream({ chunks, chunkDelayMs: 100 });
    let target: Target;
    let child: ChildProcess;
    if (name === 'gateway') {
      const gw = await startGateway(writeGatewayConfig(dir, upstream.url, { store }));
      child = gw.child;
      target = { name, url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid, loopDelay: () => gatewayLoopDelay(gw.url) };
    } else {
      const proxy = await startProxy(name === 'express' ? 'express-proxy.ts' : 'floor-proxy.ts', upstream.url);
      child = proxy.child;
      target = { name, url: proxy.url, headers: {}, model: 'bench', pid: () => proxy.child.pid, loopDelay: () => proxyLoopDelay(proxy.child) };
    }
    log(`slow streams through ${name}: ${streams} streams × ${chunks} chunks, 100 ms apart${streams < PLAN.slowStreams ? ` (capped from ${PLAN.slowStreams} by the open-file limit ${limit})` : ''}`);
    // Gated after the start (the gateway's first completion streams from the upstream too).
    await upstream.configure({ mode: 'gate' });
    await sleep(300);
    const before = procStatus(child.pid);
    await target.loopDelay?.();
    const cpuBefore = treeCpuMs(child.pid);
    let loopDelayOpening: LoopDelay | undefined;
    let rssAllOpenMB = NaN;
    const result = await runSlowStreams({
      url: `${target.url}/v1/chat/completions`,
      headers: target.headers,
      body: requestBody(target.model, true),
      streams,
      expectedChunks: chunks,
      timeoutMs: (PLAN.slowSeconds + 120) * 1000,
      onAllOpen: async () => {
        for (let i = 0; i < 100 && (await upstream.stats()).gated < streams; i++) await sleep(50);
        loopDelayOpening = await target.loopDelay?.();
        rssAllOpenMB = procStatus(child.pid).rssMB;
        await upstream.release();
      },
    });
    const loopDelayRunning = await target.loopDelay?.();
    const cell: SlowCell = {
      target: name,
      seconds: PLAN.slowSeconds,
      ...result,
      rssBeforeMB: before.rssMB,
      rssAllOpenMB,
      peakRssMB: procStatus(child.pid).hwmMB,
      cpuSeconds: (treeCpuMs(child.pid) - cpuBefore) / 1000,
      loopDelayOpening,
      loopDelayRunning,
      ...(streams < PLAN.slowStreams ? { cappedByFileLimit: limit } : {}),
    };
    out.push(cell);
    log(
      `slow streams through ${name}: ${result.whole}/${streams} whole, max ${result.maxConcurrent} at once, opened in ${fmt(result.rampMs / 1000, 1)} s, all done ${fmt(result.totalMs / 1000, 1)} s after release; peak RSS ${fmt(cell.peakRssMB, 0)} MB; loop delay p99 ${fmt(loopDelayRunning?.p99Ms)} ms`,
    );
    await stopChild(child);
    await stopChild(upstream.child);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The report.

function slowMarkdown(slow: SlowCell[]): string {
  if (slow.length === 0) return '';
  const lines: string[] = [];
  const s = slow[0];
  lines.push(`### ${int(s.streams)} concurrent slow streams (one chunk every 100 ms for ${s.seconds} s, fresh processes)`);
  lines.push('');
  if (s.cappedByFileLimit) lines.push(`Capped from ${int(PLAN.slowStreams)} streams by the open-file limit (${s.cappedByFileLimit}): a proxy holds two descriptors per stream.\n`);
  lines.push('The upstream holds every stream after its role chunk until all are open, then releases them together (each starting at a random point of its first 100 ms); stream times count from the release.');
  lines.push('');
  lines.push('| through | whole / streams | most at once | all open after | last done, after release | stream p50 / p99 / max s | RSS before → all open → peak MB | CPU s | loop delay while opening p99 / max ms | loop delay while running p99 / max ms |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of slow) {
    const broken = c.failedStatus + c.incomplete + c.errors;
    lines.push(
      `| ${c.target} | ${int(c.whole)} / ${int(c.streams)}${broken ? ` (${c.failedStatus} status, ${c.incomplete} incomplete, ${c.errors} errors; fewest chunks ${c.fewestChunks})` : ''} | ${int(c.maxConcurrent)} | ${fmt(c.rampMs / 1000, 1)} s | ${fmt(c.totalMs / 1000, 1)} s | ${fmt(c.durationP50Ms / 1000, 1)} / ${fmt(c.durationP99Ms / 1000, 1)} / ${fmt(c.durationMaxMs / 1000, 1)} | ${fmt(c.rssBeforeMB, 0)} → ${fmt(c.rssAllOpenMB, 0)} → ${fmt(c.peakRssMB, 0)} | ${fmt(c.cpuSeconds, 1)} | ${fmt(c.loopDelayOpening?.p99Ms, 1)} / ${fmt(c.loopDelayOpening?.maxMs, 1)} | ${fmt(c.loopDelayRunning?.p99Ms, 1)} / ${fmt(c.loopDelayRunning?.maxMs, 1)} |`,
    );
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

function markdown(report: any): string {
  const cells: Cell[] = report.cells;
  const timings: TimingCell[] = report.timings;
  const workerCells: WorkerCell[] = report.workerCells;
  const idle: Record<string, IdleResult> = report.idle;
  const lines: string[] = [];
  const find = (kind: Cell['kind'], state: Cell['state'], connections: number) => cells.find((c) => c.kind === kind && c.state === state && c.connections === connections);
  lines.push(`## openclaw gateway vs direct upstream, bare express proxy and floor proxy (${report.mode}: ${PLAN.durationSec}s cells)`);
  lines.push('');
  lines.push(`${report.date} · ${report.machine.cores} cores (${report.machine.cpu}) · Node ${report.machine.node} · upstream: ${PLAN.chunks} chunks, no latency · sessions in ${report.store}`);
  lines.push('');

  const targetsRows = targets(report);
  if (targetsRows.length) {
    lines.push('### Issue 16 targets');
    lines.push('');
    lines.push('| target | measured | met? |');
    lines.push('|---|---|---|');
    lines.push(...targetsRows);
    lines.push('');
  }

  if (cells.length) {
    lines.push('### Stateless: req/s and CPU per request (autocannon, keep-alive)');
    lines.push('');
    lines.push('CPU per request: the process\'s user + system CPU time over the cell (/proc/<pid>/stat) ÷ completed requests. Ratios: gateway ÷ direct, and gateway ÷ bare express (for req/s lower is worse, for CPU higher is worse).');
    lines.push('');
    lines.push('| request | conns | req/s gateway / express / floor / direct | ÷ direct: gateway / express / floor | gateway ÷ express req/s | CPU µs/req gateway / express / floor / upstream | CPU gateway ÷ express / ÷ floor | p50 / p99 ms gateway / express / floor / direct | loop delay p99 ms gateway / express / floor |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of cells.filter((each) => each.state === 'stateless')) {
      const [g, e, f, d] = [c.gateway, c.express!, c.floor!, c.direct!];
      const bad = g.non2xx + g.errors + g.timeouts;
      lines.push(
        `| ${c.kind} | ${c.connections} | ${fmt(g.rps, 0)}${bad ? ` (${bad} failed)` : ''} / ${fmt(e.rps, 0)} / ${fmt(f.rps, 0)} / ${fmt(d.rps, 0)} | ${ratio(g.rps, d.rps)} / ${ratio(e.rps, d.rps)} / ${ratio(f.rps, d.rps)} | ${ratio(g.rps, e.rps)} | ${fmt(g.cpuPerRequestUs, 0)} / ${fmt(e.cpuPerRequestUs, 0)} / ${fmt(f.cpuPerRequestUs, 0)} / ${fmt(d.cpuPerRequestUs, 0)} | ${ratio(g.cpuPerRequestUs, e.cpuPerRequestUs)} / ${ratio(g.cpuPerRequestUs, f.cpuPerRequestUs)} | ${g.p50}/${g.p99} / ${e.p50}/${e.p99} / ${f.p50}/${f.p99} / ${d.p50}/${d.p99} | ${fmt(g.loopDelay?.p99Ms, 1)} / ${fmt(e.loopDelay?.p99Ms, 1)} / ${fmt(f.loopDelay?.p99Ms, 1)} |`,
      );
    }
    lines.push('');
    lines.push(`### Stateful (sessions of 20 turns, ${int(report.seeding?.sessions20)} of them taken in turn; and of ${int(PLAN.longSessionTurns)} turns, one per connection) against stateless`);
    lines.push('');
    lines.push('Loop delay: the gateway\'s event-loop delay during the cell (`perf_hooks.monitorEventLoopDelay`, 10 ms resolution, read from its /metrics), p99 and max. At 16 connections and more the loop is never idle, so the delay there is the length of a busy loop turn (compare the stateless column); at 1 connection the loop waits between requests, and a delay is work that held it (a transcript read or write among it).');
    lines.push('');
    lines.push('| request | sessions | conns | gateway req/s (÷ direct) | CPU µs/req | ÷ stateless CPU | loop delay p99 / max ms | stateless loop delay p99 / max ms | p50 / p99 ms |');
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of cells.filter((each) => each.state !== 'stateless')) {
      const base = find(c.kind, 'stateless', c.connections) ?? cells.find((each) => each.kind === c.kind && each.state === 'stateless');
      const g = c.gateway;
      lines.push(
        `| ${c.kind} | ${c.state === 'stateful' ? '20 turns' : `${int(PLAN.longSessionTurns)} turns`} | ${c.connections} | ${fmt(g.rps, 0)}${c.direct ? ` (${ratio(g.rps, c.direct.rps)})` : ''} | ${fmt(g.cpuPerRequestUs, 0)} | ${ratio(g.cpuPerRequestUs, base?.gateway.cpuPerRequestUs)}${base && base.connections !== c.connections ? ` (vs ${base.connections} conns)` : ''} | ${fmt(g.loopDelay?.p99Ms, 2)} / ${fmt(g.loopDelay?.maxMs, 1)} | ${fmt(base?.gateway.loopDelay?.p99Ms, 2)} / ${fmt(base?.gateway.loopDelay?.maxMs, 1)} | ${g.p50} / ${g.p99} |`,
      );
    }
    lines.push('');
  }

  if (timings.length) {
    lines.push('### Streaming chunk timing (own client loop, ms; added = over direct)');
    lines.push('');
    lines.push('| state | conns | target | first chunk p50 (added) | first content p50 (added) | first content p99 | relay of the first content p50 (added) | whole stream ([DONE]) p50 (added) | [DONE] p99 | requests |');
    lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const t of timings) {
      const d = t.direct;
      for (const [name, x] of [['gateway', t.gateway], ['bare express', t.express], ['floor', t.floor], ['direct', t.direct]] as const) {
        if (!x) continue;
        const added = (a: number, b: number) => (x === d ? fmt(a, 3) : `${fmt(a, 3)} (+${fmt(a - b, 3)})`);
        lines.push(
          `| ${t.state} | ${t.connections} | ${name} | ${added(x.firstChunkP50, d.firstChunkP50)} | ${added(x.firstContentP50, d.firstContentP50)} | ${fmt(x.firstContentP99)} | ${added(x.relayP50, d.relayP50)} | ${added(x.doneP50, d.doneP50)} | ${fmt(x.doneP99)} | ${x.requests}${x.failures ? ` (${x.failures} failed)` : ''} |`,
        );
      }
    }
    lines.push('');
  }

  if (report.responsesCpu) lines.push(...responsesCpuMarkdown(report.responsesCpu), '');

  if (workerCells.length) {
    lines.push('### Every core: `openclaw gateway --workers 2` against one process (stateless, interleaved)');
    lines.push('');
    lines.push('| request | conns | 1 worker req/s | 2 workers req/s | 2 ÷ 1 | CPU µs/req 1 / 2 (supervisor + workers) |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const w of workerCells) {
      lines.push(`| ${w.kind} | ${w.connections} | ${fmt(w.one.rps, 0)} | ${fmt(w.two.rps, 0)}${w.two.non2xx + w.two.errors ? ` (${w.two.non2xx + w.two.errors} failed)` : ''} | ${ratio(w.two.rps, w.one.rps)} | ${fmt(w.one.cpuPerRequestUs, 0)} / ${fmt(w.two.cpuPerRequestUs, 0)} |`);
    }
    lines.push('');
  }

  lines.push('### Memory and start-up');
  lines.push('');
  lines.push('| figure | gateway | bare express | floor |');
  lines.push('|---|---:|---:|---:|');
  const rss = report.rss;
  const mb = (value: number | undefined) => (value === undefined ? 'n/a' : `${fmt(value, 1)} MB`);
  lines.push(`| RSS after ready | ${mb(rss.gatewayAfterReadyMB)} | ${mb(rss.expressAfterReadyMB)} | ${mb(rss.floorAfterReadyMB)} |`);
  if (rss.gatewayPeakAfterLoadMB !== undefined) {
    lines.push(`| peak RSS (VmHWM) after the load cells up to ${Math.max(...PLAN.connections)} connections (the proxies: stateless only) | ${fmt(rss.gatewayPeakAfterLoadMB, 1)} MB | ${fmt(rss.expressPeakAfterLoadMB, 1)} MB | ${fmt(rss.floorPeakAfterLoadMB, 1)} MB |`);
  }
  if (idle.gateway) {
    const cell = (x: IdleResult | undefined) => (x ? `${fmt(x.rssWithStreamsMB, 1)} MB (from ${fmt(x.rssBeforeMB, 1)}; ${fmt(x.perStreamKB, 1)} KB/stream; ${x.heldUpstream}/${x.streams} held upstream; ${x.stillHeldUpstream10sAfterClientsClosed} left 10 s after close)` : 'n/a');
    lines.push(`| fresh process: RSS with ${int(PLAN.idleStreams)} idle streams open | ${cell(idle.gateway)} | ${cell(idle.express)} | ${cell(idle.floor)} |`);
  }
  lines.push('');
  lines.push('| figure | value |');
  lines.push('|---|---:|');
  lines.push(`| start → /ready 200 (median of ${report.readyMs.runs.length}) | ${fmt(report.readyMs.median, 0)} ms (runs: ${report.readyMs.runs.map((ms: number) => ms.toFixed(0)).join(', ')}) |`);
  lines.push(`| start → first chat completion answered (same starts) | ${fmt(report.firstCompletionMs.median, 0)} ms (runs: ${report.firstCompletionMs.runs.map((ms: number) => ms.toFixed(0)).join(', ')}) |`);
  lines.push(`| upstream RSS with ${int(PLAN.idleStreams)} idle streams held directly | ${fmt(report.idleDirect.upstreamRssWithStreamsMB, 1)} MB (from ${fmt(report.idleDirect.upstreamRssBeforeMB, 1)}) |`);
  if (rss.twoWorkersPeakSumMB !== undefined) lines.push(`| --workers 2: sum of the peak RSS of supervisor and workers | ${fmt(rss.twoWorkersPeakSumMB, 1)} MB |`);
  lines.push('');
  lines.push(slowMarkdown(report.slow));
  if (report.toolStep) lines.push(toolStepMarkdown(report.toolStep));
  return `${lines.join('\n')}\n`;
}

/** The issue's targets, each against the figure this run measured. */
function targets(report: any): string[] {
  const cells: Cell[] = report.cells;
  const rows: string[] = [];
  const met = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'yes' : 'no');
  const stateless16 = (kind: Cell['kind']) => cells.find((c) => c.kind === kind && c.state === 'stateless' && c.connections === 16);
  for (const [kind, limit] of [['non-stream', 1.15], ['stream', 1.4]] as const) {
    const c = stateless16(kind);
    if (!c?.express) continue;
    const r = c.gateway.cpuPerRequestUs / c.express.cpuPerRequestUs;
    // Beside it, what bare express costs with the gateway's request validator and nothing else.
    const v = c.expressValidated;
    const withValidator = v ? `; bare express + the request validator ${fmt(v.cpuPerRequestUs, 0)} µs = ${(v.cpuPerRequestUs / c.express.cpuPerRequestUs).toFixed(2)}× bare express, the gateway ${(c.gateway.cpuPerRequestUs / v.cpuPerRequestUs).toFixed(2)}× it` : '';
    rows.push(`| ${kind}${kind === 'stream' ? ` (${PLAN.chunks} chunks)` : ''}, 16 conns: CPU per request ≤ ${limit}× bare express | ${fmt(c.gateway.cpuPerRequestUs, 0)} µs vs ${fmt(c.express.cpuPerRequestUs, 0)} µs = ${r.toFixed(2)}×${withValidator} | ${met(r <= limit)} |`);
  }
  if (report.rss?.gatewayPeakAfterLoadMB !== undefined) rows.push(`| peak RSS under the load cells ≤ 200 MB | ${fmt(report.rss.gatewayPeakAfterLoadMB, 0)} MB | ${met(report.rss.gatewayPeakAfterLoadMB <= 200)} |`);
  const idle = report.idle?.gateway as IdleResult | undefined;
  if (idle) rows.push(`| ${int(idle.streams)} idle streams ≤ 150 MB total${idle.streams !== 1000 ? ' (target stated for 1,000)' : ''} | ${fmt(idle.rssWithStreamsMB, 0)} MB | ${idle.streams === 1000 ? met(idle.rssWithStreamsMB <= 150) : 'n/a'} |`);
  const slow = (report.slow as SlowCell[]).find((c) => c.target === 'gateway');
  if (slow) {
    const full = slow.streams === 10_000 && slow.seconds === 30;
    rows.push(
      `| ${int(slow.streams)} slow streams${full ? '' : ' (target stated for 10,000 for 30 s)'}: all whole, ≤ 1 GB RSS, loop delay p99 < 50 ms | ${int(slow.whole)} whole; peak ${fmt(slow.peakRssMB, 0)} MB; p99 ${fmt(slow.loopDelayRunning?.p99Ms, 1)} ms | ${full ? met(slow.whole === slow.streams && slow.peakRssMB <= 1024 && (slow.loopDelayRunning?.p99Ms ?? Infinity) < 50) : 'n/a'} |`,
    );
  }
  for (const c of cells.filter((each) => each.state === 'stateful' && each.connections === 16)) {
    const base = stateless16(c.kind);
    if (!base) continue;
    const r = c.gateway.cpuPerRequestUs / base.gateway.cpuPerRequestUs;
    rows.push(`| ${c.kind}, 16 conns: stateful (20 turns) CPU per request ≤ 1.3× stateless | ${fmt(c.gateway.cpuPerRequestUs, 0)} µs vs ${fmt(base.gateway.cpuPerRequestUs, 0)} µs = ${r.toFixed(2)}× | ${met(r <= 1.3)} |`);
  }
  const tool = report.toolStep as ToolStepResult | undefined;
  if (tool) {
    const added = percentile(tool.gatewayTool, 50) - percentile(tool.directTwoCalls, 50);
    const sdk = tool.gatewayToolSdk?.length ? `; through the SDK demo server +${fmt(percentile(tool.gatewayToolSdk, 50) - percentile(tool.directTwoCalls, 50), 3)} ms` : '';
    rows.push(`| a run with one tool step (tool answers at once), 1 conn: p50 < 1 ms over its two upstream calls | +${fmt(added, 3)} ms${sdk} | ${met(added < 1)} |`);
  }
  for (const c of cells.filter((each) => each.state !== 'stateless')) {
    const p99 = c.gateway.loopDelay?.p99Ms;
    rows.push(`| ${c.kind}, ${c.state === 'stateful' ? '20-turn' : `${int(PLAN.longSessionTurns)}-turn`} sessions, ${c.connections} conns: loop delay p99 ≤ 1 ms | ${fmt(p99, 2)} ms | ${met(p99 === undefined ? undefined : p99 <= 1)} |`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Gateway CPU per request: /v1/responses against /v1/chat/completions, the same run on the same
// upstream. The gateway's own CPU time (utime + stime from /proc) over a cell, divided by the
// requests it answered; cells alternate between the two endpoints, and each figure is the median
// of its rounds, so machine noise hits both alike.

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

async function cpuCell(endpoint: Target, pid: number, path: string, body: (client: number) => string, connections: number, durationSec: number): Promise<{ requests: number; usPerRequest: number }> {
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

let cpuSerial = 0;

async function responsesCpuCells(gateway: Target, pid: number, log: (line: string) => void): Promise<CpuPair[]> {
  const rounds = QUICK ? 2 : 4;
  // Quick mode keeps within its deadline on a busy machine: 1 s cells.
  const durationSec = QUICK ? 1 : 4;
  const connections = 16;
  const prompt = 'Say something short.';
  const serial = ++cpuSerial;
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
  const gateway: Target = { name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid };
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
  /** The same run with the demo MCP server (the official SDK's server side) as the tool server. */
  gatewayToolSdk: number[];
  directTwoCalls: number[];
  gatewayPlain: number[];
  directOneCall: number[];
  requests: { gatewayTool: number; gatewayToolSdk: number; directTwoCalls: number; gatewayPlain: number; directOneCall: number };
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

async function toolStepCell(upstream: Upstream, dir: string, direct: Target, log: (line: string) => void, rounds: number): Promise<ToolStepResult> {
  const gw = await startGateway(writeGatewayConfig(dir, upstream.url, { tools: true }));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const user = { role: 'user', content: 'What time is it?' };
  const tool = { type: 'function', function: { name: 'bench__time', parameters: { type: 'object', properties: {} } } };
  const gatewayHeaders = { authorization: `Bearer ${TOKEN}` };
  const toolRun = (model: string) => async () => {
    const reply = await postJson(agent, `${gw.url}/v1/chat/completions`, gatewayHeaders, { model, messages: [user] });
    if (typeof reply.choices[0].message.content !== 'string' || !(reply.usage?.total_tokens > 20)) throw new Error(`the tool run answered ${JSON.stringify(reply).slice(0, 300)}`);
  };
  const gatewayTool = toolRun('openclaw/tools');
  const gatewayToolSdk = toolRun('openclaw/sdk-tools');
  const directTwo = async () => {
    const first = await postJson(agent, `${upstream.url}/v1/chat/completions`, direct.headers, { model: 'bench', messages: [user], tools: [tool] });
    const call = first.choices[0].message.tool_calls[0];
    await postJson(agent, `${upstream.url}/v1/chat/completions`, direct.headers, { model: 'bench', tools: [tool], messages: [user, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'Monday 1 January 2024 at 12:00:00 UTC' }] });
  };
  const gatewayPlain = () => postJson(agent, `${gw.url}/v1/chat/completions`, gatewayHeaders, { model: 'openclaw', messages: [user] }).then(() => undefined);
  const directOne = () => postJson(agent, `${upstream.url}/v1/chat/completions`, direct.headers, { model: 'bench', messages: [user] }).then(() => undefined);
  // The tool servers connect in the background: the first tool run of each agent must see its tool.
  for (const model of ['openclaw/tools', 'openclaw/sdk-tools']) {
    for (let i = 0; ; i++) {
      const reply = await postJson(agent, `${gw.url}/v1/chat/completions`, gatewayHeaders, { model, messages: [user] }).catch(() => undefined);
      if (reply?.usage?.total_tokens > 20) break;
      if (i > 500) throw new Error(`the bench tool server of ${model} did not come up:\n${gw.stderr()}`);
      await sleep(20);
    }
  }
  const msPerRound = 2_000;
  // Warm-up by count: after a few hundred runs V8 is still optimising the gateway's path (its first
  // round read ≈ 0.5 ms above the others after 500 ms of warm-up; bench/instructions.ts found the
  // same for plain requests), so 1,000 of each kind first.
  for (const send of [gatewayTool, gatewayToolSdk, gatewayPlain, directTwo]) for (let i = 0; i < 1_000; i++) await send();
  const result: ToolStepResult = {
    rounds,
    msPerRound,
    gatewayTool: [],
    gatewayToolSdk: [],
    directTwoCalls: [],
    gatewayPlain: [],
    directOneCall: [],
    requests: { gatewayTool: 0, gatewayToolSdk: 0, directTwoCalls: 0, gatewayPlain: 0, directOneCall: 0 },
  };
  for (let round = 1; round <= rounds; round++) {
    const g = await timed(msPerRound, gatewayTool);
    const gs = await timed(msPerRound, gatewayToolSdk);
    const d = await timed(msPerRound, directTwo);
    const gp = await timed(msPerRound / 2, gatewayPlain);
    const dp = await timed(msPerRound / 2, directOne);
    result.gatewayTool.push(g.p50);
    result.gatewayToolSdk.push(gs.p50);
    result.directTwoCalls.push(d.p50);
    result.gatewayPlain.push(gp.p50);
    result.directOneCall.push(dp.p50);
    result.requests.gatewayTool += g.requests;
    result.requests.gatewayToolSdk += gs.requests;
    result.requests.directTwoCalls += d.requests;
    result.requests.gatewayPlain += gp.requests;
    result.requests.directOneCall += dp.requests;
    log(`tool step round ${round}: gateway ${fmt(g.p50, 3)} ms vs two direct calls ${fmt(d.p50, 3)} ms (+${fmt(g.p50 - d.p50, 3)}; SDK demo server +${fmt(gs.p50 - d.p50, 3)}); plain run +${fmt(gp.p50 - dp.p50, 3)}`);
  }
  agent.destroy();
  await stopChild(gw.child);
  return result;
}

/**
 * `--tool-step --profile`: a CPU profile of the tool-step gateway while it serves only runs with one
 * tool step, one after another on one connection, summarised per run (start-up and warm-up left out).
 */
async function toolStepProfileRun(upstream: Upstream, dir: string, log: (line: string) => void) {
  const outDir = join(RESULTS, 'profiles');
  mkdirSync(outDir, { recursive: true });
  const profDir = tempDir('openclaw-bench-prof-');
  const gw = await startGateway(writeGatewayConfig(dir, upstream.url, { tools: true }), { cpuProfDir: profDir });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const run = async () => {
    const reply = await postJson(agent, `${gw.url}/v1/chat/completions`, { authorization: `Bearer ${TOKEN}` }, { model: 'openclaw/tools', messages: [{ role: 'user', content: 'What time is it?' }] });
    return reply?.usage?.total_tokens > 20;
  };
  for (let i = 0; !(await run().catch(() => false)); i++) {
    if (i > 500) throw new Error(`the bench tool server did not come up:\n${gw.stderr()}`);
    await sleep(20);
  }
  const warmStart = performance.now();
  await timed(3_000, async () => void (await run()));
  const skipMs = gw.readyMs + (performance.now() - warmStart) + 200;
  const measured = await timed(QUICK ? 3_000 : 10_000, async () => void (await run()));
  log(`tool-step profile: ${measured.requests} runs, p50 ${fmt(measured.p50, 3)} ms`);
  agent.destroy();
  const code = await stopChild(gw.child, 'SIGTERM', 10_000);
  await stopChild(upstream.child);
  const written = gatewayProfile(profDir);
  if (!written) throw new Error(`no .cpuprofile written (gateway exit ${code})`);
  const target = join(outDir, 'gateway-tool-step-1c.cpuprofile');
  writeFileSync(target, readFileSync(written));
  const summary = summariseProfile(JSON.parse(readFileSync(target, 'utf8')), ROOT, { skipMs });
  const text = `## runs with one tool step, 1 connection (${measured.requests} runs, p50 ${fmt(measured.p50, 3)} ms)\n\n${formatProfileSummary(summary, measured.requests)}`;
  writeFileSync(join(outDir, 'tool-step-summary.md'), `${text}\n`);
  process.stdout.write(`${text}\n\nProfile: ${target.slice(ROOT.length + 1)}\n`);
}

function toolStepMarkdown(result: ToolStepResult): string {
  const median = (values: number[]) => percentile(values, 50);
  const g = median(result.gatewayTool);
  const gs = median(result.gatewayToolSdk ?? []);
  const d = median(result.directTwoCalls);
  const gp = median(result.gatewayPlain);
  const dp = median(result.directOneCall);
  const lines = [
    '',
    `### One tool step (1 connection, non-streaming; median of ${result.rounds} rounds of p50, ms)`,
    '',
    'A run whose model calls one server tool, then answers from its result: two upstream calls. Against it, the same two upstream calls sent directly one after the other. The tool server of the first row is bench/mcp-instant-server.ts over stdio, whose `time` tool answers at once (what the loop adds); the second row runs the same through the demo server on the official SDK (examples/mcp-demo-server.ts), whose own work per call is in its figure. The plain row is one-call runs, for what the gateway adds to any request.',
    '',
    '| measure | gateway | direct | added |',
    '|---|---:|---:|---:|',
    `| run with one tool step vs two direct calls | ${fmt(g, 3)} | ${fmt(d, 3)} | +${fmt(g - d, 3)} |`,
    `| the same through the SDK demo server | ${fmt(gs, 3)} | ${fmt(d, 3)} | +${fmt(gs - d, 3)} |`,
    `| plain run vs one direct call | ${fmt(gp, 3)} | ${fmt(dp, 3)} | +${fmt(gp - dp, 3)} |`,
    `| requests measured (tool / SDK demo tool / two calls / plain / one call) | ${result.requests.gatewayTool} / ${result.requests.gatewayToolSdk} / ${result.requests.directTwoCalls} / ${result.requests.gatewayPlain} / ${result.requests.directOneCall} | | |`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// --first-chunk and --profile.

async function firstChunkRun(upstream: Upstream, configPath: string, direct: Target, log: (line: string) => void) {
  const gw = await startGateway(configPath);
  const gateway: Target = { name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid };
  const stateless: Load = { kind: 'stateless' };
  await streamTiming(gateway, stateless, 1, 2_000, 20_000);
  const rows: string[] = ['| round | first chunk p50 g / d (added) | first content p50 g / d (added) | relay of the first content p50 g / d (added) | [DONE] p50 g / d |', '|---:|---:|---:|---:|---:|'];
  for (let round = 1; round <= 5; round++) {
    const g = await streamTiming(gateway, stateless, 1, 2_000, 20_000);
    const d = await streamTiming(direct, stateless, 1, 2_000, 20_000);
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
  process.stdout.write(`## first chunk at 1 connection (ms, p50 over 2 s per cell; upstream ${PLAN.chunks} chunks)\n\n${rows.join('\n')}\n`);
}

/**
 * --ab-node-args: two gateways, one started with the given node flags and one without, each cell
 * run on both in turn, twice (A B A B); medians of the two. For flags that trade CPU for memory.
 */
async function nodeArgsRun(upstream: Upstream, configPath: string, store: Record<string, unknown>, nodeArgs: string[], log: (line: string) => void) {
  const gateways = { without: await startGateway(configPath), with: await startGateway(configPath, { nodeArgs }) };
  const targetOf = (gw: Gateway): Target => ({ name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid, loopDelay: () => gatewayLoopDelay(gw.url) });
  const targets = { without: targetOf(gateways.without), with: targetOf(gateways.with) };
  // With PostgreSQL both gateways share the database: the sessions are written once, for both.
  await seedSessions(gateways.without.stateDir, store, 'turns20', PLAN.sessions20, 20);
  if (STORE === 'sqlite') await seedSessions(gateways.with.stateDir, store, 'turns20', PLAN.sessions20, 20);
  const loads = { without: { kind: 'rotating', name: 'turns20', sessions: PLAN.sessions20, counter: { next: 0 } } as Load, with: { kind: 'rotating', name: 'turns20', sessions: PLAN.sessions20, counter: { next: 0 } } as Load };
  for (const side of ['without', 'with'] as const) {
    await targets[side].loopDelay!();
    await cannon(targets[side], false, { kind: 'stateless' }, 16, PLAN.warmupSec);
    await cannon(targets[side], true, { kind: 'stateless' }, 16, PLAN.warmupSec);
  }
  const rows: string[] = [];
  for (const [kind, stateful, connections] of [['non-stream', false, 16], ['non-stream', false, 64], ['stream', false, 16], ['stream', false, 64], ['non-stream', true, 16], ['stream', true, 64]] as const) {
    const results: Record<'without' | 'with', CannonResult[]> = { without: [], with: [] };
    for (let round = 0; round < 2; round++) {
      for (const side of ['without', 'with'] as const) results[side].push(await cannon(targets[side], kind === 'stream', stateful ? loads[side] : { kind: 'stateless' }, connections, PLAN.durationSec));
    }
    const median = (list: CannonResult[], pick: (r: CannonResult) => number) => percentile(list.map(pick), 50);
    const cell = (side: 'without' | 'with') => `${fmt(median(results[side], (r) => r.rps), 0)} req/s, ${fmt(median(results[side], (r) => r.cpuPerRequestUs), 0)} µs`;
    const name = `${kind} ${stateful ? 'stateful (20 turns)' : 'stateless'} c=${connections}`;
    rows.push(`| ${name} | ${cell('without')} | ${cell('with')} | ${ratio(median(results.with, (r) => r.cpuPerRequestUs), median(results.without, (r) => r.cpuPerRequestUs))} |`);
    log(`${name}: without ${cell('without')}; with ${cell('with')}`);
  }
  const peak = { without: procStatus(gateways.without.child.pid).hwmMB, with: procStatus(gateways.with.child.pid).hwmMB };
  await stopChild(gateways.without.child);
  await stopChild(gateways.with.child);
  await stopChild(upstream.child);
  process.stdout.write(
    [
      `## Gateway with and without \`${nodeArgs.join(' ')}\` (${PLAN.durationSec}s cells, A B A B, medians; upstream ${PLAN.chunks} chunks)`,
      '',
      `| cell | without: req/s, CPU/request | with | CPU with ÷ without |`,
      '|---|---:|---:|---:|',
      ...rows,
      `| peak RSS (VmHWM) after all cells | ${fmt(peak.without, 1)} MB | ${fmt(peak.with, 1)} MB | ${ratio(peak.with, peak.without)} |`,
      '',
    ].join('\n'),
  );
}

/**
 * The gateway's own profile among those written to `dir`: bin/openclaw.js writes a short one of its
 * own when it re-executes itself with the gateway's node flags (same pid), so the largest is taken.
 */
function gatewayProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile')).map((file) => join(dir, file));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

async function profileRun(upstream: Upstream, configPath: string, direct: Target, log: (line: string) => void) {
  const outDir = join(RESULTS, 'profiles');
  mkdirSync(outDir, { recursive: true });
  const durationSec = QUICK ? 3 : 10;
  const summaries: string[] = [];
  const stateless: Load = { kind: 'stateless' };
  for (const stream of [false, true]) {
    const name = stream ? 'stream' : 'non-stream';
    const profDir = tempDir('openclaw-bench-prof-');
    const gw = await startGateway(configPath, { cpuProfDir: profDir });
    const gateway: Target = { name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid };
    const warmStart = performance.now();
    await cannon(gateway, stream, stateless, 16, 1);
    const warmupMs = performance.now() - warmStart;
    const result = await cannon(gateway, stream, stateless, 16, durationSec);
    const d = await cannon(direct, stream, stateless, 16, Math.min(3, durationSec));
    log(`profile ${name}: gateway ${fmt(result.rps, 0)} req/s (direct ${fmt(d.rps, 0)}) over ${durationSec}s at 16 connections`);
    const code = await stopChild(gw.child, 'SIGTERM', 10_000);
    const written = gatewayProfile(profDir);
    if (!written) {
      log(`no .cpuprofile written (gateway exit ${code}); it must exit normally for --cpu-prof to write one`);
      continue;
    }
    const target = join(outDir, `gateway-${name}-16c.cpuprofile`);
    writeFileSync(target, readFileSync(written));
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

/** The gateway's loop delay at 1 ms resolution since the previous ask (bench/loop-probe.mjs, preloaded). */
async function probeLoopDelay(file: string): Promise<LoopDelay | undefined> {
  rmSync(file, { force: true });
  writeFileSync(`${file}.ask`, '');
  for (const until = performance.now() + 2_000; performance.now() < until; await sleep(5)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as LoopDelay;
    } catch {
      // not written yet
    }
  }
  return undefined;
}

/**
 * --stateful-only: what a stored session costs. Stateless and 20-turn non-streaming cells at 16
 * connections alternate for a few rounds (CPU per request, medians), then the 10,000-turn cells at 1
 * and 16 connections; the loop delay at 1 ms resolution throughout. With --profile the gateway runs
 * under --cpu-prof and the profile of the stateful rounds is summarised.
 */
async function statefulRun(upstream: Upstream, configPath: string, store: Record<string, unknown>, log: (line: string) => void) {
  const rounds = flags.rounds ? positive(flags.rounds, '--rounds') : 3;
  const probeFile = join(tempDir('openclaw-bench-loop-'), 'loop.json');
  const profDir = PROFILE ? tempDir('openclaw-bench-prof-') : undefined;
  const gw = await startGateway(configPath, { nodeArgs: ['--import', join(ROOT, 'bench', 'loop-probe.mjs')], env: { BENCH_LOOP_PROBE_FILE: probeFile }, cpuProfDir: profDir });
  const spawnedAt = performance.now() - gw.firstCompletionMs;
  const gateway: Target = { name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid, loopDelay: () => probeLoopDelay(probeFile) };
  const sessions20: Load = { kind: 'rotating', name: 'turns20', sessions: PLAN.sessions20, counter: { next: 0 } };
  const longSessions: Load = { kind: 'per-connection', name: 'turns10k', sessions: 16 };
  const seed20 = await seedSessions(gw.stateDir, store, 'turns20', PLAN.sessions20, 20);
  const seedLong = await seedSessions(gw.stateDir, store, 'turns10k', 16, PLAN.longSessionTurns);
  log(`seeded ${PLAN.sessions20} × 20 turns (${fmt(seed20, 0)} ms), 16 × ${PLAN.longSessionTurns} turns (${fmt(seedLong, 0)} ms)`);
  await cannon(gateway, false, { kind: 'stateless' }, 16, 3);
  await cannon(gateway, false, sessions20, 16, 2);
  const results: Record<'stateless' | 'stateful', CannonResult[]> = { stateless: [], stateful: [] };
  for (let round = 0; round < rounds; round++) {
    for (const state of round % 2 ? (['stateful', 'stateless'] as const) : (['stateless', 'stateful'] as const)) {
      const r = await cannon(gateway, false, state === 'stateful' ? sessions20 : { kind: 'stateless' }, 16, PLAN.durationSec);
      results[state].push(r);
      log(`round ${round + 1} ${state} c=16: ${fmt(r.rps, 0)} req/s, ${fmt(r.cpuPerRequestUs, 0)} µs CPU/req, loop delay p99 ${fmt(r.loopDelay?.p99Ms)} ms max ${fmt(r.loopDelay?.maxMs, 1)} ms${r.non2xx + r.errors ? ` (${r.non2xx + r.errors} failed)` : ''}`);
    }
  }
  const median = (list: CannonResult[], pick: (r: CannonResult) => number | undefined) => percentile(list.map(pick).filter((v): v is number => v !== undefined), 50);
  const rows: string[] = [];
  const row = (name: string, list: CannonResult[]) =>
    rows.push(`| ${name} | ${fmt(median(list, (r) => r.rps), 0)} | ${fmt(median(list, (r) => r.cpuPerRequestUs), 0)} | ${fmt(median(list, (r) => r.loopDelay?.p50Ms))} / ${fmt(median(list, (r) => r.loopDelay?.p99Ms))} / ${fmt(Math.max(...list.map((r) => r.loopDelay?.maxMs ?? NaN)), 1)} |`);
  row(`stateless, 16 conns (${rounds} rounds)`, results.stateless);
  row(`20 turns, 16 conns (${rounds} rounds)`, results.stateful);
  const ratioText = ratio(median(results.stateful, (r) => r.cpuPerRequestUs), median(results.stateless, (r) => r.cpuPerRequestUs));
  // With --profile: one longer cell of each, the only stretches of the profile summarised.
  const profiled: Array<{ state: 'stateless' | 'stateful'; from: number; until: number; requests: number }> = [];
  for (const state of profDir ? (['stateless', 'stateful'] as const) : []) {
    const from = performance.now();
    const r = await cannon(gateway, false, state === 'stateful' ? sessions20 : { kind: 'stateless' }, 16, 10);
    profiled.push({ state, from, until: performance.now(), requests: r.requests });
  }
  for (const [load, connections, name] of [
    [sessions20, 1, '20 turns, 1 conn'],
    [{ kind: 'stateless' }, 1, 'stateless, 1 conn'],
    [longSessions, 1, `${int(PLAN.longSessionTurns)} turns, 1 conn`],
    [longSessions, 16, `${int(PLAN.longSessionTurns)} turns, 16 conns`],
  ] as Array<[Load, number, string]>) {
    const r = await cannon(gateway, false, load, connections, PLAN.durationSec);
    row(name, [r]);
    log(`${name}: ${fmt(r.rps, 0)} req/s, ${fmt(r.cpuPerRequestUs, 0)} µs CPU/req, loop delay p99 ${fmt(r.loopDelay?.p99Ms)} ms max ${fmt(r.loopDelay?.maxMs, 1)} ms${r.non2xx + r.errors ? ` (${r.non2xx + r.errors} failed)` : ''}`);
  }
  await stopChild(gw.child, 'SIGTERM', 10_000);
  await stopChild(upstream.child);
  const text = [
    `## Stateful cost (${STORE}; non-streaming; ${PLAN.durationSec}s cells; upstream ${PLAN.chunks} chunks)`,
    '',
    `Stateful ÷ stateless gateway CPU per request at 16 connections (medians): **${ratioText}**`,
    '',
    'Loop delay: `monitorEventLoopDelay({ resolution: 1 })` in the gateway (bench/loop-probe.mjs): each sample is the time between two 1 ms timer runs, so an idle loop reads ≈1.1 ms; a block of B ms reads ≈1 + B ms.',
    '',
    '| cell | req/s | CPU µs/req | loop delay p50 / p99 / max (ms) |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
  ];
  if (profDir) {
    const written = gatewayProfile(profDir);
    if (written) {
      const target = join(RESULTS, 'profiles', 'gateway-stateful-16c.cpuprofile');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(written));
      const profile = JSON.parse(readFileSync(target, 'utf8'));
      for (const window of profiled) {
        const summary = summariseProfile(profile, ROOT, { skipMs: window.from - spawnedAt, untilMs: window.until - spawnedAt });
        writeFileSync(join(RESULTS, 'profiles', `gateway-${window.state}-16c.summary.json`), `${JSON.stringify(summary, null, 2)}\n`);
        text.push(`### CPU profile, a 10s ${window.state === 'stateful' ? '20-turn' : 'stateless'} cell at 16 connections (${window.requests} requests): ${target.slice(ROOT.length + 1)}`, '', formatProfileSummary(summary, window.requests), '');
      }
    }
  }
  process.stdout.write(`${text.join('\n')}\n`);
}

/**
 * --stateful-only --against <checkout>: this checkout's gateway and that one's side by side on one
 * upstream, each cell run on both in turn (the order alternating by round), so the machine's noise
 * falls on both alike. Each gateway's sessions are seeded by its own checkout's code.
 */
async function statefulAbRun(upstream: Upstream, configPath: string, store: Record<string, unknown>, against: string, log: (line: string) => void) {
  const rounds = flags.rounds ? positive(flags.rounds, '--rounds') : 3;
  const sides = [
    { name: 'this', root: ROOT },
    { name: 'against', root: against },
  ];
  const gateways: Array<{ name: string; root: string; gw: Gateway; target: Target; sessions20: Load }> = [];
  for (const side of sides) {
    const probeFile = join(tempDir('openclaw-bench-loop-'), 'loop.json');
    const gw = await startGateway(configPath, { root: side.root, nodeArgs: ['--import', join(ROOT, 'bench', 'loop-probe.mjs')], env: { BENCH_LOOP_PROBE_FILE: probeFile } });
    const target: Target = { name: 'gateway', url: gw.url, headers: { authorization: `Bearer ${TOKEN}` }, model: 'openclaw', pid: () => gw.child.pid, loopDelay: () => probeLoopDelay(probeFile) };
    const seeder = (await import(join(side.root, 'bench', 'seed-sessions.ts'))) as typeof import('./seed-sessions.ts');
    await seeder.seedSessions(gw.stateDir, store, 'turns20', PLAN.sessions20, 20);
    await seeder.seedSessions(gw.stateDir, store, 'turns10k', 16, PLAN.longSessionTurns);
    gateways.push({ ...side, gw, target, sessions20: { kind: 'rotating', name: 'turns20', sessions: PLAN.sessions20, counter: { next: 0 } } as Load });
  }
  log(`two gateways seeded (${sides.map((side) => side.root).join(' vs ')})`);
  for (const g of gateways) {
    await cannon(g.target, false, { kind: 'stateless' }, 16, 3);
    await cannon(g.target, false, g.sessions20, 16, 2);
  }
  const longSessions: Load = { kind: 'per-connection', name: 'turns10k', sessions: 16 };
  const cells: Array<[string, (g: (typeof gateways)[number]) => Load, number]> = [
    ['stateless, 16 conns', () => ({ kind: 'stateless' }), 16],
    ['20 turns, 16 conns', (g) => g.sessions20, 16],
    ['20 turns, 1 conn', (g) => g.sessions20, 1],
    [`${int(PLAN.longSessionTurns)} turns, 1 conn`, () => longSessions, 1],
    [`${int(PLAN.longSessionTurns)} turns, 16 conns`, () => longSessions, 16],
  ];
  const results = new Map<string, CannonResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, load, connections] of cells) {
      for (const g of round % 2 ? [...gateways].reverse() : gateways) {
        const r = await cannon(g.target, false, load(g), connections, PLAN.durationSec);
        const key = `${g.name}|${name}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        log(`round ${round + 1} ${g.name} ${name}: ${fmt(r.rps, 0)} req/s, ${fmt(r.cpuPerRequestUs, 0)} µs CPU/req, loop delay p99 ${fmt(r.loopDelay?.p99Ms)} ms${r.non2xx + r.errors ? ` (${r.non2xx + r.errors} failed)` : ''}`);
      }
    }
  }
  for (const g of gateways) await stopChild(g.gw.child, 'SIGTERM', 10_000);
  await stopChild(upstream.child);
  const median = (list: CannonResult[], pick: (r: CannonResult) => number | undefined) => percentile(list.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v)), 50);
  const cpu = (side: string, cell: string) => median(results.get(`${side}|${cell}`)!, (r) => r.cpuPerRequestUs);
  const lines = [
    `## Stateful cost, A/B (${STORE}; non-streaming; ${PLAN.durationSec}s cells, ${rounds} rounds, every cell on both gateways in turn; medians)`,
    '',
    `this: ${ROOT}; against: ${against}. Loop delay at 1 ms resolution (an idle loop reads ≈1.1 ms).`,
    '',
    '| cell | this: CPU µs/req | against | this: req/s | against | this: loop delay p99 / max (ms) | against |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name] of cells) {
    const pick = (side: string) => results.get(`${side}|${name}`)!;
    const loop = (side: string) => `${fmt(median(pick(side), (r) => r.loopDelay?.p99Ms))} / ${fmt(Math.max(...pick(side).map((r) => r.loopDelay?.maxMs ?? NaN)), 1)}`;
    lines.push(`| ${name} | ${fmt(cpu('this', name), 0)} | ${fmt(cpu('against', name), 0)} | ${fmt(median(pick('this'), (r) => r.rps), 0)} | ${fmt(median(pick('against'), (r) => r.rps), 0)} | ${loop('this')} | ${loop('against')} |`);
  }
  lines.push(`| **20 turns ÷ stateless CPU, 16 conns** | **${ratio(cpu('this', '20 turns, 16 conns'), cpu('this', 'stateless, 16 conns'))}** | **${ratio(cpu('against', '20 turns, 16 conns'), cpu('against', 'stateless, 16 conns'))}** | | | | |`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main()
  .then(() => cleanup())
  .catch(async (error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
    await cleanup();
    process.exitCode = 1;
  });
