// Seeded fuzzing of the HTTP request surface: a few thousand malformed or hostile requests across
// the routes, each answer held to the same rules: a client's fault is a 4xx (5xx only for the
// documented upstream and run failures), every error is OpenAI's JSON error shape, no secret, no
// stack frame, no server path. Replay a failure with FUZZ_SEED=<seed> (the message names the case).
import { request as httpRequest, Agent } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 0x0c1a_5eed;
const CASES = Number(process.env.FUZZ_CASES ?? 2_500);
const PROVIDER_KEY = 'sk-fuzz-provider-key-7d41c0ffee93a2';
/** 5xx codes a request may honestly end with: the upstream's or the run's, never the request's own. */
/** Stands for a deeply nested value until the body is written out. */
const DEEP = '__fuzz_deep_value__';
const DOCUMENTED_5XX = new Set(['upstream_unavailable', 'upstream_malformed', 'upstream_auth_failed', 'upstream_misconfigured', 'agent_timeout', 'shutting_down']);

let upstream: FakeUpstream;
let gw: TestGateway;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    gateway: { http: { endpoints: { responses: { enabled: true } }, maxBodyBytes: 256 * 1024 } },
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, apiKey: PROVIDER_KEY, maxRetries: 0 } } },
    agents: { list: [{ id: 'main', default: true, model: 'up/m' }, { id: 'other', model: 'up/o' }] },
  });
});

