// A config reload in the middle of requests: a request keeps the generation it started with to its
// end, a new request sees the new one, and the old generation's provider clients close when its
// last run ends.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { startFakeUpstream, type FakeUpstream, type UpstreamReply } from './fixtures/upstream.ts';
import { mergeDeep, sseData, startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';
import { chatTranscript } from './helpers/sessions.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A promise the test resolves when its own events say so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

async function upstream(script: (request: { body: any }, index: number) => UpstreamReply): Promise<FakeUpstream> {
  // Idle connections stay open until the client closes them, so a close is the gateway's doing.
  const up = await startFakeUpstream(script, { keepAliveTimeoutMs: 0 });
  cleanups.push(() => up.close());
  return up;
}

/** Config generation `name`: its own upstream, model, system prompt and retry policy. */
function generation(name: string, up: FakeUpstream, maxRetries: number) {
  return {
    gateway: { http: { keepAliveIntervalMs: 60_000 } },
    models: { providers: { up: { api: 'openai-completions', baseUrl: up.baseUrl, maxRetries, retryBaseDelayMs: 1 } } },
    agents: { list: [{ id: 'main', model: `up/model-${name}`, systemPrompt: `generation ${name}` }] },
  };
}

const base = { gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } } };

async function start(raw: Record<string, any>): Promise<TestGateway> {
  const gw = await startTestGateway(raw);
  cleanups.push(() => gw.close());
  return gw;
}

function streamChat(gw: TestGateway, content: string, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'openclaw', stream: true, messages: [{ role: 'user', content }] }),
  }).then(async (res) => ({ status: res.status, text: await res.text() }));
}

const streamed = (text: string) =>
  sseData(text)
    .filter((event) => event !== '[DONE]')
    .map((event) => JSON.parse(event).choices?.[0]?.delta?.content ?? '')
    .join('');

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const chats = (up: FakeUpstream) => up.requests.filter((r) => r.path.endsWith('/chat/completions'));

describe('a reload in the middle of a request', () => {
  it('does not split it: its retry still uses the first generation’s provider, model and prompt, while a new request sees the second', async () => {
    const firstAttempt = gate();
    const upA = await upstream((_request, index) => (index === 0 ? { kind: 'gated', until: firstAttempt.promise, then: { kind: 'status', status: 503 } } : { kind: 'text', text: 'answered by A' }));
    const upB = await upstream(() => ({ kind: 'text', text: 'answered by B' }));
    const gw = await start(generation('a', upA, 1));

    const long = streamChat(gw, 'started under A', { 'x-openclaw-session-key': 'reloaded' });
    await until(() => chats(upA).length === 1);
    gw.gateway.applyConfig(parseConfig(mergeDeep(base, generation('b', upB, 0)), {}));

    const fresh = await streamChat(gw, 'started under B');
    expect(streamed(fresh.text)).toBe('answered by B');
    expect(chats(upB).map((r) => [r.body.model, r.body.messages[0].content])).toEqual([['model-b', 'generation b']]);

    // The first attempt fails now; A's retry policy (B has none) sends it to A again, as A.
    firstAttempt.open();
    const first = await long;
    expect(first.status).toBe(200);
    expect(streamed(first.text)).toBe('answered by A');
    expect(chats(upA).map((r) => [r.body.model, r.body.messages[0].content])).toEqual([
      ['model-a', 'generation a'],
      ['model-a', 'generation a'],
    ]);
    expect(chats(upB)).toHaveLength(1);
    const [turn] = await gw.gateway.runtime.store!.listTurns('agent:main:reloaded');
    expect(turn.meta.model).toBe('up/model-a');
    expect(await chatTranscript(gw.gateway.runtime.store!, 'agent:main:reloaded')).toEqual([
      { role: 'user', content: 'started under A' },
      { role: 'assistant', content: 'answered by A' },
    ]);
  });

  it('closes the old generation’s provider clients when its last run ends, not before and not on a timer', async () => {
    const releases = [gate(), gate()];
    const upA = await upstream((_request, index) => ({ kind: 'gated', until: releases[index].promise, then: { kind: 'text', text: `run ${index}` } }));
    const upB = await upstream(() => ({ kind: 'text', text: 'from B' }));
    const gw = await start(generation('a', upA, 0));

    const runs = [streamChat(gw, 'first under A'), streamChat(gw, 'second under A')];
    await until(() => chats(upA).length === 2);
    expect(upA.openConnections).toBe(2);
    gw.gateway.applyConfig(parseConfig(mergeDeep(base, generation('b', upB, 0)), {}));

    // One of A's runs ends; the other still holds generation A, so A's pool stays as it is.
    releases[0].open();
    expect(streamed((await runs[0]).text)).toBe('run 0');
    expect(streamed((await streamChat(gw, 'under B')).text)).toBe('from B');
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    expect(upA.openConnections).toBe(2);

    // The last run of A ends: now A's connections close (the upstream itself never closes them).
    releases[1].open();
    expect(streamed((await runs[1]).text)).toBe('run 1');
    await until(() => upA.openConnections === 0);
    // The current generation's pool is untouched.
    expect(upB.openConnections).toBe(1);
  });
});
