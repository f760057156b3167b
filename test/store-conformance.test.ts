// One suite for every session store driver: what the run core relies on, whichever store it has.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessageRecord, TurnMeta } from '../src/records/record.ts';
import { SessionBusyError, SessionConflictError } from '../src/sessions/errors.ts';
import { agentIdFromKey, type SessionStore, type StoredResponse } from '../src/sessions/store.ts';
import { storeDrivers, type StoreDriver } from './helpers/store-drivers.ts';

const user = (text: string): MessageRecord => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): MessageRecord => ({ role: 'assistant', content: [{ type: 'text', text }] });
const meta = (extra: TurnMeta = {}): TurnMeta => ({ requestId: 'req-1', model: 'echo/echo', outcome: 'completed', ...extra });

describe.each(storeDrivers)('session store: $name', (driver: StoreDriver) => {
  let store: SessionStore;
  let peer: () => Promise<SessionStore>;
  let cleanup: () => Promise<void>;

  const make = async (options?: { lockLeaseMs?: number }) => {
    const made = await driver.create(options);
    store = made.store;
    peer = made.peer;
    cleanup = made.cleanup;
  };
  /** Appends at whatever position the transcript has now. */
  const append = async (key: string, messages: MessageRecord[], turnMeta: TurnMeta = meta()) => {
    const { position } = await store.loadTranscript(key, { lastMessages: 1 });
    return store.appendTurn(key, { messages, meta: turnMeta }, { expectedPosition: position });
  };

  beforeEach(() => make());
  afterEach(() => cleanup());
  afterAll(() => driver.teardown?.());

  it('appends turns and loads them back in order, with the position they end at', async () => {
    const key = 'agent:main:openai-user:alice';
    expect(await store.loadTranscript(key)).toEqual({ messages: [], position: 0 });
    expect(await store.appendTurn(key, { messages: [user('one'), assistant('reply one')], meta: meta() }, { expectedPosition: 0 })).toBe(2);
    expect(await store.appendTurn(key, { messages: [user('two'), assistant('reply two')], meta: meta() }, { expectedPosition: 2 })).toBe(4);
    expect(await store.loadTranscript(key)).toEqual({ messages: [user('one'), assistant('reply one'), user('two'), assistant('reply two')], position: 4 });
    expect(await store.getSession(key)).toMatchObject({ key, agentId: 'main', turnCount: 2, messageCount: 4 });
  });

  it('refuses an append built on a transcript that moved, and keeps the transcript whole', async () => {
    const key = 'agent:main:moved';
    await store.appendTurn(key, { messages: [user('first'), assistant('a')], meta: meta() }, { expectedPosition: 0 });
    const stale = store.appendTurn(key, { messages: [user('forked')], meta: meta() }, { expectedPosition: 0 });
    await expect(stale).rejects.toBeInstanceOf(SessionConflictError);
    await expect(store.appendTurn(key, { messages: [user('ahead')], meta: meta() }, { expectedPosition: 5 })).rejects.toMatchObject({ code: 'session_conflict' });
    expect((await store.loadTranscript(key)).messages).toEqual([user('first'), assistant('a')]);
  });

  it('lets exactly one of two appends built on the same position through, from two processes', async () => {
    const key = 'agent:main:race';
    const other = await peer();
    await store.appendTurn(key, { messages: [user('base')], meta: meta() }, { expectedPosition: 0 });
    const outcomes = await Promise.allSettled([
      store.appendTurn(key, { messages: [user('from one'), assistant('a')], meta: meta() }, { expectedPosition: 1 }),
      other.appendTurn(key, { messages: [user('from two'), assistant('b')], meta: meta() }, { expectedPosition: 1 }),
    ]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => (outcome as PromiseFulfilledResult<number>).value)).toEqual([3]);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason)).toEqual([expect.any(SessionConflictError)]);
    const { messages, position } = await other.loadTranscript(key);
    expect(position).toBe(3);
    expect(messages).toHaveLength(3);
    expect(await store.getSession(key)).toMatchObject({ turnCount: 2, messageCount: 3 });
  });

  it('creates a session once when two processes start it at the same moment', async () => {
    const key = 'agent:main:new-race';
    const other = await peer();
    const outcomes = await Promise.allSettled([
      store.appendTurn(key, { messages: [user('one')], meta: meta() }, { expectedPosition: 0 }),
      other.appendTurn(key, { messages: [user('two')], meta: meta() }, { expectedPosition: 0 }),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await store.getSession(key)).toMatchObject({ turnCount: 1, messageCount: 1 });
  });

  it('keeps records intact: tool calls, tool results, images, refusals, reasoning', async () => {
    const key = 'agent:main:structured';
    const messages: MessageRecord[] = [
      { role: 'user', name: 'dana', content: [{ type: 'text', text: 'look' }, { type: 'image', url: 'data:image/png;base64,AAAA', detail: 'low' }] },
      { role: 'assistant', content: [], toolCalls: [{ id: 'call_1', name: 'clock__now', arguments: '{}', executor: 'server' }], reasoning: { text: 'I should check the time', field: 'reasoning_content' } },
      { role: 'tool', toolCallId: 'call_1', toolName: 'clock__now', content: [{ type: 'text', text: '12:00' }], isError: false },
      { role: 'assistant', content: [{ type: 'text', text: 'noon' }, { type: 'refusal', text: 'but no more' }] },
    ];
    await append(key, messages);
    expect((await store.loadTranscript(key)).messages).toEqual(messages);
  });

  it('loads only the tail with lastMessages, and the conversation before a position with before', async () => {
    const key = 'agent:main:tail';
    for (let i = 0; i < 5; i++) await append(key, [user(`q${i}`), assistant(`a${i}`)]);
    expect(await store.loadTranscript(key, { lastMessages: 3 })).toEqual({ messages: [assistant('a3'), user('q4'), assistant('a4')], position: 10 });
    expect(await store.loadTranscript(key, { lastMessages: 0 })).toEqual({ messages: [], position: 10 });
    expect(await store.loadTranscript(key, { before: 4 })).toEqual({ messages: [user('q0'), assistant('a0'), user('q1'), assistant('a1')], position: 4 });
    expect(await store.loadTranscript(key, { before: 4, lastMessages: 1 })).toEqual({ messages: [assistant('a1')], position: 4 });
  });

  it('keeps each turn with its meta', async () => {
    const key = 'agent:main:turns';
    await append(key, [user('q1'), assistant('a1')], meta({ requestId: 'r1', usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 } }));
    await append(key, [user('q2')], meta({ requestId: 'r2', outcome: 'failed', errorCode: 'upstream_unavailable' }));
    const turns = await store.listTurns(key);
    expect(turns.map((turn) => [turn.turn, turn.position, turn.messages.length, turn.meta.requestId, turn.meta.outcome])).toEqual([
      [1, 0, 2, 'r1', 'completed'],
      [2, 2, 1, 'r2', 'failed'],
    ]);
    expect(turns[0].meta.usage).toEqual({ inputTokens: 3, outputTokens: 2, totalTokens: 5 });
    expect((await store.listTurns(key, { lastTurns: 1 })).map((turn) => turn.turn)).toEqual([2]);
    expect(await store.listTurns('agent:main:none')).toEqual([]);
  });

  it('writes a turn atomically: a turn that cannot be written leaves nothing behind', async () => {
    const key = 'agent:main:atomic';
    await append(key, [user('first')]);
    const circular: any = { role: 'user', content: [] };
    circular.self = circular;
    await expect(store.appendTurn(key, { messages: [user('second'), circular], meta: meta() }, { expectedPosition: 1 })).rejects.toThrow();
    expect(await store.loadTranscript(key)).toEqual({ messages: [user('first')], position: 1 });
    expect(await store.getSession(key)).toMatchObject({ turnCount: 1, messageCount: 1 });
    await append(key, [user('second'), assistant('reply')]);
    expect((await store.loadTranscript(key)).messages).toEqual([user('first'), user('second'), assistant('reply')]);
  });

  it('lists sessions (filtered by agent), most recent first, and deletes them with their turns', async () => {
    await append('agent:main:one', [user('a')]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await append('agent:beta:two', [user('b')]);
    expect((await store.listSessions()).map((s) => s.key)).toEqual(['agent:beta:two', 'agent:main:one']);
    expect((await store.listSessions({ agentId: 'main' })).map((s) => s.key)).toEqual(['agent:main:one']);
    expect(await store.deleteSession('agent:main:one')).toBe(true);
    expect(await store.deleteSession('agent:main:one')).toBe(false);
    expect(await store.loadTranscript('agent:main:one')).toEqual({ messages: [], position: 0 });
    expect(await store.listTurns('agent:main:one')).toEqual([]);
    // A deleted session starts again from position 0.
    await store.appendTurn('agent:main:one', { messages: [user('again')], meta: meta() }, { expectedPosition: 0 });
  });

  it('keys are exact and case-sensitive; a key must name its agent', async () => {
    await append('agent:main:openai-user:Alice', [user('upper')]);
    await append('agent:main:openai-user:alice', [user('lower')]);
    expect((await store.loadTranscript('agent:main:openai-user:Alice')).messages).toEqual([user('upper')]);
    expect((await store.loadTranscript('agent:main:openai-user:alice')).messages).toEqual([user('lower')]);
    expect(agentIdFromKey('agent:ops_1:a:b:c')).toBe('ops_1');
    await expect(store.appendTurn('nope', { messages: [user('x')], meta: meta() }, { expectedPosition: 0 })).rejects.toThrow(/agent:<agentId>/);
  });

  it('copies the start of a transcript into a new session (a branch)', async () => {
    const key = 'agent:main:trunk';
    await append(key, [user('q1'), assistant('a1')]);
    await append(key, [user('q2'), assistant('a2')]);
    expect(await store.copyTranscript(key, 'agent:main:branch', 2)).toBe(2);
    expect(await store.loadTranscript('agent:main:branch')).toEqual({ messages: [user('q1'), assistant('a1')], position: 2 });
    expect(await store.getSession('agent:main:branch')).toMatchObject({ turnCount: 1, messageCount: 2 });
    await store.appendTurn('agent:main:branch', { messages: [user('other'), assistant('b')], meta: meta() }, { expectedPosition: 2 });
    expect((await store.loadTranscript(key)).position).toBe(4);
    await expect(store.copyTranscript(key, 'agent:main:branch', 2)).rejects.toBeInstanceOf(SessionConflictError);
  });

  it('keeps stored responses until deleted, and drops them with their session', async () => {
    const response: StoredResponse = {
      id: 'resp_1',
      agentId: 'main',
      sessionKey: 'agent:main:resp',
      position: 2,
      previousResponseId: null,
      createdAt: 1_700_000_000_000,
      input: [user('hi')],
      output: [assistant('hello')],
      meta: meta({ responseId: 'resp_1' }),
      extra: { instructions: 'be brief', metadata: { a: '1' } },
    };
    await store.putResponse(response);
    expect(await store.getResponse('resp_1')).toEqual(response);
    expect(await store.getResponse('resp_missing')).toBeUndefined();
    expect(await store.deleteResponse('resp_1')).toBe(true);
    expect(await store.getResponse('resp_1')).toBeUndefined();
    expect(await store.deleteResponse('resp_1')).toBe(false);
    await append('agent:main:resp', [user('hi'), assistant('hello')]);
    await store.putResponse({ ...response, id: 'resp_2' });
    await store.deleteSession('agent:main:resp');
    expect(await store.getResponse('resp_2')).toBeUndefined();
  });

  it('stores a response with its turn in one write: both or neither', async () => {
    const key = 'agent:main:resp-turn';
    await append(key, [user('q1'), assistant('a1')]);
    const response: StoredResponse = {
      id: 'resp_turn',
      agentId: 'main',
      sessionKey: key,
      position: 4,
      previousResponseId: null,
      createdAt: 1_700_000_000_000,
      input: [user('q2')],
      output: [assistant('a2')],
      meta: meta({ responseId: 'resp_turn' }),
      extra: { model: 'openclaw' },
    };
    const turnMeta = meta({ responseId: 'resp_turn' });
    // Built on a transcript that moved: refused, and the response is not kept either.
    await expect(store.appendTurn(key, { messages: [user('q2'), assistant('a2')], meta: turnMeta }, { expectedPosition: 0, response })).rejects.toBeInstanceOf(SessionConflictError);
    expect(await store.getResponse('resp_turn')).toBeUndefined();
    // A turn that cannot be written takes its response with it.
    const circular: any = { role: 'assistant', content: [] };
    circular.self = circular;
    await expect(store.appendTurn(key, { messages: [user('q2'), circular], meta: turnMeta }, { expectedPosition: 2, response })).rejects.toThrow();
    expect(await store.getResponse('resp_turn')).toBeUndefined();
    expect(await store.appendTurn(key, { messages: [user('q2'), assistant('a2')], meta: turnMeta }, { expectedPosition: 2, response })).toBe(4);
    expect(await store.getResponse('resp_turn')).toEqual(response);
    expect((await store.listTurns(key)).at(-1)!.meta.responseId).toBe('resp_turn');
  });

  it('prunes sessions not updated since a time', async () => {
    await append('agent:main:old', [user('old')]);
    const cut = Date.now() + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await append('agent:main:new', [user('new')]);
    expect(await store.pruneSessions(cut)).toBe(1);
    expect((await store.listSessions()).map((s) => s.key)).toEqual(['agent:main:new']);
  });

  describe('session lock', () => {
    it('serializes holders in arrival order and lets other keys through', async () => {
      const order: string[] = [];
      const first = await store.lockSession('agent:main:l', { timeoutMs: 5_000 });
      const second = store.lockSession('agent:main:l', { timeoutMs: 5_000 }).then((lock) => {
        order.push('second');
        return lock;
      });
      const third = store.lockSession('agent:main:l', { timeoutMs: 5_000 }).then((lock) => {
        order.push('third');
        return lock;
      });
      const other = await store.lockSession('agent:main:other', { timeoutMs: 5_000 });
      order.push('other');
      await other.release();
      order.push('first released');
      await first.release();
      await (await second).release();
      await (await third).release();
      expect(order).toEqual(['other', 'first released', 'second', 'third']);
    });

    it('holds across processes: a second store on the same data waits for the first holder', async () => {
      const other = await peer();
      const held = await store.lockSession('agent:main:x', { timeoutMs: 5_000 });
      const events: string[] = [];
      const waiting = other.lockSession('agent:main:x', { timeoutMs: 5_000 }).then((lock) => {
        events.push('peer acquired');
        return lock;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      events.push('holder releases');
      await held.release();
      await (await waiting).release();
      expect(events).toEqual(['holder releases', 'peer acquired']);
    });

    it("an append that carries the run's lock lets the lease go in the same write; release() then only frees the session here", async () => {
      const key = 'agent:main:last-write';
      const other = await peer();
      const held = await store.lockSession(key, { timeoutMs: 5_000 });
      // A refused append keeps the lease: the peer still waits.
      await expect(store.appendTurn(key, { messages: [user('stale')], meta: meta() }, { expectedPosition: 3, lock: held })).rejects.toBeInstanceOf(SessionConflictError);
      await expect(other.lockSession(key, { timeoutMs: 100 })).rejects.toBeInstanceOf(SessionBusyError);
      expect(await store.appendTurn(key, { messages: [user('one'), assistant('a')], meta: meta() }, { expectedPosition: 0, lock: held })).toBe(2);
      // The lease went with the append: the peer has the session before the holder's release().
      const peerLock = await other.lockSession(key, { timeoutMs: 1_000 });
      await held.release();
      // The holder's release took nothing from the peer.
      await expect(store.lockSession(key, { timeoutMs: 100 })).rejects.toBeInstanceOf(SessionBusyError);
      await peerLock.release();
      await (await store.lockSession(key, { timeoutMs: 1_000 })).release();
    });

    it('gives up with SessionBusyError after timeoutMs, and honours an abort signal', async () => {
      const held = await store.lockSession('agent:main:busy', { timeoutMs: 5_000 });
      const other = await peer();
      await expect(store.lockSession('agent:main:busy', { timeoutMs: 100 })).rejects.toBeInstanceOf(SessionBusyError);
      await expect(other.lockSession('agent:main:busy', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'session_busy' });
      const aborter = new AbortController();
      const aborted = other.lockSession('agent:main:busy', { timeoutMs: 5_000, signal: aborter.signal });
      aborter.abort(new Error('client went away'));
      await expect(aborted).rejects.toThrow('client went away');
      await held.release();
      // Nothing is left holding it.
      await (await other.lockSession('agent:main:busy', { timeoutMs: 1_000 })).release();
    });

    it('a holder that stops renewing (a killed process) loses the lock when its lease lapses', async () => {
      await cleanup();
      await make({ lockLeaseMs: 1_000 });
      const other = await peer();
      await store.lockSession('agent:main:lease', { timeoutMs: 5_000 });
      // A killed process renews nothing and releases nothing: close its store under the lock.
      await store.close();
      // Its lease still stands for now…
      await expect(other.lockSession('agent:main:lease', { timeoutMs: 50 })).rejects.toBeInstanceOf(SessionBusyError);
      // …and lapses: the waiting peer gets the session.
      const taken = await other.lockSession('agent:main:lease', { timeoutMs: 5_000 });
      expect(taken.key).toBe('agent:main:lease');
      await taken.release();
    });
  });

  it('ping answers while open', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
