// Compares two checkouts of the gateway at one connection: the same upstream (bench/upstream.ts)
// behind a gateway from each, requests alternating between the two one by one (A B, B A, …), so
// whatever else the machine is doing falls on both alike. For a change to the hot path on a shared,
// noisy machine, where two `--first-chunk` runs minutes apart differ more than the change could.
//
//   node bench/ab.ts <checkout A> <checkout B> [requests per side, default 3000] [--non-stream]
//   --tool-step: non-streaming runs with one server tool step instead (the demo MCP server of each
//   checkout over stdio, its `time` tool), the CPU of its MCP child counted too
//   --instant (with --tool-step): both gateways use this checkout's bench/mcp-instant-server.ts, a
//   tool server that answers at once, instead of each checkout's demo server
//
// Prints, per side: request sent → first `data:` event (first chunk) and → first non-empty content
// delta (first content), p50 and p90; and the gateway process's CPU time per request (from
// /proc, Linux only), which machine noise barely moves.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const TOOL_STEP = process.argv.includes('--tool-step');
const NON_STREAM = TOOL_STEP || process.argv.includes('--non-stream');
const INSTANT_TOOL = process.argv.includes('--instant');
const INSTANT_SERVER = new URL('./mcp-instant-server.ts', import.meta.url).pathname;
const [checkoutA, checkoutB, perSide = '3000'] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
if (!checkoutA || !checkoutB) {
  console.error('usage: node bench/ab.ts <checkout A> <checkout B> [requests per side]');
  process.exit(2);
}
const REQUESTS = Number(perSide);
const TOKEN = 'bench-token-0123456789abcdef';
const children: ChildProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'openclaw-ab-'));
const stop = () => {
  for (const child of children) child.kill();
  rmSync(scratch, { recursive: true, force: true });
};
process.on('exit', stop);
process.on('SIGINT', () => process.exit(130));

function startUpstream(cwd: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    // stdin stays open: the upstream stops when it ends.
    const child = spawn(process.execPath, ['bench/upstream.ts', '--port', '0'], { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (data) => {
      out += data;
      const match = /\{"port":(\d+)\}/.exec(out);
      if (match) resolvePort(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`upstream exited (${code})`)));
  });
}

async function startGateway(checkout: string, name: string, upstreamPort: number): Promise<{ port: number; pid: number }> {
  const dir = join(scratch, name);
  const config = join(scratch, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      // Loopback is one address: its per-address limits are lifted for the load.
      gateway: { auth: { mode: 'token', token: TOKEN }, http: { ...addressLimitsOff(checkout), endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: `http://127.0.0.1:${upstreamPort}/v1` } } },
      agents: { defaults: { model: 'up/bench' }, list: [{ id: 'main', default: true }, ...(TOOL_STEP ? [{ id: 'tools', tools: { allow: ['bench__time'] } }] : [])] },
      ...(TOOL_STEP ? { mcp: { servers: { bench: { command: process.execPath, args: [INSTANT_TOOL ? INSTANT_SERVER : join(checkout, 'examples', 'mcp-demo-server.ts')] } } } } : {}),
    }),
  );
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, ['bin/openclaw.js', 'gateway', '--config', config, '--port', String(port), '--bind', '127.0.0.1'], {
    cwd: checkout,
    env: { ...process.env, OPENCLAW_STATE_DIR: dir },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  children.push(child);
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok && (!TOOL_STEP || (await toolReady(port)))) return { port, pid: child.pid! };
    } catch {
      if (tries > 400) throw new Error(`the gateway from ${checkout} did not start`);
    }
    await sleep(50);
  }
}

/**
 * All the load comes from one address (loopback): the per-address limits are lifted, where the
 * checkout has them (an older one refuses the keys it does not know).
 */
function addressLimitsOff(checkout: string): Record<string, number> {
  const schema = readFileSync(join(checkout, 'src/config/schema.ts'), 'utf8');
  return schema.includes('maxConnectionsPerAddress') ? { maxConnectionsPerAddress: 0, maxConcurrentRunsPerAddress: 0 } : {};
}

/** The MCP server connects in the background: ready when a run makes its tool step (two upstream calls' usage). */
async function toolReady(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  const reply = (await response.json().catch(() => undefined)) as { usage?: { total_tokens?: number } } | undefined;
  return (reply?.usage?.total_tokens ?? 0) > 20;
}

/** User plus system CPU time of a process so far, in ms (Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The CPU time of a gateway's children (its MCP server), in ms. */
function childrenCpuMs(pid: number): number {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number).reduce((sum, child) => sum + cpuMs(child), 0);
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
// Non-streaming: "first chunk" and "first content" are both the whole answer's first bytes.
const body = JSON.stringify({ model: TOOL_STEP ? 'openclaw/tools' : 'openclaw', stream: !NON_STREAM, messages: [{ role: 'user', content: 'hi' }] });

function timeOne(port: number): Promise<[firstChunk: number, firstContent: number]> {
  return new Promise((done, fail) => {
    const sent = process.hrtime.bigint();
    let firstChunk: bigint | undefined;
    let firstContent: bigint | undefined;
    let seen = '';
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (data: string) => {
          const now = process.hrtime.bigint();
          firstChunk ??= now;
          if (!firstContent && !NON_STREAM) {
            seen += data;
            if (/"content":"[^"]/.test(seen)) firstContent = now;
          }
        });
        res.on('end', () => done([Number(firstChunk! - sent) / 1e6, Number((firstContent ?? firstChunk!) - sent) / 1e6]));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * p)];

const upstreamPort = await startUpstream(resolve(checkoutA));
const sides = [
  { name: 'A', checkout: resolve(checkoutA), ...(await startGateway(resolve(checkoutA), 'a', upstreamPort)), times: [] as Array<[number, number]> },
  { name: 'B', checkout: resolve(checkoutB), ...(await startGateway(resolve(checkoutB), 'b', upstreamPort)), times: [] as Array<[number, number]> },
];
for (let i = 0; i < 200; i++) for (const side of sides) await timeOne(side.port);
const cpuBefore = sides.map((side) => cpuMs(side.pid));
const childrenBefore = sides.map((side) => childrenCpuMs(side.pid));
for (let i = 0; i < REQUESTS; i++) {
  for (const side of i % 2 === 0 ? sides : [...sides].reverse()) side.times.push(await timeOne(side.port));
}
sides.forEach((side, index) => {
  const chunk = side.times.map(([first]) => first);
  const content = side.times.map(([, first]) => first);
  const cpu = ((cpuMs(side.pid) - cpuBefore[index]) / REQUESTS) * 1000;
  const children = ((childrenCpuMs(side.pid) - childrenBefore[index]) / REQUESTS) * 1000;
  console.log(
    `${side.name} ${side.checkout}: first chunk p50 ${percentile(chunk, 0.5).toFixed(3)} ms, p90 ${percentile(chunk, 0.9).toFixed(3)} ms; first content p50 ${percentile(content, 0.5).toFixed(3)} ms, p90 ${percentile(content, 0.9).toFixed(3)} ms; gateway CPU ${cpu.toFixed(0)} µs per request${TOOL_STEP ? `, its MCP server ${children.toFixed(0)} µs` : ''} (${REQUESTS} requests)`,
  );
});
process.exit(0);
