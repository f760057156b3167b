// The soak: the gateway under a steady mixed load for a long time, its memory sampled after a
// forced GC. A leak shows as a post-GC heap that keeps climbing, or RSS that keeps growing after
// the warm-up. See bench/README.md ("Soak").
//
//   npm run soak                                    30 minutes at 50 requests/s
//   npm run soak -- --minutes 5 --rate 50           a short one
//   node bench/soak.ts --minutes 30 --rate 50 [--sample-seconds 30] [--warmup-minutes 5]
//
// The gateway (`openclaw gateway`, its own process, SQLite store in a temp state dir) runs with
// `--inspect=127.0.0.1:0`; every sample forces a full GC over the DevTools protocol and reads the
// live heap, and reads RSS from /proc. The upstream is bench/upstream.ts (its own process), every
// reply streamed in 8 chunks 10 ms apart, so streams are in flight when their clients hang up.
// Prints a markdown report on stdout (progress on stderr) and writes the samples as JSON to
// bench/results/soak-<date>.json. Exits 1 when a target is missed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inspector, inspectorUrl } from './inspector.ts';
import { procStatus } from './proc-stats.ts';
import { KINDS, pickKind, requestFor, type Kind } from './soak-requests.ts';
import { analyse, formatReport, type Sample } from './soak-report.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'soak-token-0123456789abcdef';
const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '50' },
    'sample-seconds': { type: 'string', default: '30' },
    'warmup-minutes': { type: 'string' },
  },
});
const positive = (value: string | undefined, name: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${name} needs a positive number`);
  return n;
};
const MINUTES = positive(flags.minutes, '--minutes');
const RATE = positive(flags.rate, '--rate');
const SAMPLE_MS = positive(flags['sample-seconds'], '--sample-seconds') * 1000;
const WARMUP_MIN = flags['warmup-minutes'] ? positive(flags['warmup-minutes'], '--warmup-minutes') : Math.min(5, MINUTES / 3);

const children = new Set<ChildProcess>();
const temp = new Set<string>();
const cleanup = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
// However it goes, nothing outlives the run by long.
setTimeout(() => {
  process.stderr.write('[soak] hard deadline reached\n');
  process.exit(2);
}, (MINUTES + 5) * 60_000).unref();
const log = (line: string) => process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function waitForText(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 30_000): Promise<{ match: RegExpExecArray; text: () => string }> {
  let text = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    child[stream]!.on('data', (data: Buffer) => {
      text = (text + data.toString()).slice(-16_000);
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        done({ match, text: () => text });
      }
    });
    child.once('exit', (code) => fail(new Error(`exited with ${code}:\n${text}`)));
  });
}

async function startUpstream(): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'upstream.ts'), '--chunks', '8', '--chunk-delay-ms', '10'], { stdio: ['pipe', 'pipe', 'inherit'] }); // it stops when our end of its stdin closes
  children.add(child);
  const { match } = await waitForText(child, 'stdout', /"port":(\d+)/);
  return `http://127.0.0.1:${match[1]}`;
}

async function startGateway(upstreamUrl: string): Promise<{ child: ChildProcess; url: string; inspector: Inspector }> {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-soak-'));
  temp.add(dir);
  const configPath = join(dir, 'soak.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      gateway: {
        // The load comes from many client addresses: the one proxy in front (this script) says which.
        trustProxy: true,
        auth: { mode: 'token', token: TOKEN },
        http: { endpoints: { chatCompletions: { enabled: true }, responses: { enabled: true } } },
        metrics: { enabled: true },
      },
      models: { providers: { up: { api: 'openai-completions', baseUrl: `${upstreamUrl}/v1`, apiKey: 'soak' } } },
      agents: { defaults: { model: 'up/bench' }, list: [{ id: 'main', default: true }] },
    }),
  );
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', join(ROOT, 'bin', 'openclaw.js'), 'gateway', '--config', configPath, '--port', '0', '--bind', '127.0.0.1'], {
    // Logs (a JSON line per request) go nowhere: still formatted and written, as in production.
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, OPENCLAW_STATE_DIR: join(dir, 'state'), OPENCLAW_CONFIG_PATH: undefined, OPENCLAW_GATEWAY_TOKEN: undefined },
  });
  children.add(child);
  const { match, text } = await waitForText(child, 'stderr', /listening on (http:\/\/\S+)/);
  const inspector = await Inspector.connect(inspectorUrl(text())!);
  return { child, url: match[1], inspector };
}

