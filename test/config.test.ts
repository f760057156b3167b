// Config loading (docs/behaviour.md, section 2): JSON5, ${ENV}, validation naming the key path, defaults, hot reload.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig, resolveConfigPath, resolveStateDir } from '../src/config/load.ts';
import { createGateway } from '../src/gateway.ts';
import { createLogger } from '../src/log.ts';
import { openDefaultSessionStore } from '../src/sessions/open.ts';
import { TEST_TOKEN } from './helpers/gateway.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-config-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loading', () => {
  it('reads JSON5 with comments and trailing commas, and applies defaults in one place', () => {
    const dir = tempDir();
    const file = join(dir, 'openclaw.json');
    writeFileSync(file, `// comment\n{ gateway: { port: 1234, }, }`);
    const config = loadConfigFile(file, {});
    expect(config.gateway.port).toBe(1234);
    expect(config.gateway.bind).toBe('loopback');
    expect(config.gateway.http.endpoints.chatCompletions.enabled).toBe(false);
    expect(config.gateway.http.maxBodyBytes).toBe(20 * 1024 * 1024);
    expect(config.gateway.auth.rateLimit).toEqual({ enabled: true, maxAttempts: 10, windowMs: 60000, lockoutMs: 300000, exemptLoopback: true, store: { driver: 'memory' } });
    expect(config.sessions.store).toEqual({ driver: 'sqlite', poolSize: 10 });
    expect(config.agents.list.map((agent) => agent.id)).toEqual(['main']);
    expect(config.agents.list[0].model).toEqual({ primary: 'echo/echo', fallbacks: [] });
  });

  it('shared stores: PostgreSQL and Redis URLs from the environment, required with their drivers', () => {
    const raw = { sessions: { store: { driver: 'postgres', url: '${DATABASE_URL}', poolSize: 4 } }, gateway: { auth: { rateLimit: { store: { driver: 'redis', url: '${REDIS_URL}' } } } } };
    const config = parseConfig(raw, { DATABASE_URL: 'postgres://gw:secret@db:5432/openclaw', REDIS_URL: 'redis://cache:6379' });
    expect(config.sessions.store).toEqual({ driver: 'postgres', url: 'postgres://gw:secret@db:5432/openclaw', poolSize: 4 });
    expect(config.gateway.auth.rateLimit.store).toEqual({ driver: 'redis', url: 'redis://cache:6379' });
    expect(() => parseConfig({ sessions: { store: { driver: 'postgres' } } }, {})).toThrow(/sessions\.store\.url: required with driver "postgres"/);
    expect(() => parseConfig({ gateway: { auth: { rateLimit: { store: { driver: 'redis' } } } } }, {})).toThrow(/gateway\.auth\.rateLimit\.store\.url: required with driver "redis"/);
    expect(() => parseConfig({ sessions: { store: { driver: 'postgres', url: 'mysql://db/x' } } }, {})).toThrow(/sessions\.store\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => parseConfig({ sessions: { store: { driver: 'mongo' } } }, {})).toThrow(/sessions\.store\.driver: must be one of "sqlite", "postgres"/);
  });

  it('a missing default file is an empty config; a missing explicit file is an error naming it', () => {
    const dir = tempDir();
    expect(loadConfigFile(join(dir, 'none.json'), {}).gateway.port).toBe(18789);
    expect(() => loadConfigFile(join(dir, 'none.json'), {}, { mustExist: true })).toThrow(/none\.json/);
  });

  it('substitutes ${ENV} and names the key when a variable is missing', () => {
    const raw = { models: { providers: { openai: { api: 'openai-completions', baseUrl: 'https://example.test/v1', apiKey: '${OPENAI_API_KEY}' } } } };
    expect(parseConfig(raw, { OPENAI_API_KEY: 'sk-test' }).models.providers.openai.apiKey).toBe('sk-test');
    expect(() => parseConfig(raw, {})).toThrow(/environment variables not set: OPENAI_API_KEY \(models\.providers\.openai\.apiKey\)/);
  });

  it.each([
    [{ gateway: { port: 'x' } }, 'gateway.port: must be integer'],
    [{ gateway: { prot: 1 } }, 'gateway.prot: unknown key'],
    [{ gateway: { auth: { mode: 'magic' } } }, 'gateway.auth.mode: must be one of "token", "password", "none"'],
    [{ agents: { list: [{ id: 'Bad Id' }] } }, 'agents.list[0].id: must match'],
    [{ agents: { list: [{ id: 'a', model: 'nope' }] } }, 'agents.list[0].model: must be "<provider>/<model>"'],
    [{ agents: { list: [{ id: 'a', model: 'ghost/x' }] } }, 'agents.list[0].model.primary: provider "ghost" is not configured'],
    [{ agents: { list: [{ id: 'a' }, { id: 'a' }] } }, 'duplicate agent id'],
    [{ models: { providers: { p: { api: 'openai-completions' } } } }, 'models.providers.p.baseUrl: required'],
  ])('rejects %j naming the key path', (raw, message) => {
    expect(() => parseConfig(raw, {})).toThrow(message);
  });

  it('path precedence: --config > OPENCLAW_CONFIG_PATH > state dir', () => {
    expect(resolveConfigPath('/a.json', { OPENCLAW_CONFIG_PATH: '/b.json' })).toEqual({ path: '/a.json', explicit: true });
    expect(resolveConfigPath(undefined, { OPENCLAW_CONFIG_PATH: '/b.json' })).toEqual({ path: '/b.json', explicit: true });
    expect(resolveConfigPath(undefined, { OPENCLAW_STATE_DIR: '/state' })).toEqual({ path: '/state/openclaw.json', explicit: false });
    expect(resolveStateDir({ OPENCLAW_STATE_DIR: '/state' })).toBe('/state');
  });
});

