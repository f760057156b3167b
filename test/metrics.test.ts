// GET /metrics: Prometheus text from a per-gateway registry, counted from a known sequence of requests.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessMetrics } from '../src/metrics/process.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { freePort, killAll, spawnProcess } from './helpers/processes.ts';
import { startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';

/** Parses the exposition format into `name{labels}` → value (labels sorted, as prom-client prints them). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    out.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return out;
}

async function scrape(gw: TestGateway): Promise<Map<string, number>> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetrics(await res.text());
}

const enabled = { gateway: { metrics: { enabled: true } } };
let gw: TestGateway | undefined;
let upstream: FakeUpstream | undefined;
afterEach(async () => {
  killAll();
  await gw?.close();
  await upstream?.close();
  gw = undefined;
  upstream = undefined;
});

describe('/metrics', () => {
  it('is a 404 in the OpenAI shape while gateway.metrics.enabled is off (the default)', async () => {
    gw = await startTestGateway();
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { message: expect.stringContaining('gateway.metrics.enabled'), type: 'invalid_request_error', param: null, code: 'metrics_disabled', request_id: res.headers.get('x-request-id') } });
  });

  it('applies a config reload at once', async () => {
    gw = await startTestGateway();
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(404);
    const config = gw.gateway.runtime.current.config;
    gw.gateway.applyConfig({ ...config, gateway: { ...config.gateway, metrics: { enabled: true, loopbackOnly: true } } });
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
  });

  it('serves only loopback clients while loopbackOnly', async () => {
    gw = await startTestGateway({ gateway: { metrics: { enabled: true }, trustProxy: true } });
    // With trustProxy the forwarded address is the client: a remote one is refused.
    const remote = await fetch(`${gw.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(remote.status).toBe(403);
    expect(((await remote.json()) as any).error.code).toBe('metrics_loopback_only');
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
  });

  it('counts a known sequence of requests', async () => {
    gw = await startTestGateway({ ...enabled, gateway: { ...enabled.gateway, auth: { rateLimit: { maxAttempts: 2, exemptLoopback: false } } } });
    const auth = { Authorization: `Bearer ${gw.token}`, 'Content-Type': 'application/json' };
    const chat = (headers: Record<string, string>, body: unknown = { model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] }) =>
      fetch(`${gw!.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });

    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    expect((await chat(auth)).status).toBe(200);
    const stream = await chat(auth, { model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'stream me' }] });
    expect(stream.status).toBe(200);
    await stream.text();
    expect((await chat(auth, { model: 'openclaw', messages: 'nope' })).status).toBe(400);
    expect((await fetch(`${gw.url}/v1/models`, { headers: { Authorization: `Bearer ${gw.token}` } })).status).toBe(200);
    expect((await fetch(`${gw.url}/v1/nowhere`)).status).toBe(404);
    expect((await chat({ 'Content-Type': 'application/json' })).status).toBe(401); // no header: a 401 that does not count toward lockout
    expect((await chat({ Authorization: 'Bearer wrong', 'Content-Type': 'application/json' })).status).toBe(401);
    expect((await chat({ Authorization: 'Bearer wrong', 'Content-Type': 'application/json' })).status).toBe(401);
    expect((await chat(auth)).status).toBe(429); // locked out now, even with the right secret

    const m = await scrape(gw);
    expect(m.get('openclaw_http_requests_total{method="GET",route="/health",status="200"}')).toBe(2);
    expect(m.get('openclaw_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}')).toBe(2);
    expect(m.get('openclaw_http_requests_total{method="POST",route="/v1/chat/completions",status="400"}')).toBe(1);
    expect(m.get('openclaw_http_requests_total{method="POST",route="/v1/chat/completions",status="401"}')).toBe(3);
    expect(m.get('openclaw_http_requests_total{method="POST",route="/v1/chat/completions",status="429"}')).toBe(1);
    expect(m.get('openclaw_http_requests_total{method="GET",route="/v1/models",status="200"}')).toBe(1);
    expect(m.get('openclaw_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(m.get('openclaw_auth_failures_total{transport="http",reason="missing"}')).toBe(1);
    expect(m.get('openclaw_auth_failures_total{transport="http",reason="invalid"}')).toBe(2);
    expect(m.get('openclaw_auth_lockouts_total{transport="http"}')).toBe(1);
    expect(m.get('openclaw_agent_run_duration_seconds_count{transport="http",outcome="ok"}')).toBe(2);
    expect(m.get('openclaw_agent_time_to_first_token_seconds_count{provider="echo"}')).toBe(2);
    expect(m.get('openclaw_active_streams{transport="http"}')).toBe(0);
    expect(m.get('openclaw_active_runs')).toBe(0);
    // The scrape itself is counted once it has been answered.
    const again = await scrape(gw);
    expect(again.get('openclaw_http_requests_total{method="GET",route="/metrics",status="200"}')).toBe(1);
  });

  it('counts WebSocket runs, auth failures and open streams', async () => {
    // The reply is held until the test has scraped the metrics of the run in flight.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    upstream = await startFakeUpstream(() => ({ kind: 'gated', until: held, then: { kind: 'text', text: 'slow' } }));
    gw = await startTestGateway({ ...enabled, models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } }, agents: { defaults: { model: 'up/fake-model' } } });
    const bad = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: { Authorization: 'Bearer wrong' } });
    await new Promise((resolve) => bad.on('error', resolve));
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    await new Promise((resolve) => ws.once('open', resolve));
    const answered = new Promise((resolve) => ws.on('message', (data) => JSON.parse(data.toString()).type === 'res' && resolve(undefined)));
    ws.send(JSON.stringify({ type: 'req', id: 1, method: 'agent.run', params: { message: 'hi' } }));
    while (upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const during = await scrape(gw);
    expect(during.get('openclaw_active_streams{transport="ws"}')).toBe(1);
    expect(during.get('openclaw_active_runs')).toBe(1);
    expect(during.get('openclaw_ws_connections')).toBe(1);
    release();
    await answered;
    const after = await scrape(gw);
    expect(after.get('openclaw_active_streams{transport="ws"}')).toBe(0);
    expect(after.get('openclaw_agent_run_duration_seconds_count{transport="ws",outcome="ok"}')).toBe(1);
    expect(after.get('openclaw_auth_failures_total{transport="ws",reason="invalid"}')).toBe(1);
    expect(after.get('openclaw_agent_time_to_first_token_seconds_count{provider="up"}')).toBe(1);
    ws.close();
  });

  it('counts upstream errors by provider, each attempt', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'status', status: 503 }));
    gw = await startTestGateway({
      ...enabled,
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, maxRetries: 1, retryBaseDelayMs: 10 } } },
      agents: { defaults: { model: 'up/fake-model' } },
    });
    await expect(gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 502 });
    const m = await scrape(gw);
    expect(m.get('openclaw_upstream_errors_total{provider="up",kind="unavailable"}')).toBe(2);
    expect(m.get('openclaw_agent_run_duration_seconds_count{transport="http",outcome="error"}')).toBe(1);
  });

  it('keeps each gateway in its own registry', async () => {
    gw = await startTestGateway(enabled);
    const other = await startTestGateway(enabled);
    try {
      await fetch(`${other.url}/health`);
      const m = await scrape(gw);
      expect(m.get('openclaw_http_requests_total{method="GET",route="/health",status="200"}')).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});

describe('tokens and the process', () => {
  it('counts tokens by agent, model and type from what the providers reported', async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'text', text: 'ok', usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }));
    gw = await startTestGateway({
      ...enabled,
      models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } },
      agents: { list: [{ id: 'main', default: true, model: 'up/model-a' }, { id: 'beta', model: 'up/model-b' }] },
    });
    const ask = (model: string, stream: boolean) =>
      stream
        ? gw!.client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }).then(async (s) => {
            for await (const _ of s);
          })
        : gw!.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    await ask('openclaw/main', false);
    await ask('openclaw/main', true);
    await ask('openclaw/beta', false);
    const m = await scrape(gw);
    expect(m.get('openclaw_tokens_total{agent="main",model="up/model-a",type="input"}')).toBe(22);
    expect(m.get('openclaw_tokens_total{agent="main",model="up/model-a",type="output"}')).toBe(14);
    expect(m.get('openclaw_tokens_total{agent="beta",model="up/model-b",type="input"}')).toBe(11);
    expect(m.get('openclaw_tokens_total{agent="beta",model="up/model-b",type="output"}')).toBe(7);
  });

  it('serves the process metrics it is given (memory, CPU, event-loop delay, heap) beside its own', async () => {
    gw = await startTestGateway(enabled, { processMetrics: createProcessMetrics() });
    const m = await scrape(gw);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(m.has('process_cpu_seconds_total')).toBe(true);
    expect(m.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(m.has('openclaw_active_runs')).toBe(true);
  });

  it('openclaw gateway serves process metrics; LOG_LEVEL sets the log level (--verbose wins); an unknown level is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openclaw-metrics-cli-'));
    const config = join(dir, 'openclaw.json');
    writeFileSync(config, JSON.stringify({ gateway: { auth: { token: TEST_TOKEN }, metrics: { enabled: true } } }));
    const bin = new URL('../bin/openclaw.js', import.meta.url).pathname;
    const start = async (logLevel: string, extra: string[] = []) => {
      const port = await freePort();
      const child = spawnProcess(process.execPath, [bin, 'gateway', '--port', String(port), '--config', config, ...extra], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, OPENCLAW_STATE_DIR: dir, LOG_LEVEL: logLevel },
      });
      await child.waitFor('openclaw gateway listening on');
      return { child, port };
    };

    const quiet = await start('warn');
    const res = await fetch(`http://127.0.0.1:${quiet.port}/metrics`);
    const m = parseMetrics(await res.text());
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    quiet.child.child.kill('SIGTERM');
    expect(await quiet.child.exited).toBe(0);
    expect(quiet.child.stdout()).toBe('');

    const chatty = await start('debug');
    // The background warm-up reports at debug level when it is done.
    await chatty.child.waitFor('"level":"debug"');
    chatty.child.child.kill('SIGTERM');
    await chatty.child.exited;

    const verbose = await start('error', ['--verbose']);
    verbose.child.child.kill('SIGTERM');
    await verbose.child.exited;
    expect(verbose.child.stdout()).toContain('"level":"info"');

    const wrong = spawnSync(process.execPath, [bin, 'gateway', '--config', config], { env: { PATH: process.env.PATH ?? '', HOME: dir, OPENCLAW_STATE_DIR: dir, LOG_LEVEL: 'loud' }, encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('LOG_LEVEL "loud" is not a log level; use one of fatal, error, warn, info, debug, trace, silent');
  });
});
