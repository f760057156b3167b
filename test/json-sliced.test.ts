// The sliced parse of large valid bodies must give exactly what JSON.parse gives.
import { describe, expect, it } from 'vitest';
import { parseValidJsonInSlices } from '../src/http/json-sliced.ts';

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomString(random: () => number): string {
  const pieces = ['a', 'é', '"', '\\', '\\"', '[', ']', '{', '}', ',', ':', ' ', '\n', '😀', '\u2028'];
  let text = '';
  const length = Math.floor(random() * 40);
  for (let i = 0; i < length; i++) text += pieces[Math.floor(random() * pieces.length)];
  return text;
}

function randomValue(random: () => number, depth: number): unknown {
  const pick = random();
  if (depth > 3 || pick < 0.3) return randomString(random);
  if (pick < 0.4) return Math.floor(random() * 1e6) / 7;
  if (pick < 0.45) return null;
  if (pick < 0.5) return random() < 0.5;
  if (pick < 0.75) return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [randomString(random), randomValue(random, depth + 1)]));
}

describe('parseValidJsonInSlices', () => {
  it('equals JSON.parse on large bodies whose arrays are cut into many runs, whitespace and all', async () => {
    const random = seeded(7);
    const body = {
      model: 'openclaw',
      messages: Array.from({ length: 30_000 }, () => ({ role: 'user', content: randomString(random), extra: randomValue(random, 0) })),
      tools: [],
      nested: { list: [[1, 2], [3, [4, '[,]']]] },
      messagesAgain: ['x', 'y'],
    };
    // A member named __proto__ is data, never the result's prototype.
    const compact = JSON.stringify(body).replace(/^\{/, '{"__proto__":{"polluted":true},');
    for (const text of [compact, JSON.stringify(JSON.parse(compact), null, 2), `\uFEFF  ${compact}  `]) {
      const raw = Buffer.from(text);
      expect(raw.length).toBeGreaterThan(1024 * 1024);
      const parsed = (await parseValidJsonInSlices(raw)) as Record<string, unknown>;
      expect(parsed).toEqual(JSON.parse(text.replace(/^\uFEFF/, '')));
      expect(Object.keys(parsed)).toEqual(Object.keys(JSON.parse(text.replace(/^\uFEFF/, ''))));
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
      expect(Object.getOwnPropertyNames(parsed)).toContain('__proto__');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('keeps the last of duplicate keys at the first one’s place, as JSON.parse does; top-level arrays and empty objects', async () => {
    for (const text of ['{"a":1,"b":[1,2],"a":[3]}', '{}', '  { }', '[1,{"a":[2]}]', '{"a":[]}', '{"a" : [ 1 , 2 ] , "b" : "]"}']) {
      const parsed = await parseValidJsonInSlices(Buffer.from(text));
      expect(parsed).toEqual(JSON.parse(text));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) expect(Object.keys(parsed)).toEqual(Object.keys(JSON.parse(text)));
    }
  });

  it('yields the event loop while it parses a 20 MB body', async () => {
    const body = JSON.stringify({ model: 'm', messages: Array.from({ length: 100_000 }, (_, i) => ({ role: 'user', content: `message ${i} `.repeat(18) })) });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const parsed = (await parseValidJsonInSlices(Buffer.from(body))) as { messages: unknown[] };
    clearInterval(ticker);
    expect(parsed.messages).toHaveLength(100_000);
    // Other timers ran between the slices: the parse was never one block.
    expect(turns).toBeGreaterThan(20);
  });
});