describe('hot reload', () => {
  it('applies a valid edit without a restart and refuses an invalid one, keeping the running config', async () => {
    const dir = tempDir();
    const file = join(dir, 'openclaw.json');
    const write = (enabled: boolean) => writeFileSync(file, JSON.stringify({ gateway: { auth: { token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled } } } } }));
    write(false);
    const logs: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => logs.push(line) } as unknown as NodeJS.WritableStream });
    const gateway = createGateway(loadConfigFile(file, {}), { configPath: file, env: {}, stateDir: dir, logger });
    const { url } = await gateway.listen({ port: 0, bind: '127.0.0.1' });
    const ask = () =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      });
    try {
      const disabled = await ask();
      expect(disabled.status).toBe(404);
      expect((await disabled.json()).error.code).toBe('endpoint_disabled');

      write(true);
      await waitFor(async () => (await ask()).status === 200);

      writeFileSync(file, '{ gateway: { port: "not a number" } }');
      await waitFor(() => logs.some((line) => line.includes('config.reload_refused') && line.includes('gateway.port')));
      expect((await ask()).status).toBe(200);
    } finally {
      await gateway.close({ graceMs: 100 });
    }
  });

  it('a reload that changes where sessions or lockouts live keeps the stores it started with and says a restart applies it', async () => {
    const dir = tempDir();
    const logs: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => logs.push(line) } as unknown as NodeJS.WritableStream });
    const base = { gateway: { auth: { token: TEST_TOKEN } } };
    const sessionStore = openDefaultSessionStore(dir);
    const gateway = createGateway(parseConfig(base, {}), { env: {}, stateDir: dir, logger, sessionStore });
    try {
      gateway.applyConfig(parseConfig({ ...base, sessions: { store: { driver: 'postgres', url: 'postgres://db/x' } }, gateway: { auth: { token: TEST_TOKEN, rateLimit: { store: { driver: 'redis', url: 'redis://cache' } } } } }, {}));
      const warning = logs.map((line) => JSON.parse(line)).find((entry) => entry.event === 'config.restart_needed');
      expect(warning.keys).toEqual(['sessions.store', 'gateway.auth.rateLimit.store']);
      expect(gateway.runtime.current.config.sessions.store.driver).toBe('postgres');
      expect(gateway.runtime.store).toBe(sessionStore);
      expect(gateway.runtime.store!.driver).toBe('sqlite');
    } finally {
      await gateway.close({ graceMs: 100 });
    }
  });
});

