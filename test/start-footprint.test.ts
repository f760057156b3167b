// What a gateway carries once it has served: the memory of what it does not use must not be paid
// at start. Each item here was once loaded or started by every gateway (bench/RESULTS.md, issue 16)
// and is now loaded with its first use; this test keeps it so.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';

const PRELOAD = join(import.meta.dirname, 'fixtures', 'loaded-modules.mjs');

let dir: string;
let upstream: FakeUpstream;
let gateway: GatewayProcess;
let footprint: { files: string[]; builtins: string[]; threads: string[] };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openclaw-footprint-'));
  const file = join(dir, 'footprint.json');
  upstream = await startFakeUpstream();
  gateway = await startGatewayProcess(
    { models: { providers: { up: { api: 'openai-completions', baseUrl: upstream.baseUrl, apiKey: 'k', maxRetries: 0 } } }, agents: { defaults: { model: 'up/m' }, list: [{ id: 'main', default: true }] } },
    { dir, nodeArgs: ['--import', PRELOAD], env: { FOOTPRINT_FILE: file } },
  );
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token });
  // One streamed and one whole chat completion: the stateless path, start to end.
  const stream = await client.chat.completions.create({ model: 'openclaw', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  for await (const _ of stream);
  await client.chat.completions.create({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] });
  gateway.child.kill('SIGUSR2');
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
  footprint = JSON.parse(readFileSync(file, 'utf8'));
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('a gateway without tool servers, PostgreSQL or Redis, after serving', () => {
  it('has loaded the modules it serves with (the preload saw them)', () => {
    expect(footprint.files.some((url) => url.endsWith('/src/http/sse.ts'))).toBe(true);
    expect(footprint.files.some((url) => url.includes('/node_modules/express/'))).toBe(true);
  });

  it('has not loaded the MCP SDK, zod, pg or ioredis', () => {
    const packages = footprint.files.filter((url) => /\/node_modules\/(@modelcontextprotocol\/sdk|zod|pg|ioredis)\//.test(url));
    expect(packages).toEqual([]);
  });

  it("has not loaded Node's bundled undici (an ES import of node:http's values builds its namespace, whose lazy WebSocket getter loads it)", () => {
    expect(footprint.builtins.filter((name) => name.includes('undici'))).toEqual([]);
  });

  it('runs no worker thread: the checkpoint and body-check workers start with their first job', () => {
    expect(footprint.threads).toContain('MainThread');
    expect(footprint.threads.filter((name) => name === 'WorkerThread')).toEqual([]);
  });
});
