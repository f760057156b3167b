// Start-up order: the gateway listens and answers probes first, then loads what the API needs.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from './helpers/captured-logger.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** Resolves once `check` holds (the test's own timeout is the limit). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const warmed = (events: Array<Record<string, unknown>>) => events.some((event) => event.event === 'gateway.warm');

/**
 * The warm-up starts on a timer (once the gateway has been quiet for a moment). Holding that timer
 * on a fake clock makes "a request that arrives before the warm-up" certain rather than likely;
 * releasing it lets the warm-up run as it would have.
 */
function holdTheWarmUp() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
}

function releaseTheWarmUp() {
  vi.advanceTimersByTime(60_000);
  vi.useRealTimers();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('start-up', () => {
  it('answers /ready before the warm-up, which then loads the validator and provider clients in the background', async () => {
    const log = capturedLogger();
    holdTheWarmUp();
    // listen() has resolved although the warm-up cannot have run: it does not wait for it.
    gw = await startTestGateway({ models: { providers: { up: { api: 'openai-completions', baseUrl: 'http://127.0.0.1:9/v1' } } } }, { logger: log.logger });
    const ready = await fetch(`${gw.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, failing: [], stores: [{ role: 'session_store', driver: 'sqlite', ok: true }, { role: 'auth_limiter', driver: 'memory', ok: true }] });
    expect(warmed(log.lines)).toBe(false);
    releaseTheWarmUp();
    await until(() => warmed(log.lines) || log.lines.some((event) => event.event === 'gateway.warm_failed'));
    expect(log.lines.filter((event) => String(event.event).startsWith('gateway.warm')).map((event) => event.event)).toEqual(['gateway.warm']);
  });

  it('serves an API request that arrives before the warm-up, loading what it needs itself', async () => {
    const log = capturedLogger();
    holdTheWarmUp();
    gw = await startTestGateway({}, { logger: log.logger });
    // Invalid on purpose: the answer needs the request validator, which nothing has loaded yet.
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 42 }] }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe('messages[0].content');
    const completion = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'early' }] });
    expect(completion.choices[0].message.content).toBe('Echo: early');
    // Both were answered while the warm-up was still waiting for its turn; it runs afterwards all the same.
    expect(warmed(log.lines)).toBe(false);
    releaseTheWarmUp();
    await until(() => warmed(log.lines) || log.lines.some((event) => event.event === 'gateway.warm_failed'));
    expect(warmed(log.lines)).toBe(true);
  });
});
