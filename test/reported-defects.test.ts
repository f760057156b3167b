// Defects a new user ran into before the run core was rebuilt, each through the real surface it
// was seen on. Every test here failed on the release before the rebuild.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfigFile, parseConfig } from '../src/config/load.ts';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from './fixtures/upstream.ts';
import { BIN } from './helpers/gateway-process.ts';
import { startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';
import { chatTranscript } from './helpers/sessions.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function gateway(raw: Record<string, any> = {}, deps: Parameters<typeof startTestGateway>[1] = {}): Promise<TestGateway> {
  const gw = await startTestGateway(raw, deps);
  cleanups.push(() => gw.close());
  return gw;
}

async function upstream(...args: Parameters<typeof startFakeUpstream>): Promise<FakeUpstream> {
  const up = await startFakeUpstream(...args);
  cleanups.push(() => up.close());
  return up;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-defects-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const auth = { authorization: `Bearer ${TEST_TOKEN}` };

function chat(gw: TestGateway, body: object, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** The last user message's text, as the fake upstream received it. */
function lastUserText(request: RecordedRequest): string {
  const last = [...((request.body?.messages ?? []) as Array<{ role: string; content: unknown }>)].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content);
}

describe('GET /v1/models/<id> with a malformed percent-encoding after a slash', () => {
  it.each(['/v1/models/openclaw/%', '/v1/models/openclaw/%zz', '/v1/models/openclaw/%E0%A4%A'])('%s → 400 naming the model id, not 500', async (path) => {
    const gw = await gateway();
    const res = await fetch(`${gw.url}${path}`, { headers: auth });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: expect.stringMatching(/percent-encoding/), type: 'invalid_request_error', param: 'model', code: 'invalid_model_id', request_id: res.headers.get('x-request-id') },
    });
    // The gateway serves on, and a well-formed id after a slash still resolves.
    expect((await fetch(`${gw.url}/v1/models/openclaw/default`, { headers: auth })).status).toBe(200);
  });
});

describe('a stored transcript that cannot be read', () => {
  it.each([
    ['a message that is not JSON', "UPDATE messages SET message = '{\"role\": \"assistant\", ' WHERE session_key = ? AND seq = 1"],
    ['a message in an unknown format', 'UPDATE messages SET format = 99 WHERE session_key = ? AND seq = 1'],
  ])('(%s) is a 500 naming the session, with no server path in any answer', async (_name, corruption) => {
    const gw = await gateway();
    const key = 'agent:main:openai-user:corrupt';
    expect((await chat(gw, { model: 'openclaw', user: 'corrupt', messages: [{ role: 'user', content: 'before' }] })).status).toBe(200);
    const raw = new DatabaseSync(join(gw.stateDir, 'sessions.sqlite'));
    raw.prepare(corruption).run(key);
    raw.close();

    const noServerPath = (answer: string) => {
      expect(answer).not.toContain(gw.stateDir);
      expect(answer).not.toContain('.sqlite');
      expect(answer).not.toMatch(/\/(tmp|home|root|var)\//);
    };
    for (const stream of [false, true]) {
      const res = await chat(gw, { model: 'openclaw', user: 'corrupt', stream, messages: [{ role: 'user', content: 'after' }] });
      const text = await res.text();
      noServerPath(text);
      expect(res.status).toBe(500);
      expect(JSON.parse(text).error).toMatchObject({ type: 'server_error', code: 'session_corrupt', message: expect.stringContaining(key) });
    }
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: auth });
    cleanups.push(() => ws.close());
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const frame = new Promise<string>((resolve) => ws.on('message', (data) => JSON.parse(data.toString()).type === 'res' && resolve(data.toString())));
    ws.send(JSON.stringify({ type: 'req', id: 1, method: 'agent.run', params: { message: 'after', user: 'corrupt' } }));
    const wsAnswer = await frame;
    noServerPath(wsAnswer);
    expect(JSON.parse(wsAnswer).error).toMatchObject({ code: 'session_corrupt', message: expect.stringContaining(key) });
  });
});