describe('the config file goes away while running', () => {
  it('deleted, then emptied: the running config stays, with a warning each time; written again: applied', async () => {
    const dir = tempDir();
    const file = join(dir, 'openclaw.json');
    const write = (enabled: boolean) => writeFileSync(file, JSON.stringify({ gateway: { auth: { token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled } } } } }));
    write(true);
    const logs: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => logs.push(line) } as unknown as NodeJS.WritableStream });
    const gateway = createGateway(loadConfigFile(file, {}), { configPath: file, env: {}, stateDir: dir, logger });
    const { url } = await gateway.listen({ port: 0, bind: '127.0.0.1' });
    const ask = () =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      });
    const entries = (event: string) => logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === event);
    try {
      expect((await ask()).status).toBe(200);

      rmSync(file);
      await waitFor(() => entries('config.file_missing').length > 0);
      expect(entries('config.file_missing')[0]).toMatchObject({ level: 'warn', path: file });
      expect((await ask()).status).toBe(200);

      writeFileSync(file, '  \n');
      await waitFor(() => entries('config.file_empty').length > 0);
      expect(entries('config.file_empty')[0]).toMatchObject({ level: 'warn', path: file });
      expect((await ask()).status).toBe(200);
      expect(entries('config.reloaded')).toHaveLength(0);

      write(false);
      await waitFor(async () => (await ask()).status === 404);
      expect(entries('config.reloaded').length).toBeGreaterThan(0);
    } finally {
      await gateway.close({ graceMs: 100 });
    }
  });
});

/** Resolves once `check` holds (the test's own timeout is the limit). */
async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('MCP servers and tool policy', () => {
  const problems = (raw: unknown, env: Record<string, string> = {}) => {
    try {
      parseConfig(raw, env);
      return [];
    } catch (error) {
      return (error as { problems: string[] }).problems;
    }
  };

  it('defaults: no servers, deny by default, and the loop limits', () => {
    const config = parseConfig({}, {});
    expect(config.mcp.servers).toEqual({});
    expect(config.agents.list[0]).toMatchObject({ tools: { allow: [], deny: [] }, maxToolSteps: 8, toolTimeoutSeconds: 60, maxToolResultBytes: 65536 });
  });

  it("an agent's allow replaces the defaults' allow; the defaults' deny always applies", () => {
    const config = parseConfig(
      { agents: { defaults: { tools: { allow: ['*'], deny: ['admin__*'] }, maxToolSteps: 3 }, list: [{ id: 'main' }, { id: 'narrow', tools: { allow: ['notes__*'], deny: ['notes__delete'] }, maxToolSteps: 5 }] } },
      {},
    );
    expect(config.agents.list[0]).toMatchObject({ tools: { allow: ['*'], deny: ['admin__*'] }, maxToolSteps: 3 });
    expect(config.agents.list[1]).toMatchObject({ tools: { allow: ['notes__*'], deny: ['admin__*', 'notes__delete'] }, maxToolSteps: 5 });
  });

  it('names what is wrong with a server entry, and substitutes ${NAME} in it', () => {
    expect(problems({ mcp: { servers: { a__b: { command: 'x' } } } })).toEqual([
      'mcp.servers.a__b: must be an MCP server name (letters, digits, `-`, single `_` not at either end; at most 48 characters)',
    ]);
    expect(problems({ mcp: { servers: { s: { command: 'x', url: 'http://h/mcp' } } } })).toEqual(['mcp.servers.s: set either command (a stdio server) or url (a streamable HTTP server), not both']);
    expect(problems({ mcp: { servers: { s: {} } } })).toEqual(['mcp.servers.s: needs command (a stdio server) or url (a streamable HTTP server)']);
    expect(problems({ mcp: { servers: { s: { url: 'ftp://h' } } } })).toEqual(['mcp.servers.s.url: must be an http:// or https:// URL']);
    expect(problems({ mcp: { servers: { s: { url: 'http://h/mcp', env: {} } } } })).toEqual(['mcp.servers.s.env: only for a stdio server (command)']);
    const config = parseConfig({ mcp: { servers: { s: { url: 'https://h/mcp', headers: { authorization: 'Bearer ${MCP_TOKEN}' } } } } }, { MCP_TOKEN: 'abc' });
    expect(config.mcp.servers.s.headers).toEqual({ authorization: 'Bearer abc' });
  });
});
