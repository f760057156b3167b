// Session store micro-benchmark:
//   node bench/store.ts [--driver sqlite|postgres] [--client pg|postgres] [--turns 10000] [--iterations 500]
// Fills one session with N turns (user + assistant), then times appendTurn, the uncontended session
// lock, the tail read (loadTranscript lastMessages 50 / 200), and appends from 16 sessions at once.
// SQLite runs on a file in a temp state dir; PostgreSQL on a fresh database created on the server
// at --url / OPENCLAW_BENCH_POSTGRES_URL (default the local one) and dropped at the end. --client
// picks the PostgreSQL client library behind the store: `pg` (what the store ships with) or
// `postgres` (porsager), measured through the same seam.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { MessageRecord } from '../src/records/record.ts';
import { openDefaultSessionStore } from '../src/sessions/open.ts';
import { PostgresSessionStore } from '../src/sessions/postgres-store.ts';
import type { SessionStore } from '../src/sessions/store.ts';
import { PostgresJsClient } from './postgresjs-client.ts';

const { values } = parseArgs({
  options: {
    driver: { type: 'string', default: 'sqlite' },
    client: { type: 'string', default: 'pg' },
    url: { type: 'string', default: process.env.OPENCLAW_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres' },
    turns: { type: 'string', default: '10000' },
    iterations: { type: 'string', default: '500' },
    /** SQLite: WAL checkpoints on a worker thread, as the gateway runs its store. */
    'background-checkpoints': { type: 'boolean', default: false },
  },
});
const TURNS = Number(values.turns);
const ITERATIONS = Number(values.iterations);
const KEY = 'agent:main:openai-user:bench';
if (!['sqlite', 'postgres'].includes(values.driver!)) throw new Error('--driver must be sqlite or postgres');
if (!['pg', 'postgres'].includes(values.client!)) throw new Error('--client must be pg or postgres');

const filler = 'The quick brown fox jumps over the lazy dog. '.repeat(6);
const turn = (i: number): MessageRecord[] => [
  { role: 'user', content: [{ type: 'text', text: `question ${i}: ${filler}` }] },
  { role: 'assistant', content: [{ type: 'text', text: `answer ${i}: ${filler}${filler}` }] },
];
const meta = (i: number) => ({ requestId: `bench-${i}`, model: 'echo/echo', outcome: 'completed' as const });
let position = 0;
const append = async (i: number) => {
  position = await store.appendTurn(KEY, { messages: turn(i), meta: meta(i) }, { expectedPosition: position });
};

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

async function measure(name: string, work: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await work(-1 - i); // warm-up
  const samples: number[] = [];
  // CPU time of this process per operation: what the client library costs, and far less sensitive
  // to other load on the machine than wall-clock latency.
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    await work(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const cpu = process.cpuUsage(cpuBefore);
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  const cpuPerOp = (cpu.user + cpu.system) / ITERATIONS;
  console.log(
    `${name.padEnd(32)} p50 ${percentile(samples, 50).toFixed(3)} ms   p99 ${percentile(samples, 99).toFixed(3)} ms   mean ${mean.toFixed(3)} ms   cpu ${cpuPerOp.toFixed(0)} µs/op   (n=${samples.length})`,
  );
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: values.url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

let store: SessionStore;
let describeStore: () => string;
let teardown: () => Promise<void>;
if (values.driver === 'sqlite') {
  const stateDir = mkdtempSync(join(tmpdir(), 'openclaw-bench-store-'));
  const sqlite = openDefaultSessionStore(stateDir, undefined, { backgroundCheckpoints: values['background-checkpoints'] });
  store = sqlite;
  describeStore = () => `sqlite ${sqlite.file} (${(statSync(sqlite.file).size / 1e6).toFixed(1)} MB)`;
  teardown = async () => rmSync(stateDir, { recursive: true, force: true });
} else {
  const database = `openclaw_bench_store_${process.pid}`;
  await admin(`CREATE DATABASE ${database}`);
  const url = new URL(values.url!);
  url.pathname = `/${database}`;
  const postgres = await PostgresSessionStore.open({
    url: url.toString(),
    poolSize: 10,
    client: values.client === 'postgres' ? (options) => new PostgresJsClient(options) : undefined,
  });
  store = postgres;
  describeStore = () => `postgres ${postgres.location}, client ${postgres.library}`;
  teardown = () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
}

try {
  console.log(`node ${process.version}, store ${describeStore()}`);
  const fillStart = Date.now();
  for (let i = 0; i < TURNS; i++) await append(i);
  const fillMs = Date.now() - fillStart;
  console.log(`filled ${TURNS} turns (${TURNS * 2} messages) in ${fillMs} ms (${((fillMs / TURNS) * 1000).toFixed(0)} µs/turn); ${describeStore()}`);

  await measure('appendTurn (2 messages)', (i) => append(TURNS + i + 100));
  await measure('lock + release, uncontended', async () => {
    const lock = await store.lockSession(KEY, { timeoutMs: 1_000 });
    await lock.release();
  });
  for (const n of [50, 200]) {
    await measure(`loadTranscript last ${n}`, async () => {
      const { messages } = await store.loadTranscript(KEY, { lastMessages: n });
      if (messages.length !== n) throw new Error(`expected ${n} messages, got ${messages.length}`);
    });
  }
  // One run's store work, step by step, as the gateway does it per stateful request: on rotating
  // 20-turn sessions (copies of one), then on the long session. Each step is one synchronous block
  // of the event loop for SQLite: its p99 and max say how long a request holds the loop.
  const seed = 'agent:main:openai-user:seed20';
  let seedAt = 0;
  for (let i = 0; i < 20; i++) seedAt = await store.appendTurn(seed, { messages: turn(i), meta: meta(i) }, { expectedPosition: seedAt });
  const rotating = 500;
  for (let s = 0; s < rotating; s++) await store.copyTranscript(seed, `agent:main:openai-user:r${s}`, seedAt);
  for (const [label, keyOf] of [
    ['20-turn sessions', (i: number) => `agent:main:openai-user:r${i % rotating}`],
    [`${TURNS}-turn session`, () => KEY],
  ] as Array<[string, (i: number) => string]>) {
    const steps: Record<'lock' | 'load' | 'append' | 'release', number[]> = { lock: [], load: [], append: [], release: [] };
    const cpuBefore = process.cpuUsage();
    const runs = Math.max(ITERATIONS, 1_000);
    for (let i = -50; i < runs; i++) {
      const key = keyOf(i + 50);
      let t = process.hrtime.bigint();
      const lap = (step: keyof typeof steps) => {
        const now = process.hrtime.bigint();
        if (i >= 0) steps[step].push(Number(now - t) / 1e6);
        t = now;
      };
      const lock = await store.lockSession(key, { timeoutMs: 1_000 });
      lap('lock');
      const { position } = await store.loadTranscript(key, { lastMessages: 200 });
      lap('load');
      await store.appendTurn(key, { messages: turn(i), meta: meta(i) }, { expectedPosition: position, lock });
      lap('append');
      await lock.release();
      lap('release');
      if (i === -1) Object.assign(cpuBefore, process.cpuUsage());
    }
    const cpu = process.cpuUsage(cpuBefore);
    const describe = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `p50 ${percentile(sorted, 50).toFixed(3)} p99 ${percentile(sorted, 99).toFixed(3)} max ${sorted[sorted.length - 1].toFixed(2)}`;
    };
    console.log(`one run's store work, ${label}: process cpu ${((cpu.user + cpu.system) / runs).toFixed(0)} µs/run`);
    // Each step is one synchronous stretch on the event loop: its wall time is how long it holds the loop.
    for (const step of Object.keys(steps) as Array<keyof typeof steps>) console.log(`  ${step.padEnd(8)} ms ${describe(steps[step])}`);
    position = (await store.getSession(KEY))?.messageCount ?? position;
  }

  // 16 sessions at once, each a run's store work: lock, tail read, append, release.
  const sessions = 16;
  const perSession = Math.max(20, Math.floor(ITERATIONS / 4));
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const key = `agent:main:concurrent-${s}`;
      let at = 0;
      for (let i = 0; i < perSession; i++) {
        const lock = await store.lockSession(key, { timeoutMs: 5_000 });
        await store.loadTranscript(key, { lastMessages: 200 });
        at = await store.appendTurn(key, { messages: turn(i), meta: meta(i) }, { expectedPosition: at });
        await lock.release();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${'run store work, 16 sessions'.padEnd(32)} ${((sessions * perSession) / seconds).toFixed(0)} runs/s (lock + tail read + append + release; ${sessions * perSession} runs)`);
  const [summary] = (await store.listSessions()).filter((session) => session.key === KEY);
  console.log(`session now has ${summary.turnCount} turns, ${summary.messageCount} messages`);
} finally {
  await store.close();
  await teardown();
}