const counts = new Map<string, number>();
/** The first body of each unexpected outcome (for the report: what went wrong, not just how often). */
const examples = new Map<string, string>();
const bump = (kind: Kind, outcome: string, body?: string) => {
  const key = `${kind}\t${outcome}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  if (body !== undefined && !examples.has(key) && !/^(200|401|429)/.test(outcome)) examples.set(key, body.slice(0, 300));
};

/** One request of `kind`; never rejects (every outcome is counted once). */
function send(agent: Agent, base: string, kind: Kind, index: number, minute: () => number): Promise<void> {
  const spec = requestFor(kind, index, TOKEN);
  return new Promise((done) => {
    let counted = false;
    const outcome = (what: string, body?: string) => {
      if (counted) return;
      counted = true;
      bump(kind, what, body === undefined ? undefined : `(minute ${minute().toFixed(2)}) ${body}`);
      done();
    };
    const req = request(new URL(spec.path, base), { method: 'POST', agent, headers: spec.headers, timeout: 60_000 }, (res: IncomingMessage) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (kind === 'abort' && /"content":"[^"]/.test(text) && !text.includes('data: [DONE]')) {
          // Hang up mid-stream, once the first content has arrived.
          outcome(`${res.statusCode} aborted mid-stream`);
          req.destroy();
        }
      });
      res.on('end', () => {
        const whole = !spec.stream || text.includes('data: [DONE]') || text.includes('event: response.completed');
        outcome(`${res.statusCode}${whole ? '' : ' cut short'}${kind === 'abort' ? ' (whole before the client could hang up)' : ''}`, text);
      });
      res.on('error', () => undefined);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      // A kept-alive connection the gateway closed (idle) just as this request went out on it: the
      // reset reaches the client before any answer. Node's documented keep-alive race, on the client's side.
      if (code === 'ECONNRESET' && req.reusedSocket) return outcome('reset on a reused keep-alive connection', error.message);
      outcome(`error ${code ?? error.message}`, error.message);
    });
    req.end(spec.body);
  });
}

async function main(): Promise<void> {
  log(`${MINUTES} min at ${RATE} requests/s, a sample every ${SAMPLE_MS / 1000} s, warm-up ${WARMUP_MIN.toFixed(1)} min`);
  const upstreamUrl = await startUpstream();
  const gateway = await startGateway(upstreamUrl);
  const pid = gateway.child.pid!;
  log(`gateway pid ${pid} at ${gateway.url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const samples: Sample[] = [];
  const started = performance.now();
  const endAt = started + MINUTES * 60_000;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();

  const sample = async () => {
    const at = (performance.now() - started) / 60_000;
    await gateway.inspector.collectGarbage();
    const { usedSize } = await gateway.inspector.heapUsage();
    const status = procStatus(pid);
    samples.push({ minute: at, heapMB: usedSize / 1048576, rssMB: status.rssMB, requests: sent });
    log(`min ${at.toFixed(1)}: post-GC heap ${(usedSize / 1048576).toFixed(2)} MB, RSS ${status.rssMB.toFixed(1)} MB, ${sent} requests sent, ${inFlight.size} in flight`);
  };

  // Open loop: requests leave on schedule whether or not earlier ones have finished.
  await sample();
  let nextSample = performance.now() + SAMPLE_MS;
  while (performance.now() < endAt) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    while (sent < due) {
      const index = sent++;
      const pending = send(agent, gateway.url, pickKind(index), index, () => (performance.now() - started) / 60_000);
      inFlight.add(pending);
      void pending.then(() => inFlight.delete(pending));
    }
    if (performance.now() >= nextSample) {
      nextSample += SAMPLE_MS;
      await sample();
    }
    await sleep(10);
  }
  await Promise.all(inFlight);
  await sample();
  agent.destroy();
  gateway.inspector.close();

  const analysis = analyse(samples, { minutes: MINUTES, warmupMinutes: WARMUP_MIN });
  const report = formatReport({ minutes: MINUTES, rate: RATE, sent, counts, examples, samples, analysis, kinds: KINDS });
  process.stdout.write(`${report}\n`);
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ minutes: MINUTES, rate: RATE, sent, counts: Object.fromEntries(counts), examples: Object.fromEntries(examples), samples, analysis }, null, 2));
  log(`samples written to ${file}`);
  // The gateway drains and stops; the upstream (and anything else still running) is killed on exit.
  const stopped = new Promise((resolve) => gateway.child.once('exit', resolve));
  gateway.child.kill('SIGTERM');
  await Promise.race([stopped, sleep(15_000)]);
  process.exit(analysis.pass ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`[soak] failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
