// Sessions (docs/behaviour.md, section 5) through a real gateway with the SQLite store, against a fake upstream.
import { execFile } from 'node:child_process';
import { chatTranscript } from './helpers/sessions.ts';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

const AGENT_PROMPT = 'You are the main agent.';
const run = promisify(execFile);

let upstream: FakeUpstream;
let gw: TestGateway;

/** The upstream answers `re: <last user text>`; a user text `hang` never gets an answer. */
function lastUserText(request: RecordedRequest): string {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content);
}

let chunkDelayMs = 0;

beforeAll(async () => {
  upstream = await startFakeUpstream((request) => {
    const text = lastUserText(request);
    if (text === 'hang') return { kind: 'hang' };
    return { kind: 'text', text: `re: ${text}`, chunks: 4, chunkDelayMs };
  });
  gw = await startTestGateway({
    models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl } } },
    agents: {
      defaults: { model: 'up/fake-model' },
      list: [
        { id: 'main', default: true, systemPrompt: AGENT_PROMPT },
        { id: 'quick', timeoutSeconds: 1 },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

beforeEach(() => {
  chunkDelayMs = 0;
});

// A test that moves a fake clock and fails half-way leaves the real one to the next.
afterEach(() => {
  vi.useRealTimers();
});

const store = () => gw.gateway.runtime.store!;
const chatRequests = () => upstream.requests.filter((r) => r.path.endsWith('/chat/completions'));
const lastSent = () => chatRequests().at(-1)!.body.messages as Array<{ role: string; content: unknown }>;
const sys = { role: 'system', content: AGENT_PROMPT };
const u = (content: string) => ({ role: 'user' as const, content });
const a = (content: string) => ({ role: 'assistant' as const, content });

async function chat(messages: OpenAI.ChatCompletionMessageParam[], extra: { user?: string; model?: string; headers?: Record<string, string> } = {}) {
  const completion = await gw.client.chat.completions.create(
    { model: extra.model ?? 'openclaw', messages, ...(extra.user !== undefined ? { user: extra.user } : {}) },
    extra.headers ? { headers: extra.headers } : undefined,
  );
  return completion.choices[0].message.content;
}

function rawChat(body: object, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.token}`, ...headers },
    body: JSON.stringify(body),
  });
}

async function keys(): Promise<string[]> {
  return (await store().listSessions()).map((s) => s.key).sort();
}

describe('session keys', () => {
  it('the `user` field makes a session, exact and case-sensitive', async () => {
    expect(await chat([u('hi')], { user: 'Alice' })).toBe('re: hi');
    expect(lastSent()).toEqual([sys, u('hi')]);
    expect(await chat([u('again')], { user: 'Alice' })).toBe('re: again');
    expect(lastSent()).toEqual([sys, u('hi'), a('re: hi'), u('again')]);

    await chat([u('lower')], { user: 'alice' });
    expect(lastSent()).toEqual([sys, u('lower')]);

    expect(await chatTranscript(store(), 'agent:main:openai-user:Alice')).toEqual([u('hi'), a('re: hi'), u('again'), a('re: again')]);
    expect(await chatTranscript(store(), 'agent:main:openai-user:alice')).toEqual([u('lower'), a('re: lower')]);
    const alice = (await store().listSessions({ agentId: 'main' })).find((s) => s.key === 'agent:main:openai-user:Alice');
    expect(alice).toMatchObject({ agentId: 'main', turnCount: 2, messageCount: 4 });
  });

  it('the x-openclaw-session-key header wins over `user`', async () => {
    await chat([u('from header')], { user: 'Bob', headers: { 'x-openclaw-session-key': 'thread-42' } });
    await chat([u('second')], { user: 'Carol', headers: { 'x-openclaw-session-key': 'thread-42' } });
    expect(lastSent()).toEqual([sys, u('from header'), a('re: from header'), u('second')]);
    const all = await keys();
    expect(all).toContain('agent:main:thread-42');
    expect(all).not.toContain('agent:main:openai-user:Bob');
    expect(all).not.toContain('agent:main:openai-user:Carol');
  });

  it('sessions are per agent', async () => {
    await chat([u('to quick')], { model: 'openclaw/quick', user: 'Dana' });
    expect(lastSent()).toEqual([u('to quick')]);
    await chat([u('to main')], { user: 'Dana' });
    expect(lastSent()).toEqual([sys, u('to main')]);
    expect(await store().listSessions({ agentId: 'quick' })).toEqual([expect.objectContaining({ key: 'agent:quick:openai-user:Dana', agentId: 'quick' })]);
  });

  it.each([
    ['cron:x'],
    ['subagent:x'],
    ['acp:x'],
    ['response:resp_x'],
    ['CRON:upper'],
    [''],
    ['   '],
    ['k'.repeat(257)],
  ])('rejects the session key %j with 400 and stores nothing', async (key) => {
    const before = await keys();
    const sent = chatRequests().length;
    const response = await rawChat({ model: 'openclaw', messages: [u('x')] }, { 'x-openclaw-session-key': key });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; code: string | null } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(chatRequests().length).toBe(sent);
    expect(await keys()).toEqual(before);
  });

  it('accepts a 256-character key', async () => {
    const key = 'k'.repeat(256);
    const response = await rawChat({ model: 'openclaw', messages: [u('long key')] }, { 'x-openclaw-session-key': key });
    expect(response.status).toBe(200);
    expect(await keys()).toContain(`agent:main:${key}`);
  });

  it('legacy session headers still work', async () => {
    const response = await rawChat({ model: 'openclaw', messages: [u('legacy')] }, { 'x-clawdbot-session-key': 'legacy-thread' });
    expect(response.status).toBe(200);
    expect(await keys()).toContain('agent:main:legacy-thread');
  });
});

describe('what is stored and what the model sees', () => {
  it('a stateless request stores nothing', async () => {
    const before = await store().listSessions();
    expect(await chat([u('one'), a('two'), u('three')])).toBe('re: three');
    expect(lastSent()).toEqual([sys, u('one'), a('two'), u('three')]);
    expect(await store().listSessions()).toEqual(before);
  });

  it('system and developer messages reach the model after the agent prompt but are not stored', async () => {
    await chat(
      [
        { role: 'system', content: 'request system' },
        { role: 'developer', content: 'request developer' },
        u('q1'),
      ],
      { user: 'sys-user' },
    );
    expect(lastSent()).toEqual([sys, { role: 'system', content: 'request system' }, { role: 'developer', content: 'request developer' }, u('q1')]);
    expect(await chatTranscript(store(), 'agent:main:openai-user:sys-user')).toEqual([u('q1'), a('re: q1')]);
    await chat([u('q2')], { user: 'sys-user' });
    expect(lastSent()).toEqual([sys, u('q1'), a('re: q1'), u('q2')]);
  });

  it('a client resending its full history never sees it doubled', async () => {
    const user = 'full-history';
    await chat([u('first')], { user });
    await chat([u('first'), a('re: first'), u('second')], { user });
    expect(lastSent()).toEqual([sys, u('first'), a('re: first'), u('second')]);
    await chat([u('first'), a('re: first'), u('second'), a('re: second'), u('third')], { user });
    expect(lastSent()).toEqual([sys, u('first'), a('re: first'), u('second'), a('re: second'), u('third')]);
    expect(await chatTranscript(store(), `agent:main:openai-user:${user}`)).toHaveLength(6);
  });

  it("an empty session is seeded with the request's earlier turns", async () => {
    const user = 'seeded';
    await chat([u('old question'), a('old answer'), u('new question')], { user });
    expect(lastSent()).toEqual([sys, u('old question'), a('old answer'), u('new question')]);
    expect(await chatTranscript(store(), `agent:main:openai-user:${user}`)).toEqual([u('old question'), a('old answer'), u('new question'), a('re: new question')]);
    await chat([u('follow-up')], { user });
    expect(lastSent()).toEqual([sys, u('old question'), a('old answer'), u('new question'), a('re: new question'), u('follow-up')]);
  });

  it('a streamed run stores its turn too', async () => {
    const stream = await gw.client.chat.completions.create({ model: 'openclaw', stream: true, user: 'streamer', messages: [u('streamed')] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('re: streamed');
    expect(await chatTranscript(store(), 'agent:main:openai-user:streamer')).toEqual([u('streamed'), a('re: streamed')]);
  });

  it('stored messages reach the model as their upstream form, whichever shape they have and however their row is written', async () => {
    const user = 'shapes';
    const key = `agent:main:openai-user:${user}`;
    const tricky = 'quotes " backslash \\ newline \n line separator \u2028 é 😀 lone \ud800 end';
    await store().appendTurn(
      key,
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: tricky }] },
          { role: 'assistant', content: [{ type: 'text', text: 'calling' }], toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":1}', executor: 'client' }] },
          { role: 'tool', toolCallId: 'call_1', content: [{ type: 'text', text: 'found' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'thought about it' }], reasoning: { text: 'hidden', field: 'reasoning_content' } },
          { role: 'user', content: [{ type: 'text', text: 'named' }], name: 'bob' },
          { role: 'user', content: [{ type: 'text', text: 'two ' }, { type: 'image', url: 'https://example.com/a.png' }] },
          { role: 'assistant', content: [{ type: 'text', text: '' }] },
          { role: 'user', content: [{ type: 'text', text: 'swapped keys' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'duplicate key' }] },
        ],
        meta: {},
      },
      { expectedPosition: 0 },
    );
    // Rows another writer could have written: the same records, other JSON text.
    const raw = new DatabaseSync(join(gw.stateDir, 'sessions.sqlite'));
    const update = raw.prepare('UPDATE messages SET message = ? WHERE session_key = ? AND seq = ?');
    update.run('{"content":[{"text":"swapped keys","type":"text"}],"role":"user"}', key, 7);
    update.run('{"role":"assistant","content":[{"type":"text","text":"first","text":"duplicate key"}]}', key, 8);
    raw.close();
    await chat([u('next')], { user });
    expect(lastSent()).toEqual([
      sys,
      u(tricky),
      { role: 'assistant', content: 'calling', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'found' },
      a('thought about it'),
      { role: 'user', content: 'named', name: 'bob' },
      { role: 'user', content: [{ type: 'text', text: 'two ' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
      a(''),
      u('swapped keys'),
      a('duplicate key'),
      u('next'),
    ]);
  });

  it('a stored message that is not JSON fails that session with a 500, and only that session', async () => {
    const key = 'agent:main:openai-user:corrupt';
    await chat([u('before corruption')], { user: 'corrupt' });
    const raw = new DatabaseSync(join(gw.stateDir, 'sessions.sqlite'));
    raw.prepare('UPDATE messages SET message = ? WHERE session_key = ? AND seq = 1').run('{"role": "assistant", ', key);
    raw.close();
    const sent = chatRequests().length;
    const error = await chat([u('after')], { user: 'corrupt' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
    expect((error as Error).message).toContain(key);
    expect(chatRequests().length).toBe(sent);
    // Other sessions and the gateway itself carry on.
    expect(await chat([u('still fine')], { user: 'not-corrupt' })).toBe('re: still fine');
    const ready = await fetch(`${gw.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
  });
});

