// Graceful shutdown: while the runs in flight finish, /ready answers 503 and new requests are
// turned away (the port still answers); a stream still going when the grace runs out ends with an
// error event and [DONE], and its session keeps the user turn without a half reply.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { SqliteSessionStore } from '../src/sessions/sqlite-store.ts';
import { TEST_TOKEN, sseData } from './helpers/gateway.ts';
import { chatTranscript } from './helpers/sessions.ts';
import { freePort, killAll, spawnProcess } from './helpers/processes.ts';

/** An upstream that streams one chunk at once and the rest only when the test releases it. */
class GatedUpstream {
  private server: Server;
  private held: ServerResponse[] = [];
  baseUrl = '';

  constructor() {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: 'first ' }))}\n\n`);
        this.held.push(res);
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/v1`;
  }

  release(): void {
    for (const res of this.held.splice(0)) {
      res.write(`data: ${JSON.stringify(chunk({ content: 'second' }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
      res.end('data: [DONE]\n\n');
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return { id: 'up-1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] };
}

let upstream: GatedUpstream;
let gateway: Gateway;
let store: SqliteSessionStore;
let url: string;

beforeEach(async () => {
  upstream = new GatedUpstream();
  await upstream.start();
  const config = parseConfig(
    {
      gateway: { auth: { token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'up/m' } },
    },
    {},
  );
  const stateDir = mkdtempSync(join(tmpdir(), 'openclaw-shutdown-'));
  store = new SqliteSessionStore(join(stateDir, 'sessions.sqlite'));
  gateway = createGateway(config, { env: {}, stateDir, sessionStore: store });
  ({ url } = await gateway.listen({ port: 0, bind: '127.0.0.1' }));
});

afterEach(async () => {
  killAll();
  await upstream.close();
});

const headers = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' };

/** Starts a streamed run and resolves once its first content has arrived, with a reader for the rest. */
async function streamInFlight(user: string, base = url): Promise<() => Promise<string>> {
  const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'openclaw', user, stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('first ')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended early: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
    }
  };
}

describe('shutdown', () => {
  it('while draining: /ready 503 shutting_down, /health 200, new requests 503 shutting_down; the stream in flight finishes normally', async () => {
    const rest = await streamInFlight('drain');
    const closing = gateway.close({ graceMs: 600_000 });

    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, failing: ['shutting_down'] });
    expect(ready.headers.get('connection')).toBe('close');
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const refused = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'late' }] }) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await refused.json()).error).toMatchObject({ type: 'server_error', code: 'shutting_down' });

    upstream.release();
    const data = sseData(await rest());
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.some((line) => line.includes('"finish_reason":"stop"'))).toBe(true);
    expect(data.some((line) => line.includes('"error"'))).toBe(false);
    await closing;
    await expect(fetch(`${url}/ready`)).rejects.toThrow();
  });

  it('a stream still going when the grace runs out ends with an error event and [DONE]; the session keeps the user turn, no half reply', async () => {
    const rest = await streamInFlight('cut');
    await gateway.close({ graceMs: 100 });
    const data = sseData(await rest());
    expect(data.at(-1)).toBe('[DONE]');
    const error = JSON.parse(data.at(-2)!).error;
    expect(error).toMatchObject({ type: 'server_error', code: 'shutting_down' });
    expect(error.message).toContain('gateway.http.shutdownGraceMs');
    expect(data.some((line) => line.includes('"content":"first "'))).toBe(true);

    const reopened = new SqliteSessionStore(store.file);
    try {
      expect(await chatTranscript(reopened, 'agent:main:openai-user:cut')).toEqual([{ role: 'user', content: 'hi' }]);
      const [turn] = await reopened.listTurns('agent:main:openai-user:cut');
      expect(turn.meta).toMatchObject({ outcome: 'failed', errorCode: 'shutting_down' });
    } finally {
      await reopened.close();
    }
  });

  it('openclaw gateway: SIGTERM drains (the port still answers, /ready 503); a second signal exits at once with 130', async () => {
    await gateway.close({ graceMs: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'openclaw-shutdown-cli-'));
    const config = join(dir, 'openclaw.json');
    writeFileSync(
      config,
      JSON.stringify({
        gateway: { auth: { token: TEST_TOKEN }, http: { shutdownGraceMs: 600_000, endpoints: { chatCompletions: { enabled: true } } } },
        models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 0 } } },
        agents: { defaults: { model: 'up/m' } },
      }),
    );
    const port = await freePort();
    const bin = new URL('../bin/openclaw.js', import.meta.url).pathname;
    const cli = spawnProcess(process.execPath, [bin, 'gateway', '--port', String(port), '--config', config], { env: { PATH: process.env.PATH ?? '', HOME: dir, OPENCLAW_STATE_DIR: dir } });
    await cli.waitFor('openclaw gateway listening on');
    const base = `http://127.0.0.1:${port}`;
    const rest = await streamInFlight('cli', base);
    cli.child.kill('SIGTERM');
    await cli.waitFor('"gateway.stopping"');
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).failing).toEqual(['shutting_down']);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(130);
    expect(cli.stderr()).toContain('openclaw: second signal, exiting now');
    await rest().catch(() => undefined);
  });
});
