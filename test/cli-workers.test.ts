// `openclaw gateway --workers 2` as an operator runs it: a real supervisor process and two real
// workers on one port. Which worker answered comes from the workers' request log lines (`worker`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { contentText } from '../src/records/record.ts';
import { openDefaultSessionStore } from '../src/sessions/open.ts';

const BIN = new URL('../bin/openclaw.js', import.meta.url).pathname;
const TOKEN = 'workers-test-token-0123456789';
const running: ChildProcess[] = [];
const dirs: string[] = [];
let upstream: FakeUpstream | undefined;

afterEach(async () => {
  for (const child of running.splice(0)) {
    // The whole group: the supervisor and its workers.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await upstream?.close();
  upstream = undefined;
});

interface LogLine {
  event?: string;
  worker?: number;
  pid?: number;
  status?: number;
  [key: string]: unknown;
}

interface Cluster {
  child: ChildProcess;
  url: string;
  stateDir: string;
  stderr(): string;
  logs(): LogLine[];
  exited: Promise<number | null>;
  /** Resolves with the first log line (from now on, or already logged) that matches. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>;
}

async function startCluster(config: Record<string, unknown>, extraArgs: string[] = [], options: { waitForListening?: boolean } = {}): Promise<Cluster> {
  const stateDir = mkdtempSync(join(tmpdir(), 'openclaw-workers-'));
  dirs.push(stateDir);
  const configPath = join(stateDir, 'config.json5');
  writeFileSync(configPath, JSON.stringify(config));
  // Its own process group, so a test can signal it as a terminal's Ctrl-C would (every process).
  const child = spawn(process.execPath, [BIN, 'gateway', '--config', configPath, '--port', '0', '--bind', '127.0.0.1', '--workers', '2', ...extraArgs], {
    env: { PATH: process.env.PATH ?? '', HOME: stateDir, OPENCLAW_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let stderr = '';
  let stdout = '';
  const waiters: Array<() => void> = [];
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  const waitForLog = async (match: (line: LogLine) => boolean): Promise<LogLine> => {
    for (;;) {
      const found = logs().find(match);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}) while waiting for a log line:\n${stderr}\n${stdout}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  while (options.waitForListening !== false && !/listening on (\S+)/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = /listening on (\S+)/.exec(stderr)?.[1] ?? '';
  return { child, url, stateDir, stderr: () => stderr, logs, exited, waitForLog };
}

/** One request on a connection of its own (so the supervisor hands each to the next worker). */
function post(url: string, body: unknown, token = TOKEN): Promise<{ status: number; text: string; requestId: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${url}/v1/chat/completions`,
      { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, requestId: String(res.headers['x-request-id']) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The worker that answered each request, from its `http.request` log line. */
async function workersOf(cluster: Cluster, requestIds: string[]): Promise<number[]> {
  const workers: number[] = [];
  for (const id of requestIds) workers.push((await cluster.waitForLog((line) => line.event === 'http.request' && line.requestId === id)).worker!);
  return workers;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const echoConfig = (extra: Record<string, unknown> = {}) => ({
  gateway: { auth: { token: TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } }, ...extra },
  agents: { defaults: { model: 'echo/echo' }, list: [{ id: 'main', default: true }] },
});
const hello = (text: string) => ({ model: 'openclaw', messages: [{ role: 'user', content: text }] });

describe('openclaw gateway --workers', () => {
  it('serves one port from two worker processes, each request answered whole by one of them', async () => {
    const cluster = await startCluster(echoConfig());
    expect(cluster.stderr()).toContain('with 2 workers');
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await post(cluster.url, hello(`hi ${i}`)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).choices[0].message.content).toBe(`Echo: hi ${i}`);
    }
    const workers = await workersOf(cluster, answers.map((answer) => answer.requestId));
    expect(new Set(workers)).toEqual(new Set([1, 2]));
    const pids = new Set(cluster.logs().filter((line) => line.event === 'http.request').map((line) => line.pid));
    expect(pids.size).toBe(2);
    expect(pids.has(cluster.child.pid)).toBe(false);
  }, 60_000);

  it('counts wrong tokens across workers and locks the client out on every worker', async () => {
    const cluster = await startCluster(echoConfig({ auth: { token: TOKEN, rateLimit: { maxAttempts: 4, exemptLoopback: false } } }));
    const wrong = [];
    for (let i = 0; i < 4; i++) wrong.push(await post(cluster.url, hello('let me in'), 'wrong-token-0123456789'));
    expect(wrong.map((answer) => answer.status)).toEqual([401, 401, 401, 401]);
    // Two failures on each worker: a count per worker would stay below the four allowed.
    const failedOn = await workersOf(cluster, wrong.map((answer) => answer.requestId));
    expect(failedOn.filter((worker) => worker === 1)).toHaveLength(2);
    expect(failedOn.filter((worker) => worker === 2)).toHaveLength(2);

    const after = [];
    for (let i = 0; i < 4; i++) after.push(await post(cluster.url, hello('right token now')));
    expect(after.map((answer) => answer.status)).toEqual([429, 429, 429, 429]);
    expect(JSON.parse(after[0].text).error.code).toBe('auth_rate_limited');
    expect(new Set(await workersOf(cluster, after.map((answer) => answer.requestId)))).toEqual(new Set([1, 2]));
  }, 60_000);

  it('replaces a worker that dies and keeps serving meanwhile', async () => {
    const cluster = await startCluster(echoConfig());
    const first = await cluster.waitForLog((line) => line.event === 'worker.started' && line.worker === 1);
    process.kill(first.pid!, 'SIGKILL');
    const exited = await cluster.waitForLog((line) => line.event === 'worker.exited' && line.worker === 1);
    expect(exited.signal).toBe('SIGKILL');
    await cluster.waitForLog((line) => line.event === 'worker.restarting' && line.worker === 1);

    // The survivor serves while the replacement starts.
    const meanwhile = await post(cluster.url, hello('still there?'));
    expect(meanwhile.status).toBe(200);

    const replacement = await cluster.waitForLog((line) => line.event === 'gateway.listening' && line.worker === 3);
    expect(replacement.pid).not.toBe(first.pid);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(cluster.url, hello(`after ${i}`)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(await workersOf(cluster, answers.map((answer) => answer.requestId)))).toEqual(new Set([2, 3]));
  }, 60_000);

  it("runs one session's concurrent turns one after another across workers, each stored whole", async () => {
    upstream = await startFakeUpstream((recorded) => {
      const last = recorded.body.messages.at(-1);
      return { kind: 'text', text: `reply to ${last.content}`, delayMs: 100 };
    });
    const cluster = await startCluster({
      gateway: { auth: { token: TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } },
      agents: { defaults: { model: 'up/fake-model' }, list: [{ id: 'main', default: true }] },
    });
    const turns = 6;
    const answers = await Promise.all(Array.from({ length: turns }, (_, i) => post(cluster.url, { ...hello(`turn ${i}`), user: 'shared' })));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).choices[0].message.content).toBe(`reply to turn ${i}`);
    }
    expect(new Set(await workersOf(cluster, answers.map((answer) => answer.requestId)))).toEqual(new Set([1, 2]));

    // Each call to the model saw every turn stored before it: the turns ran one at a time.
    const sizes = upstream.requests.map((recorded) => recorded.body.messages.length);
    expect(sizes).toEqual([1, 3, 5, 7, 9, 11]);
    const store = openDefaultSessionStore(cluster.stateDir);
    try {
      const stored = await store.listTurns('agent:main:openai-user:shared');
      expect(stored).toHaveLength(turns);
      for (const turn of stored) {
        expect(turn.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
        expect(contentText(turn.messages[1].content)).toBe(`reply to ${contentText(turn.messages[0].content)}`);
      }
      expect(new Set(stored.map((turn) => contentText(turn.messages[0].content)))).toEqual(new Set(Array.from({ length: turns }, (_, i) => `turn ${i}`)));
    } finally {
      await store.close();
    }
  }, 60_000);

  it('stops as one on Ctrl-C: in-flight streams finish on every worker, then the supervisor exits 0', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'text', text: 'a b c d e f g h', chunks: 8, chunkDelayMs: 100 }));
    const cluster = await startCluster({
      gateway: { auth: { token: TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } },
      agents: { defaults: { model: 'up/fake-model' }, list: [{ id: 'main', default: true }] },
    });
    const workerPids = cluster
      .logs()
      .filter((line) => line.event === 'worker.started')
      .map((line) => line.pid!);
    expect(workerPids).toHaveLength(2);
    const streams = [0, 1].map(() => post(cluster.url, { ...hello('stream please'), stream: true }));
    // Both streams under way (one on each worker) before the signal.
    while (upstream.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(-cluster.child.pid!, 'SIGINT');
    for (const answer of await Promise.all(streams)) {
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('"content":"h"');
      expect(answer.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    }
    const answered = await Promise.all(streams);
    expect(new Set(await workersOf(cluster, answered.map((answer) => answer.requestId)))).toEqual(new Set([1, 2]));
    expect(await cluster.exited).toBe(0);
    expect(cluster.logs().filter((line) => line.event === 'worker.exited').map((line) => line.code)).toEqual([0, 0]);
    expect(cluster.logs().some((line) => line.event === 'worker.restarting')).toBe(false);
    for (const pid of workerPids) expect(isAlive(pid)).toBe(false);
  }, 60_000);

  it('generates a missing token once, in the supervisor, and every worker accepts it', async () => {
    const cluster = await startCluster({ gateway: { http: { endpoints: { chatCompletions: { enabled: true } } } }, agents: { defaults: { model: 'echo/echo' }, list: [{ id: 'main', default: true }] } });
    expect(cluster.stderr().match(/Generated a gateway token/g)).toHaveLength(1);
    const token = readFileSync(join(cluster.stateDir, 'gateway-token'), 'utf8').trim();
    expect(cluster.stderr()).toContain(token);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(cluster.url, hello('with the generated token'), token));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(await workersOf(cluster, answers.map((answer) => answer.requestId)))).toEqual(new Set([1, 2]));
  }, 60_000);

  it('stops cleanly when told to while its workers are still starting', async () => {
    const cluster = await startCluster(echoConfig(), [], { waitForListening: false });
    const started = await cluster.waitForLog((line) => line.event === 'worker.started');
    process.kill(cluster.child.pid!, 'SIGTERM');
    expect(await cluster.exited).toBe(0);
    expect(isAlive(started.pid!)).toBe(false);
  }, 60_000);

  it('refuses a malformed --workers with exit code 2', () => {
    const result = spawnSync(process.execPath, [BIN, 'gateway', '--workers', 'many'], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--workers must be a positive integer or "auto"');
  });
});
