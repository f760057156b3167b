// Failures an operator can act on: every start-up failure names the setting or path and the fix,
// and upstream failures name the provider, its address (without credentials) and the cause.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteSessionStore } from '../src/sessions/sqlite-store.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { freePort, killAll, spawnProcess } from './helpers/processes.ts';

const BIN = new URL('../bin/openclaw.js', import.meta.url).pathname;
const NOBODY = 65534;

afterEach(() => killAll());

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'openclaw-ops-'));
}

function cli(args: string[], env: Record<string, string> = {}, options: { uid?: number; gid?: number } = {}) {
  const home = env.HOME ?? tempDir();
  return spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: home, ...env }, encoding: 'utf8', ...options });
}

describe('start-up failures name the setting and the fix', () => {
  it('a state dir that is a file: OPENCLAW_STATE_DIR, the path, what to do; exit 2', () => {
    const file = join(tempDir(), 'state');
    writeFileSync(file, 'not a folder');
    const result = cli(['gateway', '--port', '0'], { OPENCLAW_STATE_DIR: file });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`the state dir ${file} (OPENCLAW_STATE_DIR`);
    expect(result.stderr).toContain('is a file, not a folder. Point OPENCLAW_STATE_DIR at a folder, or move the file away.');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a state dir under a file: the same advice', () => {
    const file = join(tempDir(), 'state');
    writeFileSync(file, '');
    const result = cli(['gateway', '--port', '0'], { OPENCLAW_STATE_DIR: join(file, 'inside') });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('part of its path is a file, not a folder. Point OPENCLAW_STATE_DIR at a folder.');
  });

  it('a state dir this user cannot write: names OPENCLAW_STATE_DIR, the cause, chown or another folder; exit 2', () => {
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const stateDir = join(parent, 'state');
    mkdirSync(stateDir, { mode: 0o755 });
    const home = join(parent, 'home');
    mkdirSync(home, { mode: 0o777 });
    // As root every permission check passes: the gateway then runs as an unprivileged user, as a service would.
    const asUser = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    if (!asUser.uid) chmodSync(stateDir, 0o500);
    const result = cli(['gateway', '--port', '0'], { OPENCLAW_STATE_DIR: stateDir, HOME: home }, asUser);
    expect(result.stderr).toContain(`Cannot use the state dir ${stateDir} (OPENCLAW_STATE_DIR`);
    expect(result.stderr).toMatch(/cannot write it \((EACCES|EPERM)\)\. Give the folder to the user the gateway runs as \(chown\), or point OPENCLAW_STATE_DIR at a folder it can write\./);
    expect(result.status).toBe(2);
  });

  it('a state dir that cannot be created says so and how to fix it', () => {
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const home = join(parent, 'home');
    mkdirSync(home, { mode: 0o777 });
    const asUser = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    if (!asUser.uid) chmodSync(parent, 0o555);
    const stateDir = join(parent, 'not-yet', 'state');
    const result = cli(['gateway', '--port', '0'], { OPENCLAW_STATE_DIR: stateDir, HOME: home }, asUser);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`Cannot create the state dir ${stateDir} (OPENCLAW_STATE_DIR`);
    expect(result.stderr).toContain('(mkdir -p, chown), or point OPENCLAW_STATE_DIR at a folder that user can write.');
  });

  it('the start-up line names the config file only when there is one', async () => {
    const stateDir = tempDir();
    const withoutFile = spawnProcess(process.execPath, [BIN, 'gateway', '--port', String(await freePort())], { env: { PATH: process.env.PATH ?? '', HOME: stateDir, OPENCLAW_STATE_DIR: stateDir } });
    await withoutFile.waitFor('openclaw gateway listening on');
    const line = withoutFile.stderr().split('\n').find((l) => l.includes('listening on'))!;
    expect(line).not.toContain('(config:');
    expect(line).toContain(`(no config file, built-in defaults; create ${join(stateDir, 'openclaw.json')} or pass --config to configure)`);
    withoutFile.child.kill('SIGTERM');
    expect(await withoutFile.exited).toBe(0);

    const config = join(stateDir, 'openclaw.json');
    writeFileSync(config, '{}');
    const withFile = spawnProcess(process.execPath, [BIN, 'gateway', '--port', String(await freePort())], { env: { PATH: process.env.PATH ?? '', HOME: stateDir, OPENCLAW_STATE_DIR: stateDir } });
    await withFile.waitFor('openclaw gateway listening on');
    expect(withFile.stderr()).toContain(`(config: ${config})`);
    withFile.child.kill('SIGTERM');
    expect(await withFile.exited).toBe(0);
  });

  it('config files: a JSON5 syntax error with line, column and the likely cause; every missing ${VAR} at once; missing and empty files by name', () => {
    const dir = tempDir();
    const syntax = join(dir, 'syntax.json5');
    writeFileSync(syntax, '{\n  gateway: {\n    port: 18789\n    bind: "lan",\n  },\n}\n');
    let result = cli(['gateway', '--config', syntax], { OPENCLAW_STATE_DIR: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`Config file ${syntax} is not valid JSON5`);
    expect(result.stderr).toContain("invalid character 'b' at line 4, column 5 (a comma may be missing at the end of line 3)");
    expect(result.stderr).toContain('bind: "lan",');

    const unclosed = join(dir, 'unclosed.json5');
    writeFileSync(unclosed, '{ gateway: { port: 1 }\n');
    result = cli(['gateway', '--config', unclosed], { OPENCLAW_STATE_DIR: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('(a bracket or brace is not closed)');

    const vars = join(dir, 'vars.json5');
    writeFileSync(vars, '{ gateway: { auth: { token: "${GW_TOKEN}" } }, models: { providers: { p: { api: "openai-completions", baseUrl: "${P_URL}", apiKey: "${P_KEY}" } } } }');
    result = cli(['gateway', '--config', vars], { OPENCLAW_STATE_DIR: dir, P_URL: 'http://127.0.0.1:1/v1' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('environment variables not set: GW_TOKEN (gateway.auth.token), P_KEY (models.providers.p.apiKey)');

    const empty = join(dir, 'empty.json5');
    writeFileSync(empty, '\n');
    result = cli(['gateway', '--config', empty], { OPENCLAW_STATE_DIR: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`Config file ${empty} is empty; write at least {} in it.`);

    result = cli(['gateway', '--config', join(dir, 'nowhere.json5')], { OPENCLAW_STATE_DIR: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`Config file ${join(dir, 'nowhere.json5')} does not exist; create it, or point --config / OPENCLAW_CONFIG_PATH at an existing file.`);
  });
});

describe('openclaw sessions --state-dir / --config', () => {
  it('reads the store in the folder given, before or after the subcommand, instead of OPENCLAW_STATE_DIR', async () => {
    const stateDir = tempDir();
    const store = new SqliteSessionStore(join(stateDir, 'sessions.sqlite'));
    await store.appendTurn('agent:main:from-flag', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }], meta: {} }, { expectedPosition: 0 });
    await store.close();
    const elsewhere = tempDir();
    for (const args of [['sessions', '--state-dir', stateDir, 'list', '--json'], ['sessions', 'list', '--json', '--state-dir', stateDir]]) {
      const result = cli(args, { OPENCLAW_STATE_DIR: elsewhere });
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout).map((s: { key: string }) => s.key)).toEqual(['agent:main:from-flag']);
    }
    const shown = cli(['sessions', 'show', 'agent:main:from-flag', '--state-dir', stateDir], { OPENCLAW_STATE_DIR: elsewhere });
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('hello');
  });
});

