// Starts a real gateway (createGateway) on an ephemeral loopback port for one test suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config/load.ts';
import { createGateway, type Gateway, type GatewayDeps } from '../../src/gateway.ts';
import { openDefaultSessionStore } from '../../src/sessions/open.ts';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  port: number;
  token: string;
  stateDir: string;
  /** An official SDK client pointed at the gateway. */
  client: OpenAI;
  close(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

/** Raw config (as an operator would write it); the endpoint is enabled and a token set unless overridden. */
export async function startTestGateway(raw: Record<string, any> = {}, deps: Partial<GatewayDeps> = {}): Promise<TestGateway> {
  const stateDir = deps.stateDir ?? mkdtempSync(join(tmpdir(), 'openclaw-test-'));
  const merged = mergeDeep(
    {
      gateway: {
        auth: { mode: 'token', token: TEST_TOKEN },
        http: { endpoints: { chatCompletions: { enabled: true } } },
      },
    },
    raw,
  );
  const env = deps.env ?? {};
  const config = parseConfig(merged, env);
  const sessionStore = deps.sessionStore ?? openDefaultSessionStore(stateDir);
  const gateway = createGateway(config, { env, stateDir, ...deps, sessionStore });
  const { port, url } = await gateway.listen({ port: 0, bind: '127.0.0.1' });
  const token = (merged.gateway?.auth?.token as string | undefined) ?? TEST_TOKEN;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: 0, timeout: 20_000 });
  return {
    gateway,
    url,
    port,
    token,
    stateDir,
    client,
    async close() {
      try {
        await gateway.close({ graceMs: 1_000 });
      } finally {
        if (!deps.stateDir) rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

/** Resolves once every configured MCP server of the gateway is ready (they connect in the background). */
export async function toolServersReady(gw: TestGateway): Promise<void> {
  for (let i = 0; !gw.gateway.runtime.tools!.status().every((server) => server.state === 'ready'); i++) {
    if (i > 1_000) throw new Error(`the MCP servers did not become ready: ${JSON.stringify(gw.gateway.runtime.tools!.status())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function mergeDeep<T extends Record<string, any>>(base: T, extra: DeepPartial<T> | Record<string, any>): T {
  const out: Record<string, any> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && out[key] && typeof out[key] === 'object' ? mergeDeep(out[key], value) : value;
  }
  return out as T;
}

/** Reads an SSE body into its `data:` payloads (comments and blank lines dropped). */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .flatMap((event) => event.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)))
    .filter((line) => line.length > 0);
}

/** Reads an SSE body into its events: the `event:` name (when given) and the parsed `data:` JSON. Comments are dropped. */
export function sseEvents(text: string): Array<{ event?: string; data: any }> {
  const events: Array<{ event?: string; data: any }> = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
    const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
    if (data === '') continue;
    events.push({ event, data: data === '[DONE]' ? data : JSON.parse(data) });
  }
  return events;
}
