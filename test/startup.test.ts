// Start-up order: the gateway listens and answers probes first, then loads what the API needs.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function capturedLogger() {
  const events: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) events.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), events };
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 10))) if (check()) return true;
  return check();
}

describe('start-up', () => {
  it('answers /ready at once, then loads the validator and provider clients in the background', async () => {
    const log = capturedLogger();
    gw = await startTestGateway({ models: { providers: { up: { api: 'openai-completions', baseUrl: 'http://127.0.0.1:9/v1' } } } }, { logger: log.logger });
    const ready = await fetch(`${gw.url}/ready`);
    expect(ready.status).toBe(200);
    const warmed = () => log.events.some((event) => event.event === 'gateway.warm');
    expect(await waitFor(warmed, 10_000)).toBe(true);
    expect(log.events.some((event) => event.event === 'gateway.warm_failed')).toBe(false);
  });

  it('serves an API request that arrives before the warm-up, loading what it needs itself', async () => {
    const log = capturedLogger();
    gw = await startTestGateway({}, { logger: log.logger });
    // Invalid on purpose: the answer needs the request validator, which is not loaded yet.
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 42 }] }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe('messages[0].content');
    const completion = await gw.client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'early' }] });
    expect(completion.choices[0].message.content).toBe('Echo: early');
  });
});