describe('serialized runs per session', () => {
  it('16 concurrent requests on one key make 16 ordered turns; another key is not blocked', async () => {
    chunkDelayMs = 15;
    const key = 'concurrent-16';
    const firstIndex = chatRequests().length;
    // Completion order, counted rather than timed.
    let completions = 0;
    const finished: number[] = [];
    const runs = Array.from({ length: 16 }, (_, i) =>
      chat([u(`m${i}`)], { headers: { 'x-openclaw-session-key': key } }).then((reply) => {
        finished.push(++completions);
        return reply;
      }),
    );
    // The other key goes once the 16 are queued (the first has reached the model).
    while (chatRequests().length === firstIndex) await new Promise((resolve) => setTimeout(resolve, 10));
    const other = await chat([u('elsewhere')], { headers: { 'x-openclaw-session-key': 'other-key' } });
    const otherDone = ++completions;
    const replies = await Promise.all(runs);
    expect(other).toBe('re: elsewhere');
    expect(replies).toEqual(Array.from({ length: 16 }, (_, i) => `re: m${i}`));
    // The other key finished while the 16 were still queued.
    expect(otherDone).toBeLessThan(Math.max(...finished));

    const transcript = await chatTranscript(store(), `agent:main:${key}`);
    expect(transcript).toHaveLength(32);
    for (let i = 0; i < 32; i += 2) {
      expect(transcript[i].role).toBe('user');
      expect(transcript[i + 1]).toEqual(a(`re: ${transcript[i].content}`));
    }
    expect(transcript.filter((m) => m.role === 'user').map((m) => m.content).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `m${i}`).sort());
    expect((await store().listSessions()).find((s) => s.key === `agent:main:${key}`)).toMatchObject({ turnCount: 16, messageCount: 32 });

    // Each run saw exactly the turns stored before it: never overlapping, never half a record.
    const seen = chatRequests()
      .slice(firstIndex)
      .filter((r) => r.body.messages.some((m: { content: unknown }) => typeof m.content === 'string' && /^m\d+$/.test(m.content)));
    expect(seen).toHaveLength(16);
    seen.forEach((request, turn) => {
      expect(request.body.messages).toEqual([sys, ...transcript.slice(0, 2 * turn + 1)]);
    });
  });

  const sendQuick = (key: string, text: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.token}`, 'x-openclaw-session-key': key },
      body: JSON.stringify({ model: 'openclaw/quick', messages: [u(text)] }),
    });

  it('a waiting run gives up with 504 once the agent timeout passes', async () => {
    // Hold the session through the store's own lock, as a long run in any process would.
    const lock = await gw.gateway.runtime.store!.lockSession('agent:quick:busy', { timeoutMs: 1_000 });
    const sent = chatRequests().length;
    const started = Date.now();
    const waiting = await sendQuick('busy', 'queued behind');
    const waited = Date.now() - started;
    expect(waiting.status).toBe(504);
    const body = (await waiting.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('session_busy');
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(chatRequests().length).toBe(sent);
    expect(await chatTranscript(store(), 'agent:quick:busy')).toEqual([]);
    await lock.release();
    // The session is usable again afterwards.
    expect((await sendQuick('busy', 'after release')).status).toBe(200);
  });

  it('the run timeout counts the wait: a run queued behind another ends at its own deadline', async () => {
    // The session is busy for the first 400 ms of a run whose whole budget is 1 s, and the model
    // then hangs: the run must end at its own deadline, not 1 s after it got the session. The
    // clock is a fake one the test moves, so "at its deadline" is exact rather than a race.
    const realSetTimeout = globalThis.setTimeout;
    const settle = (check: () => boolean) =>
      (async () => {
        while (!check()) await new Promise((resolve) => realSetTimeout(resolve, 10));
      })();
    const lock = await gw.gateway.runtime.store!.lockSession('agent:quick:stuck', { timeoutMs: 60_000 });
    const sent = chatRequests().length;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let response: Response | undefined;
      const pending = sendQuick('stuck', 'hang').then((res) => (response = res));
      await settle(() => gw.gateway.runtime.activeRuns === 1);
      vi.advanceTimersByTime(400);
      expect(chatRequests().length).toBe(sent);
      await lock.release();
      // It calls the model once it has the session; the model never answers.
      await settle(() => chatRequests().length === sent + 1);
      // 1 s into its budget, 600 ms after it got the session, it ends.
      vi.advanceTimersByTime(600);
      await pending;
      expect(response!.status).toBe(504);
      expect(((await response!.json()) as { error: { code: string } }).error.code).toBe('agent_timeout');
    } finally {
      vi.useRealTimers();
    }
    // A timed-out run stores its user turn and no reply.
    await settle(() => gw.gateway.runtime.activeRuns === 0);
    const transcript = await chatTranscript(store(), 'agent:quick:stuck');
    expect(transcript[0]).toEqual(u('hang'));
    expect(transcript.some((m) => m.role === 'assistant')).toBe(false);
    expect((await sendQuick('stuck', 'after the timeout')).status).toBe(200);
  });
});

describe('openclaw sessions CLI', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, ['bin/openclaw.js', 'sessions', ...args], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, OPENCLAW_STATE_DIR: gw.stateDir },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  it('lists, shows and deletes sessions while the gateway runs', async () => {
    await chat([u('for the cli')], { user: 'cli-user' });
    const key = 'agent:main:openai-user:cli-user';

    const listed = await cli('list', '--json');
    expect(listed.code).toBe(0);
    const sessions = JSON.parse(listed.stdout) as Array<{ key: string; agentId: string; turnCount: number }>;
    expect(sessions.find((s) => s.key === key)).toMatchObject({ agentId: 'main', turnCount: 1 });

    const quickOnly = JSON.parse((await cli('list', '--agent', 'quick', '--json')).stdout) as Array<{ agentId: string }>;
    expect(quickOnly.length).toBeGreaterThan(0);
    expect(quickOnly.every((s) => s.agentId === 'quick')).toBe(true);

    const table = await cli('list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^KEY\s+AGENT\s+TURNS\s+MESSAGES\s+UPDATED/);
    expect(table.stdout).toContain(key);

    const shown = await cli('show', key);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('[user]\n  for the cli');
    expect(shown.stdout).toContain('[assistant]\n  re: for the cli');

    const json = JSON.parse((await cli('show', key, '--json')).stdout) as { key: string; turns: Array<{ turn: number; meta: { model?: string }; messages: unknown[] }> };
    expect(json.key).toBe(key);
    expect(json.turns).toHaveLength(1);
    expect(json.turns[0].meta.model).toBe('up/fake-model');
    expect(json.turns[0].messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'for the cli' }] },
      { role: 'assistant', content: [{ type: 'text', text: 're: for the cli' }] },
    ]);

    const deleted = await cli('delete', key);
    expect(deleted.code).toBe(0);
    expect(await keys()).not.toContain(key);

    const again = await cli('delete', key);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no session');
    const missing = await cli('show', key);
    expect(missing.code).toBe(1);
  }, 90_000);
});
