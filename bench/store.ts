// Session store micro-benchmark: `node bench/store.ts [--turns 10000] [--iterations 500]`.
// Fills one session with N turns (user + assistant), then times appendTurn and the tail read
// (loadTranscript lastMessages 50 / 200) against the real SQLite file in a temp state dir.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MessageRecord } from '../src/records/record.ts';
import { openDefaultSessionStore } from '../src/sessions/open.ts';
import type { SqliteSessionStore } from '../src/sessions/sqlite-store.ts';

const { values } = parseArgs({
  options: {
    turns: { type: 'string', default: '10000' },
    iterations: { type: 'string', default: '500' },
  },
});
const TURNS = Number(values.turns);
const ITERATIONS = Number(values.iterations);
const KEY = 'agent:main:openai-user:bench';

const filler = 'The quick brown fox jumps over the lazy dog. '.repeat(6);
const turn = (i: number): MessageRecord[] => [
  { role: 'user', content: [{ type: 'text', text: `question ${i}: ${filler}` }] },
  { role: 'assistant', content: [{ type: 'text', text: `answer ${i}: ${filler}${filler}` }] },
];
let position = 0;
const append = async (i: number) => {
  position = await store.appendTurn(KEY, { messages: turn(i), meta: { requestId: `bench-${i}`, model: 'echo/echo', outcome: 'completed' } }, { expectedPosition: position });
};

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

async function measure(name: string, work: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await work(-1 - i); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    await work(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  console.log(`${name.padEnd(28)} p50 ${percentile(samples, 50).toFixed(3)} ms   p99 ${percentile(samples, 99).toFixed(3)} ms   mean ${mean.toFixed(3)} ms   (n=${samples.length})`);
}

const stateDir = mkdtempSync(join(tmpdir(), 'openclaw-bench-store-'));
const store = openDefaultSessionStore(stateDir) as SqliteSessionStore;
try {
  console.log(`node ${process.version}, store ${store.file}`);
  const fillStart = Date.now();
  for (let i = 0; i < TURNS; i++) await append(i);
  const fillMs = Date.now() - fillStart;
  console.log(`filled ${TURNS} turns (${TURNS * 2} messages) in ${fillMs} ms (${((fillMs / TURNS) * 1000).toFixed(0)} µs/turn); file ${(statSync(store.file).size / 1e6).toFixed(1)} MB`);

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
  const [summary] = await store.listSessions();
  console.log(`session now has ${summary.turnCount} turns, ${summary.messageCount} messages`);
} finally {
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
}