describe('upstream failures name the provider, its address without credentials, and the cause', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let closedPort: number;
  let plainServer: ReturnType<typeof createServer>;
  let plainPort: number;

  beforeAll(async () => {
    upstream = await startFakeUpstream(() => ({ kind: 'status', status: 404, body: { error: { message: 'Not Found' } } }));
    closedPort = await freePort();
    // Answers TLS handshakes with plain bytes, as a server without TLS would.
    plainServer = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n').on('finish', () => socket.destroy()));
    await new Promise<void>((resolve) => plainServer.listen(0, '127.0.0.1', resolve));
    plainPort = (plainServer.address() as { port: number }).port;
    const root = upstream.baseUrl.replace(/\/v1$/, '');
    const provider = (baseUrl: string, extra: Record<string, unknown> = {}) => ({ api: 'openai-completions', baseUrl, apiKey: 'sk-secret-key-123', maxRetries: 0, ...extra });
    gw = await startTestGateway({
      models: {
        providers: {
          refused: provider(`http://admin:hunter2@127.0.0.1:${closedPort}/v1?token=abc`),
          nodns: provider('http://no-such-host.invalid/v1'),
          notls: provider(`https://127.0.0.1:${plainPort}/v1`),
          novone: provider(root),
          slow: provider(upstream.baseUrl, { timeoutMs: 200 }),
        },
      },
      agents: {
        list: [
          { id: 'main', default: true, model: 'refused/m' },
          { id: 'nodns', model: 'nodns/m' },
          { id: 'notls', model: 'notls/m' },
          { id: 'novone', model: 'novone/m' },
          { id: 'slow', model: 'slow/m' },
        ],
      },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await new Promise((resolve) => plainServer?.close(resolve));
  });

  async function failure(agent: string) {
    const error = await gw.client.chat.completions.create({ model: `openclaw/${agent}`, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError> & { error: { message: string; code: string } };
  }

  it('connection refused: provider, host and path, no user, password or query', async () => {
    const error = await failure('main');
    expect(error.status).toBe(502);
    expect(error.message).toContain(`refused`);
    expect(error.message).toContain(`http://127.0.0.1:${closedPort}/v1`);
    expect(error.message).toContain('connection refused');
    for (const secret of ['admin', 'hunter2', 'token=abc', 'sk-secret-key-123']) expect(error.message).not.toContain(secret);
    expect(error.message.match(/could not be reached/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it('a host name that does not resolve: DNS', async () => {
    const error = await failure('nodns');
    expect(error.status).toBe(502);
    expect(error.message).toContain('http://no-such-host.invalid/v1');
    expect(error.message).toContain('the host name does not resolve (DNS)');
  });

  it('TLS to a server that does not speak it: TLS failed', async () => {
    const error = await failure('notls');
    expect(error.status).toBe(502);
    expect(error.message).toContain(`https://127.0.0.1:${plainPort}/v1`);
    expect(error.message).toMatch(/TLS failed/);
  });

  it('a baseUrl without /v1 (the upstream answers 404): 502 upstream_misconfigured suggesting to check baseUrl', async () => {
    const error = await failure('novone');
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_misconfigured');
    expect(error.message).toContain('models.providers.novone.baseUrl');
    expect(error.message).toContain('/v1');
  });

  it('no answer within timeoutMs: says so', async () => {
    upstream.setScript(() => ({ kind: 'hang' }));
    try {
      const error = await failure('slow');
      expect([502, 504]).toContain(error.status);
      expect(error.message).toContain('slow');
      expect(error.message).toContain('no response within models.providers.slow.timeoutMs (200 ms)');
    } finally {
      upstream.setScript(() => ({ kind: 'status', status: 404, body: { error: { message: 'Not Found' } } }));
    }
  });
});