describe('${NAME} references in values the schema checks', () => {
  it('a provider baseUrl "${UPSTREAM_URL}" and an agent model "${MODEL}" load (file and object) and serve', async () => {
    const up = await upstream(() => ({ kind: 'text', text: 'from env', chunks: 2 }));
    const env = { UPSTREAM_URL: up.baseUrl, MODEL: 'up/env-model' };
    const raw = { models: { providers: { up: { api: 'openai-completions', baseUrl: '${UPSTREAM_URL}' } } }, agents: { list: [{ id: 'main', model: '${MODEL}' }] } };

    const dir = tempDir();
    writeFileSync(join(dir, 'openclaw.json5'), `{ models: { providers: { up: { api: "openai-completions", baseUrl: "\${UPSTREAM_URL}" } } }, agents: { list: [{ id: "main", model: "\${MODEL}" }] } }`);
    const fromFile = loadConfigFile(join(dir, 'openclaw.json5'), env, { mustExist: true });
    expect(fromFile.models.providers.up.baseUrl).toBe(up.baseUrl);
    expect(fromFile.agents.list[0].model).toEqual({ primary: 'up/env-model', fallbacks: [] });

    const gw = await gateway(raw, { env });
    const completion = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0].message.content).toBe('from env');
    expect(up.requests.filter((r) => r.path.endsWith('/chat/completions')).map((r) => r.body.model)).toEqual(['env-model']);
  });

  it.each([
    ['a literal', 'ftp://models.example/v1', {}],
    ['a reference', '${UPSTREAM_URL}', { UPSTREAM_URL: 'models.example:8080/v1' }],
  ])('a bad baseUrl given as %s is refused by the baseUrl rule, not the model rule', (_how, baseUrl, env) => {
    const raw = { models: { providers: { up: { api: 'openai-completions', baseUrl } } }, agents: { defaults: { model: 'up/m' } } };
    const error = (() => {
      try {
        parseConfig(raw, env);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('the config was accepted');
    })();
    expect(error.message).toContain('models.providers.up.baseUrl: must be an http:// or https:// URL');
    expect(error.message).not.toContain('<provider>/<model>');
  });

  it('a "${MODEL}" that resolves to no model reference is refused by the model rule, at its key', () => {
    expect(() => parseConfig({ agents: { list: [{ id: 'main', model: '${MODEL}' }] } }, { MODEL: 'just-a-name' })).toThrow('agents.list[0].model: must be "<provider>/<model>"');
  });
});

describe('openclaw agent and the gateway on one session at the same time', () => {
  it('20 turns each make 40 whole turns: none interleaved, none lost', async () => {
    const TURNS = 20;
    const key = 'shared-thread';
    /** Every reply takes a while, so a run that does not wait for the session overlaps the one holding it. */
    let inFlight = 0;
    let mostInFlight = 0;
    const cliArrived: Array<() => void> = [];
    const up = await upstream((request) => {
      const text = lastUserText(request);
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      if (text.startsWith('cli ')) cliArrived.shift()?.();
      return { kind: 'gated', until: new Promise((resolve) => setTimeout(resolve, 150)).then(() => inFlight--), then: { kind: 'text', text: `re: ${text}`, chunks: 2 } };
    });
    const raw = { models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl, maxRetries: 0 } } }, agents: { defaults: { model: 'up/m' } } };
    const dir = tempDir();
    const configPath = join(dir, 'openclaw.json');
    writeFileSync(configPath, JSON.stringify(raw));
    const stateDir = join(dir, 'state');
    const gw = await gateway(raw, { stateDir });

    const cliTurn = (i: number) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'agent', '--config', configPath, '--session-key', key, '--message', `cli ${i}`], {
          env: { PATH: process.env.PATH ?? '', HOME: dir, OPENCLAW_STATE_DIR: stateDir },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const gatewayTurn = async (i: number) => {
      const res = await chat(gw, { model: 'openclaw', messages: [{ role: 'user', content: `gateway ${i}` }] }, { 'x-openclaw-session-key': key });
      return { status: res.status, body: await res.text() };
    };

    // Each gateway turn is sent while the CLI's turn of the same number holds the session (its
    // request has reached the model), so every pair contends for the one lock.
    const gatewayTurns: Array<Promise<{ status: number; body: string }>> = [];
    const cliResults: Array<{ code: number | null; stderr: string }> = [];
    for (let i = 0; i < TURNS; i++) {
      const arrived = new Promise<void>((resolve) => cliArrived.push(resolve));
      const cli = cliTurn(i);
      await Promise.race([arrived, cli]);
      gatewayTurns.push(gatewayTurn(i));
      cliResults.push(await cli);
    }
    const gatewayResults = await Promise.all(gatewayTurns);
    for (const result of cliResults) expect(result).toEqual({ code: 0, stderr: '' });
    for (const result of gatewayResults) expect(result.status, result.body).toBe(200);
    expect(mostInFlight).toBe(1);

    const transcript = await chatTranscript(gw.gateway.runtime.store!, `agent:main:${key}`);
    expect(transcript).toHaveLength(4 * TURNS);
    for (let i = 0; i < transcript.length; i += 2) {
      expect(transcript[i].role).toBe('user');
      expect(transcript[i + 1]).toEqual({ role: 'assistant', content: `re: ${transcript[i].content}` });
    }
    const asked = transcript.filter((m) => m.role === 'user').map((m) => m.content as string);
    expect(asked.filter((t) => t.startsWith('cli ')).sort()).toEqual(Array.from({ length: TURNS }, (_, i) => `cli ${i}`).sort());
    expect(asked.filter((t) => t.startsWith('gateway ')).sort()).toEqual(Array.from({ length: TURNS }, (_, i) => `gateway ${i}`).sort());
    // Each run saw exactly the turns stored before it.
    const calls = up.requests.filter((r) => r.path.endsWith('/chat/completions'));
    expect(calls).toHaveLength(2 * TURNS);
    calls.forEach((call, turn) => expect(call.body.messages).toEqual(transcript.slice(0, 2 * turn + 1)));
  }, 180_000);
});