afterAll(async () => {
  agent.destroy();
  await gw?.close();
  await upstream?.close();
});

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function generator(random: () => number, token: string) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const chance = (p: number) => random() < p;
  const strings = [
    '', 'hi', ' ', '\u0000', '\ud800', '\udfff\ud800', '😀'.repeat(50), '\u202eevil', 'ａｂｃ', '"\'\\', '<script>alert(1)</script>', '${process.env}', '../../etc/passwd',
    '%00', '%zz', 'a'.repeat(5_000), token, PROVIDER_KEY, `Bearer ${token}`, 'openclaw/main', 'openclaw/other', 'openclaw/none', 'up/m', 'up/../m', '\n\r\t', 'null', '__proto__', 'constructor',
  ];
  const numbers = [0, -1, 1, 0.5, 2 ** 31, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324, 100, 1_000_000];
  const deep = (levels: number, array: boolean) => (array ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels));
  /** Any JSON value, shallow. */
  const value = (depth = 0): unknown => {
    switch (int(depth > 2 ? 5 : 7)) {
      case 0:
        return pick(strings);
      case 1:
        return pick(numbers);
      case 2:
        return pick([true, false, null]);
      case 3:
        return pick(numbers) * (chance(0.5) ? -1 : 1);
      case 4:
        return `${pick(strings)}${pick(strings)}`;
      case 5:
        return Array.from({ length: int(4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: int(4) }, () => [pick([...strings, 'role', 'content', 'type', 'text', 'model']), value(depth + 1)]));
    }
  };
  const message = (): unknown =>
    chance(0.7)
      ? { role: pick(['user', 'system', 'assistant', 'developer', 'tool', 'bogus', 'function']), content: chance(0.8) ? pick(strings) : value(), ...(chance(0.2) ? { [pick(strings)]: value() } : {}) }
      : value();
  const chatBody = (): Record<string, unknown> => {
    const body: Record<string, unknown> = { model: chance(0.8) ? pick(['openclaw/main', 'openclaw', 'openclaw/other']) : value(), messages: chance(0.85) ? Array.from({ length: 1 + int(3) }, message) : value() };
    const optional: Array<[string, () => unknown]> = [
      ['stream', () => (chance(0.7) ? chance(0.5) : value())],
      ['temperature', () => pick(numbers)],
      ['max_tokens', () => pick(numbers)],
      ['n', () => pick(numbers)],
      ['tools', () => (chance(0.5) ? [{ type: 'function', function: { name: pick(strings), parameters: chance(0.3) ? JSON.parse(deep(int(40), false)) : value() } }] : value())],
      ['response_format', () => (chance(0.5) ? { type: 'json_schema', json_schema: { name: pick(strings), schema: value() } } : value())],
      ['metadata', () => value()],
      ['user', () => pick(strings)],
      ['stop', () => value()],
      ['logit_bias', () => value()],
      ['stream_options', () => value()],
      [pick(strings), () => value()],
    ];
    for (const [key, make] of optional) if (chance(0.15)) body[key] = make();
    if (chance(0.1)) delete body[pick(['model', 'messages'])];
    // Deep nesting where the validator does not look, marked here and spliced in as text.
    if (chance(0.08)) {
      // Otherwise valid, so that only the nesting is wrong.
      const valid: Record<string, unknown> = { model: 'openclaw/main', messages: [{ role: 'user', content: 'hi' }] };
      const where = int(3);
      if (where === 0) valid.tools = [{ type: 'function', function: { name: 'f', parameters: DEEP } }];
      else if (where === 1) valid.response_format = { type: 'json_schema', json_schema: { name: 'x', schema: DEEP } };
      else valid.messages = [{ role: 'user', content: 'hi', extra: DEEP }];
      return valid;
    }
    return body;
  };
  const responsesBody = (): Record<string, unknown> => {
    const body: Record<string, unknown> = { model: chance(0.8) ? 'openclaw/main' : value(), input: chance(0.5) ? pick(strings) : chance(0.6) ? Array.from({ length: 1 + int(3) }, message) : value() };
    const optional: Array<[string, () => unknown]> = [
      ['stream', () => (chance(0.7) ? chance(0.5) : value())],
      ['instructions', () => (chance(0.6) ? pick(strings) : value())],
      ['previous_response_id', () => (chance(0.6) ? pick(['resp_0', `resp_${pick(strings)}`]) : value())],
      ['store', () => value()],
      ['text', () => ({ format: chance(0.5) ? { type: 'json_schema', name: 'x', schema: value() } : value() })],
      ['tools', () => value()],
      ['max_output_tokens', () => pick(numbers)],
      ['metadata', () => value()],
      [pick(strings), () => value()],
    ];
    for (const [key, make] of optional) if (chance(0.15)) body[key] = make();
    if (chance(0.08)) return { model: 'openclaw/main', input: 'hi', text: { format: { type: 'json_schema', name: 'x', schema: DEEP } } };
    return body;
  };
  const json = (body: unknown): string => {
    const text = JSON.stringify(body).replace(`"${DEEP}"`, () => deep(65 + int(8_000), chance(0.3)));
    switch (int(14)) {
      case 0:
        return text.slice(0, int(text.length)); // truncated
      case 1:
        return `${text}${pick(['x', '}', ',', ' garbage', '\u0000'])}`;
      case 2:
        return text.replace(/:/, ':' + deep(60 + int(3_000), chance(0.5)) + ',"z":'); // deeply nested value
      case 3:
        return text.replace(/"/g, "'"); // not JSON at all
      case 4:
        return pick(['', 'null', '1', '"x"', '[]', 'true', '{', '{}', '\uFEFF{}', '[{}]']);
      case 5:
        return text.replace(/\d+/, '1' + '0'.repeat(400)); // a number past double range
      default:
        return text;
    }
  };
  const contentType = () => pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json', 'multipart/form-data; boundary=x', '']);
  const authorization = () => {
    const roll = int(12);
    if (roll === 0) return undefined;
    if (roll === 1) return `Bearer ${token}x`;
    if (roll === 2) return `Basic ${Buffer.from(`u:${token}`).toString('base64')}`;
    if (roll === 3) return `bearer ${token}`;
    if (roll === 4) return `Bearer ${PROVIDER_KEY}`;
    if (roll === 5) return 'Bearer ' + 'x'.repeat(2_000);
    return `Bearer ${token}`;
  };
  const id = () => pick(['resp_0', 'resp_', '..', '%2e%2e', 'resp_%00', encodeURIComponent(pick(strings).replace(/[\ud800-\udfff]/g, '')) || 'x', 'openclaw%2Fmain', 'openclaw/main', 'up/m', '%E0%A4%A']);

  return (): FuzzCase => {
    const headers: Record<string, string> = {};
    const auth = authorization();
    if (auth !== undefined) headers.authorization = auth;
    if (chance(0.2)) headers['x-openclaw-session-key'] = pick(strings).replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '') || 'k';
    if (chance(0.1)) headers['x-openclaw-agent-id'] = pick(['main', 'other', 'nope', '../x', token]);
    if (chance(0.05)) headers['x-openclaw-model'] = pick(['up/m', 'up/zzz', PROVIDER_KEY]);
    if (chance(0.05)) headers['x-request-id'] = pick(['a'.repeat(300), 'id with spaces', token]);
    if (chance(0.05)) headers['content-encoding'] = pick(['gzip', 'br', 'identity', 'bogus']);
    if (chance(0.05)) headers.accept = pick(['text/event-stream', '*/*', 'application/xml']);
    const route = int(20);
    if (route < 8) return { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': contentType(), ...headers }, body: json(chatBody()) };
    if (route < 13) return { method: 'POST', path: '/v1/responses', headers: { 'content-type': contentType(), ...headers }, body: json(responsesBody()) };
    if (route === 13) return { method: pick(['GET', 'HEAD', 'POST', 'DELETE']), path: `/v1/models${chance(0.7) ? `/${id()}` : ''}`, headers };
    if (route === 14) return { method: pick(['GET', 'DELETE']), path: `/v1/responses/${id()}${chance(0.3) ? '/input_items?limit=' + pick(['1', '-1', 'x', '1e9']) : ''}`, headers };
    if (route === 15) return { method: 'POST', path: `/v1/responses/${id()}/cancel`, headers: { 'content-type': 'application/json', ...headers }, body: chance(0.5) ? '{}' : json(value()) };
    if (route === 16) return { method: pick(['PUT', 'PATCH', 'OPTIONS', 'GET', 'TRACE']), path: pick(['/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/', '/v2/x']), headers, body: undefined };
    if (route === 17) return { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(Array.from({ length: int(512) }, () => int(256))) };
    if (route === 18) return { method: 'POST', path: `/v1/chat/completions?${pick(['a=1', 'stream=true', '%zz', 'x='.repeat(100)])}`, headers: { 'content-type': 'application/json', ...headers }, body: json(chatBody()) };
    return { method: 'GET', path: pick(['/', '/v1', '/health', '/ready', '/openapi.json', '/metrics', `/${pick(strings).replace(/[^\x21-\x7e]/g, '')}`, '/v1/models/' + '%2F'.repeat(50)]), headers };
  };
}

