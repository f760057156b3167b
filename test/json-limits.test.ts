// JSON nesting is limited where the body is parsed (gateway.http.maxJsonDepth), before the
// validator or the run walks it; realistic deep schemas still pass; a run that fails for any
// reason keeps the new user turn of a stateful session.
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JsonDepthScanner, nestsDeeperThan } from '../src/http/json-depth.ts';
import { OFF_THREAD_BYTES } from '../src/http/json-body.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { chatTranscript } from './helpers/sessions.ts';

let upstream: FakeUpstream;
let gw: TestGateway;
let shallow: TestGateway;

const config = (extra: Record<string, unknown> = {}) => ({
  gateway: { http: { endpoints: { responses: { enabled: true } }, ...extra } },
  models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, apiKey: 'sk-json-limits', maxRetries: 1, retryBaseDelayMs: 5 } } },
  agents: { list: [{ id: 'main', default: true, model: 'up/m' }] },
});

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway(config());
  shallow = await startTestGateway(config({ maxJsonDepth: 16 }));
});

afterAll(async () => {
  await gw?.close();
  await shallow?.close();
  await upstream?.close();
});

afterEach(() => upstream.reset());

/** `{"a":{"a":…1…}}`, `levels` objects deep. */
const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

async function post(target: TestGateway, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${target.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

const chat = (extra: string) => `{"model":"openclaw/main","messages":[{"role":"user","content":"hi"${extra.startsWith(',"extra"') ? extra : ''}}]${extra.startsWith(',"extra"') ? '' : extra}}`;

describe('nesting deeper than gateway.http.maxJsonDepth', () => {
  const deep = nested(5_000);
  const cases: Array<[string, string, string]> = [
    ['a tool schema', '/v1/chat/completions', chat(`,"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]`)],
    ['a json_schema response format', '/v1/chat/completions', chat(`,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${deep}}}`)],
    ['an extra key on a message', '/v1/chat/completions', chat(`,"extra":${deep}`)],
    ['a Responses text format', '/v1/responses', `{"model":"openclaw/main","input":"hi","text":{"format":{"type":"json_schema","name":"x","schema":${deep}}}}`],
    ['an extra key of a Responses body', '/v1/responses', `{"model":"openclaw/main","input":"hi","extra":${deep}}`],
    ['nested arrays', '/v1/chat/completions', chat(`,"metadata":${'['.repeat(5_000)}${']'.repeat(5_000)}`)],
  ];
  it.each(cases)('in %s: 400 json_too_deep naming the limit, nothing sent upstream, session untouched', async (_name, path, body) => {
    const { status, body: answer } = await post(gw, path, body, { 'x-openclaw-session-key': 'deep' });
    expect(status).toBe(400);
    expect(answer.error).toMatchObject({ type: 'invalid_request_error', code: 'json_too_deep', param: null });
    expect(answer.error.message).toContain('64 levels');
    expect(answer.error.message).toContain('gateway.http.maxJsonDepth');
    expect(upstream.requests).toHaveLength(0);
    expect(await gw.gateway.runtime.store!.getSession('agent:main:deep')).toBeFalsy();
  });

  it('counts levels exactly at the configured limit; brackets inside strings do not count', async () => {
    // 16 levels: the body, messages, the message, and 13 objects under its extra key.
    const at = `{"model":"openclaw/main","messages":[{"role":"user","content":"${'[{'.repeat(50)}","extra":${nested(13)}}]}`;
    const passed = await post(shallow, '/v1/chat/completions', at);
    expect(passed.status, JSON.stringify(passed.body)).toBe(200);
    const over = at.replace(nested(13), nested(14));
    const refused = await post(shallow, '/v1/chat/completions', over);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'json_too_deep' });
    expect(refused.body.error.message).toContain('16 levels');
  });
});

/** A JSON Schema nested `levels` objects deep, each level with an array of unions and a $ref, as generated schemas look. */
function realisticSchema(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'string', enum: ['a', 'b'] };
  for (let i = 0; i < levels; i++) {
    schema = {
      type: 'object',
      properties: {
        // Nullable, as generators write an optional field: an anyOf level between objects.
        [`field${i}`]: { anyOf: [schema, { type: 'null' }] },
        items: { type: 'array', items: { anyOf: [{ $ref: '#/$defs/leaf' }, { type: 'object', properties: { inner: { type: 'array', items: { type: 'number' } } } }] } },
      },
      required: [`field${i}`],
      additionalProperties: false,
    };
  }
  return { ...schema, $defs: { leaf: { type: 'object', properties: { id: { type: 'string' } } } } };
}

