// `openclaw gateway` as an operator runs it: a real process, real ports, real signals.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream } from './fixtures/upstream.ts';
import { sseData } from './helpers/gateway.ts';

const BIN = new URL('../bin/openclaw.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const dirs: string[] = [];
const cleanupsAfter: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const cleanup of cleanupsAfter.splice(0)) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-cli-'));
  dirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

async function startGateway(args: string[], env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'gateway', ...args], { env: { PATH: process.env.PATH ?? '', HOME: env.OPENCLAW_STATE_DIR, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Until it listens or exits (the test's own timeout is the limit).
  while (!stderr.includes('listening on') && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

describe('openclaw gateway', () => {
  it('starts with no config file on 127.0.0.1 and ::1, endpoint disabled (404), and a generated token printed once and reused', async () => {
    const stateDir = tempDir();
    const port = await freePort();
    const first = await startGateway([], { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: String(port) });
    const tokenFile = join(stateDir, 'gateway-token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(first.stderr()).toContain(token);
    for (const host of ['127.0.0.1', '[::1]']) {
      const res = await fetch(`http://${host}:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(404);
      expect((await res.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'endpoint_disabled' });
    }
    // Log lines are written in batches, so the line may follow the response by a moment.
    while (!first.stdout().includes('"http.request"') && first.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
    const request = JSON.parse(first.stdout().split('\n').find((line) => line.includes('"http.request"'))!);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 404 });
    expect(request.requestId).toBeTruthy();
    expect(typeof request.durationMs).toBe('number');
    expect(first.stdout()).not.toContain(token);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startGateway([], { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: String(port) });
    expect(second.stderr()).not.toContain(token);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('--port beats OPENCLAW_GATEWAY_PORT, which beats gateway.port; serves the demo agent; exits 0 on SIGTERM after in-flight streams', async () => {
    const stateDir = tempDir();
    // The "slow" agent's reply is held by the upstream until the gateway has begun to stop.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startFakeUpstream(() => ({ kind: 'gated', until: held, then: { kind: 'text', text: 'finished after SIGTERM', chunks: 3 } }));
    cleanupsAfter.push(() => upstream.close());
    const [flagPort, envPort, filePort] = [await freePort(), await freePort(), await freePort()];
    const config = join(stateDir, 'config.json5');
    writeFileSync(
      config,
      `{ gateway: { port: ${filePort}, auth: { token: 'cli-test-token-0123456789' }, http: { endpoints: { chatCompletions: { enabled: true } } } },
         models: { providers: { up: { api: 'openai-completions', baseUrl: '${upstream.baseUrl}' } } },
         agents: { list: [{ id: 'main', default: true }, { id: 'slow', model: 'up/slow-model' }] } }`,
    );
    const run = await startGateway(['--port', String(flagPort), '--config', config], { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: String(envPort) });
    expect(run.stderr()).toContain(`:${flagPort}`);
    const ask = (model: string) =>
      fetch(`http://127.0.0.1:${flagPort}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer cli-test-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'bye' }] }),
      });
    const content = (text: string) => sseData(text).filter((event) => event !== '[DONE]').map((event) => JSON.parse(event).choices[0]?.delta?.content ?? '').join('');
    expect(content(await (await ask('openclaw')).text())).toBe('Echo: bye');

    const inFlight = ask('openclaw/slow');
    while (upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    run.child.kill('SIGTERM');
    while (!run.stdout().includes('"gateway.stopping"')) await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(content(text)).toBe('finished after SIGTERM');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await run.exited).toBe(0);

    const byEnv = await startGateway(['--config', config], { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: String(envPort) });
    expect(byEnv.stderr()).toContain(`:${envPort}`);
    byEnv.child.kill('SIGTERM');
    await byEnv.exited;
    const byFile = await startGateway(['--config', config], { OPENCLAW_STATE_DIR: stateDir });
    expect(byFile.stderr()).toContain(`:${filePort}`);
    byFile.child.kill('SIGTERM');
    await byFile.exited;
  });

  it('refuses an invalid config with a message naming the key, exit code 2', () => {
    const stateDir = tempDir();
    const config = join(stateDir, 'bad.json5');
    writeFileSync(config, '{ gateway: { port: "x" } }');
    const result = spawnSync(process.execPath, [BIN, 'gateway', '--config', config], { env: { PATH: process.env.PATH ?? '', OPENCLAW_STATE_DIR: stateDir }, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('gateway.port: must be integer');
  });

  it('--help is useful at the top level and for the gateway command', () => {
    const top = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('gateway');
    const sub = spawnSync(process.execPath, [BIN, 'gateway', '--help'], { encoding: 'utf8' });
    expect(sub.status).toBe(0);
    for (const flag of ['--port', '--bind', '--config', '--verbose', 'OPENCLAW_STATE_DIR']) expect(sub.stdout).toContain(flag);
  });
});