function send(url: string, fuzz: FuzzCase): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${fuzz.path}`, { method: fuzz.method, headers: fuzz.headers, agent, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    req.end(fuzz.body);
  });
}

/** What is wrong with an answer, or undefined. */
function problem(fuzz: FuzzCase, answer: { status: number; headers: Record<string, unknown>; text: string }, token: string): string | undefined {
  const { status, text } = answer;
  // A value the client itself put in the path, the body or a header other than Authorization may
  // come back (an unknown model or route is named); from anywhere else it is a leak.
  const { authorization: _credential, ...otherHeaders } = fuzz.headers;
  const sent = `${fuzz.path} ${String(fuzz.body ?? '')} ${JSON.stringify(otherHeaders)}`;
  if (text.includes(PROVIDER_KEY) && !sent.includes(PROVIDER_KEY)) return 'the provider key appears in the answer';
  if (text.includes(token) && !sent.includes(token)) return 'the gateway token appears in the answer';
  if (/\bat [\w$.<>]+ \(|node_modules|\/work\/|\.ts:\d+/.test(text)) return 'a stack frame or server path appears in the answer';
  if (status >= 500) {
    const code = safeJson(text)?.error?.code;
    if (!DOCUMENTED_5XX.has(code)) return `HTTP ${status} (${code ?? 'no code'}) for a client's request`;
  }
  if (status < 400 || fuzz.method === 'HEAD' || status === 204) return undefined;
  if (!String(answer.headers['content-type'] ?? '').startsWith('application/json')) return `error answered as ${String(answer.headers['content-type'])}`;
  const error = safeJson(text)?.error;
  if (!error || typeof error.message !== 'string' || typeof error.type !== 'string' || !(error.param === null || typeof error.param === 'string') || typeof error.code !== 'string') {
    return `not OpenAI's error shape: ${text.slice(0, 200)}`;
  }
  return undefined;
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

it(`answers ${CASES} hostile requests within the rules (FUZZ_SEED=${SEED})`, async () => {
  const next = generator(prng(SEED), gw.token);
  const cases = Array.from({ length: CASES }, next);
  const failures: string[] = [];
  let index = 0;
  const statuses = new Map<number, number>();
  const worker = async () => {
    while (index < cases.length) {
      const at = index++;
      const fuzz = cases[at];
      let answer;
      try {
        answer = await send(gw.url, fuzz);
      } catch (error) {
        failures.push(`seed ${SEED} case ${at}: ${fuzz.method} ${fuzz.path} got no answer: ${(error as Error).message}`);
        continue;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const wrong = problem(fuzz, answer, gw.token);
      if (wrong) failures.push(`seed ${SEED} case ${at}: ${fuzz.method} ${fuzz.path} ${JSON.stringify(fuzz.headers)} ${JSON.stringify(String(fuzz.body ?? '').slice(0, 160))} → ${wrong}: ${answer.status} ${answer.text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  expect(failures.slice(0, 10), `${failures.length} of ${CASES} cases broke the rules (replay with FUZZ_SEED=${SEED})`).toEqual([]);
  // The generator reached each class of answer, so the run tested something.
  for (const status of [200, 400, 401, 404, 405, 415]) expect(statuses.get(status), `status ${status} in ${JSON.stringify([...statuses])}`).toBeGreaterThan(0);

  // Still alive and still serving.
  expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  const completion = await gw.client.chat.completions.create({ model: 'openclaw/main', messages: [{ role: 'user', content: 'still there?' }] });
  expect(completion.choices[0].message.content).toBe('Hello from upstream');
}, 120_000);