describe('legitimate deep schemas pass the default limit', () => {
  it('a tool schema and a structured-output schema nested 10 objects deep (OpenAI structured outputs allow 10 levels)', async () => {
    const schema = realisticSchema(10);
    const body = {
      model: 'openclaw/main',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      tools: [{ type: 'function', function: { name: 'deep', description: 'd', parameters: schema } }],
      response_format: { type: 'json_schema', json_schema: { name: 'out', strict: true, schema } },
    };
    // The deepest point is 49 levels down (the tool's parameters): well inside the default of 64.
    expect(nestsDeeperThan(JSON.stringify(body), 48)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify(body), 49)).toBe(false);
    const { status } = await post(gw, '/v1/chat/completions', JSON.stringify(body));
    expect(status).toBe(200);
    expect(upstream.requests[0].body.tools[0].function.parameters).toEqual(schema);
    expect(upstream.requests[0].body.response_format.json_schema.schema).toEqual(schema);
  });

  it('the same schema as a Responses text format', async () => {
    const schema = realisticSchema(10);
    const { status } = await post(gw, '/v1/responses', JSON.stringify({ model: 'openclaw/main', input: 'hi', text: { format: { type: 'json_schema', name: 'out', schema } } }));
    expect(status).toBe(200);
  });
});

describe('a failed run keeps the new user turn of its session', () => {
  const failures: Array<[string, () => void, number, string]> = [
    ['the upstream unavailable after its retries', () => upstream.setScript(() => ({ kind: 'status', status: 503 })), 502, 'upstream_unavailable'],
    ['the upstream rejecting the request', () => upstream.setScript(() => ({ kind: 'status', status: 400, body: { error: { message: 'nope' } } })), 400, 'upstream_rejected'],
    ['the upstream answering garbage', () => upstream.setScript(() => ({ kind: 'malformed' })), 502, 'upstream_malformed'],
  ];
  it.each(failures)('%s (chat completions and responses)', async (name, script, status, code) => {
    script();
    const key = `failed-${code}`;
    const chatAnswer = await post(gw, '/v1/chat/completions', JSON.stringify({ model: 'openclaw/main', messages: [{ role: 'user', content: `first ${name}` }] }), { 'x-openclaw-session-key': key });
    expect(chatAnswer.status).toBe(status);
    expect(chatAnswer.body.error.code).toBe(code);
    const responsesAnswer = await post(gw, '/v1/responses', JSON.stringify({ model: 'openclaw/main', input: `second ${name}` }), { 'x-openclaw-session-key': key });
    expect(responsesAnswer.status).toBe(status);
    expect(responsesAnswer.body.error.code).toBe(code);
    const transcript = await chatTranscript(gw.gateway.runtime.store!, `agent:main:${key}`);
    expect(transcript).toEqual([
      expect.objectContaining({ role: 'user', content: `first ${name}` }),
      expect.objectContaining({ role: 'user', content: `second ${name}` }),
    ]);
  });
});

describe('the depth scan', () => {
  it('agrees with the parsed value on random JSON, however the bytes are split (strings full of quotes, escapes and brackets)', () => {
    const depthOf = (value: unknown): number => (value && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0);
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const tricky = ['a"b', 'x\\', '\\"{[', '{[', ']}', 'plain', 'é€😀', '\\'];
    const generate = (level: number): unknown => {
      const roll = random();
      if (level > 12 || roll < 0.3) return tricky[Math.floor(random() * tricky.length)];
      if (roll < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => generate(level + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k{${i}"\\`, generate(level + 1)]));
    };
    for (let n = 0; n < 1_000; n++) {
      const value = generate(0);
      const text = Buffer.from(JSON.stringify(value));
      for (const slice of [1, 2, 3, 7, 64, text.length]) {
        const scanner = new JsonDepthScanner(1_000);
        for (let offset = 0; offset < text.length; offset += slice) scanner.push(text.subarray(offset, offset + slice));
        expect(scanner.deepest, `${text.toString()} in slices of ${slice}`).toBe(depthOf(value));
      }
    }
  });
});

describe('large bodies, checked on the body-check worker', () => {
  /** Each large body is checked by the worker, none falls back to the main thread. */
  const checks = () => ({ ...gw.gateway.app.bodyChecks.stats });
  let before: { checked: number; failed: number };
  beforeEach(() => {
    before = checks();
  });
  const expectWorkerChecked = (bodies: number) => expect(checks()).toEqual({ checked: before.checked + bodies, failed: before.failed });

  // Over OFF_THREAD_BYTES (256 KiB): 3,000 messages of ~200 bytes.
  const many = (last: Record<string, unknown>) =>
    JSON.stringify({ model: 'openclaw/main', messages: [...Array.from({ length: 3_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} `.padEnd(180, 'x') })), last] });

  it('a valid one is answered and forwarded whole', async () => {
    const body = many({ role: 'user', content: 'last' });
    expect(body.length).toBeGreaterThan(OFF_THREAD_BYTES);
    const { status } = await post(gw, '/v1/chat/completions', body);
    expect(status).toBe(200);
    expect(upstream.requests[0].body.messages).toHaveLength(3_001);
    expect(upstream.requests[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'last' });
    expectWorkerChecked(1);
  });

  it('one that is not an object or array gets the invalid_json a small one gets', async () => {
    for (const value of ['null', '"text"', '123', 'true']) {
      const small = await post(gw, '/v1/chat/completions', value);
      const large = await post(gw, '/v1/chat/completions', `${' '.repeat(OFF_THREAD_BYTES)}${value}`);
      expect(large.status).toBe(400);
      expect(large.body.error.code).toBe('invalid_json');
      expect(large.body.error.message).toBe(small.body.error.message);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('a client that leaves while its body is with the worker starts no run and no upstream call', async () => {
    const body = many({ role: 'user', content: 'last' });
    const socket = connect(gw.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${gw.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const pool = gw.gateway.app.bodyChecks;
    while (pool.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    socket.destroy();
    while (checks().checked === before.checked) await new Promise((resolve) => setTimeout(resolve, 5));
    // The verdict is back; what would follow it (the sliced parse, the run, the upstream call) takes
    // a few ms of this idle machine's time. Give it far more, then look.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(upstream.requests).toHaveLength(0);
    expect(gw.gateway.perAddress.runs.total).toBe(0);
  });

  it('an invalid one gets exactly the error a small one gets', async () => {
    const bad = { role: 'user', content: 5 };
    const large = await post(gw, '/v1/chat/completions', many(bad));
    const small = await post(gw, '/v1/chat/completions', JSON.stringify({ model: 'openclaw/main', messages: [{ role: 'user', content: 'x' }, bad] }));
    expect(large.status).toBe(400);
    expect(small.status).toBe(400);
    const { request_id: _a, ...largeError } = large.body.error;
    const { request_id: _b, ...smallError } = small.body.error;
    expect(largeError).toEqual({ ...smallError, param: 'messages[3000].content', message: smallError.message.replace('messages[1]', 'messages[3000]') });
    expect(upstream.requests).toHaveLength(0);
    expectWorkerChecked(1);
  });

  it('other requests are answered while a large body is with the worker', async () => {
    // A gateway of its own: its worker starts cold (loads the spec and compiles the validator), so the check takes a while.
    const fresh = await startTestGateway(config());
    try {
      const pool = fresh.gateway.app.bodyChecks;
      const events: string[] = [];
      const large = post(fresh, '/v1/chat/completions', many({ role: 'user', content: 'last' })).then((answer) => {
        events.push(`large ${answer.status}`);
      });
      for (let polls = 0; pool.inFlight === 0; polls++) {
        if (polls > 10_000) throw new Error('the large body never reached the worker');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const health = await fetch(`${fresh.url}/health`);
      events.push(`health ${health.status} while ${pool.inFlight} in the worker`);
      await large;
      expect(events).toEqual(['health 200 while 1 in the worker', 'large 200']);
    } finally {
      await fresh.close();
    }
  });

  it('too deep, or not JSON: the same refusals as a small body', async () => {
    const deep = many({ role: 'user', content: 'x', extra: JSON.parse(nested(100)) });
    const refused = await post(gw, '/v1/chat/completions', deep);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('json_too_deep');
    const broken = await post(gw, '/v1/chat/completions', many({ role: 'user', content: 'x' }).slice(0, -2));
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'invalid_json', param: null });
    expect(broken.body.error.message).not.toContain('message 2999');
    expectWorkerChecked(2);
  });
});
