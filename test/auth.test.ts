// Authentication through real HTTP against a real gateway: modes, env names, lockout, trustProxy,
// refusal to start, the generated token, and no secret in any answer or log line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lockoutKey } from '../src/auth/client-address.ts';
import { GENERATED_TOKEN_FILE } from '../src/auth/secret.ts';
import { parseConfig } from '../src/config/load.ts';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { capturedLogger } from './helpers/captured-logger.ts';
import { mergeDeep, startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';

const REPO = join(import.meta.dirname, '..');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(raw: Record<string, any> = {}, deps: Parameters<typeof startTestGateway>[1] = {}): Promise<TestGateway> {
  const gw = await startTestGateway(raw, deps);
  cleanups.push(() => gw.close());
  return gw;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-auth-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function get(gw: { url: string }, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? safeJson(text) : undefined };
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

function expectOpenAiError(body: any, type: string) {
  expect(body).toEqual({ error: { message: expect.any(String), type, param: null, code: expect.anything(), request_id: expect.any(String) } });
}

describe('bearer scheme', () => {
  it('accepts the scheme word in any case and refuses other schemes with 401', async () => {
    const gw = await start();
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await get(gw, '/v1/models', { authorization: `${scheme} ${TEST_TOKEN}` })).status).toBe(200);
    }
    for (const header of [`Basic ${Buffer.from(`x:${TEST_TOKEN}`).toString('base64')}`, `Token ${TEST_TOKEN}`, TEST_TOKEN, 'Bearer', 'Bearer ']) {
      const res = await get(gw, '/v1/models', { authorization: header });
      expect(res.status, header).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expectOpenAiError(res.body, 'invalid_request_error');
    }
    const missing = await get(gw, '/v1/models');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expectOpenAiError(missing.body, 'invalid_request_error');
  });

  it('answers a request that is both unauthenticated and malformed with 401', async () => {
    const gw = await start();
    for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', authorization: 'Bearer wrong-secret-value' }]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers, body: '{"model": ' });
      expect(res.status).toBe(401);
      expectOpenAiError(await res.json(), 'invalid_request_error');
    }
    const wrongType = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(wrongType.status).toBe(401);
  });
});

describe('modes and where the secret comes from', () => {
  it('password mode uses gateway.auth.password', async () => {
    const gw = await start({ gateway: { auth: { mode: 'password', token: undefined, password: 'correct horse battery staple' } } });
    expect((await get(gw, '/v1/models', bearer('correct horse battery staple'))).status).toBe(200);
    const wrong = await get(gw, '/v1/models', bearer(TEST_TOKEN));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toMatch(/password/);
  });

  it('falls back to OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD, and config wins over env', async () => {
    const fromEnv = await start({ gateway: { auth: { token: undefined } } }, { env: { OPENCLAW_GATEWAY_TOKEN: 'env-token-abcdefghijklmnop' } });
    expect((await get(fromEnv, '/v1/models', bearer('env-token-abcdefghijklmnop'))).status).toBe(200);
    expect((await get(fromEnv, '/v1/models', bearer(TEST_TOKEN))).status).toBe(401);

    const password = await start({ gateway: { auth: { mode: 'password', token: undefined } } }, { env: { OPENCLAW_GATEWAY_PASSWORD: 'env-password-abcdefghij' } });
    expect((await get(password, '/v1/models', bearer('env-password-abcdefghij'))).status).toBe(200);

    const configWins = await start({}, { env: { OPENCLAW_GATEWAY_TOKEN: 'env-token-abcdefghijklmnop' } });
    expect((await get(configWins, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
    expect((await get(configWins, '/v1/models', bearer('env-token-abcdefghijklmnop'))).status).toBe(401);
  });

  it('accepts the legacy CLAWDBOT_GATEWAY_* names with exactly one deprecation warning, even across reloads', async () => {
    const log = capturedLogger();
    const env = { CLAWDBOT_GATEWAY_TOKEN: 'legacy-token-abcdefghijkl' };
    const gw = await start({ gateway: { auth: { token: undefined } } }, { env, logger: log.logger });
    expect((await get(gw, '/v1/models', bearer('legacy-token-abcdefghijkl'))).status).toBe(200);
    const raw = { gateway: { auth: { mode: 'token' }, http: { endpoints: { chatCompletions: { enabled: true } } } } };
    gw.gateway.applyConfig(parseConfig(raw, env));
    gw.gateway.applyConfig(parseConfig(raw, env));
    expect((await get(gw, '/v1/models', bearer('legacy-token-abcdefghijkl'))).status).toBe(200);
    const warnings = log.lines.filter((entry) => entry.event === 'auth.deprecated_env');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', variable: 'CLAWDBOT_GATEWAY_TOKEN' });
    expect(warnings[0].msg).toMatch(/OPENCLAW_GATEWAY_TOKEN/);
    expect(log.text()).not.toContain('legacy-token-abcdefghijkl');

    const legacyPassword = await start({ gateway: { auth: { mode: 'password', token: undefined } } }, { env: { CLAWDBOT_GATEWAY_PASSWORD: 'legacy-password-abcdefgh' } });
    expect((await get(legacyPassword, '/v1/models', bearer('legacy-password-abcdefgh'))).status).toBe(200);

    const newWins = await start({ gateway: { auth: { token: undefined } } }, { env: { ...env, OPENCLAW_GATEWAY_TOKEN: 'new-token-abcdefghijklmno' } });
    expect((await get(newWins, '/v1/models', bearer('new-token-abcdefghijklmno'))).status).toBe(200);
    expect((await get(newWins, '/v1/models', bearer('legacy-token-abcdefghijkl'))).status).toBe(401);
  });

  it('mode none serves loopback without a header', async () => {
    const gw = await start({ gateway: { auth: { mode: 'none', token: undefined } } });
    expect((await get(gw, '/v1/models')).status).toBe(200);
  });

  it('generates a token once (file mode 0600), prints it, and reuses it on the next start', async () => {
    const stateDir = tempDir();
    const config = parseConfig({ gateway: { auth: { mode: 'token' }, http: { endpoints: { chatCompletions: { enabled: true } } } } }, {});
    const log = capturedLogger();
    const first = createGateway(config, { env: {}, stateDir, logger: log.logger });
    const { url } = await first.listen({ port: 0, bind: '127.0.0.1' });
    const file = join(stateDir, GENERATED_TOKEN_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect((await get({ url }, '/v1/models', bearer(token))).status).toBe(200);
    await first.close({ graceMs: 100 });
    expect(log.text()).not.toContain(token);

    const second = createGateway(config, { env: {}, stateDir });
    cleanups.push(() => second.close({ graceMs: 100 }));
    const again = await second.listen({ port: 0, bind: '127.0.0.1' });
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await get(again, '/v1/models', bearer(token))).status).toBe(200);
  });
});

describe('refusing to start beyond loopback', () => {
  const make = (auth: Record<string, unknown>): Gateway => {
    const config = parseConfig({ gateway: { auth } }, {});
    const gateway = createGateway(config, { env: {}, stateDir: tempDir() });
    cleanups.push(() => gateway.close({ graceMs: 0 }));
    return gateway;
  };

  it('createGateway.listen refuses mode none and short secrets on a non-loopback bind, and allows them on loopback', async () => {
    await expect(make({ mode: 'none' }).listen({ port: 0, bind: 'lan' })).rejects.toThrow(/auth\.mode "none"/);
    await expect(make({ mode: 'none' }).listen({ port: 0, bind: '0.0.0.0' })).rejects.toThrow(/refusing to bind/);
    const short = make({ mode: 'token', token: 'short-secret' }).listen({ port: 0, bind: 'lan' });
    await expect(short).rejects.toThrow(/shorter than 16 characters/);
    await short.catch((error: Error) => expect(error.message).not.toContain('short-secret'));
    await expect(make({ mode: 'password', password: 'pw-short' }).listen({ port: 0, bind: 'lan' })).rejects.toThrow(/shorter than 16/);
    await expect(make({ mode: 'none' }).listen({ port: 0, bind: 'loopback' })).resolves.toMatchObject({ port: expect.any(Number) });
    await expect(make({ mode: 'token', token: 'short-secret' }).listen({ port: 0, bind: '127.0.0.1' })).resolves.toBeTruthy();
    await expect(make({ mode: 'token', token: 'a-long-enough-secret-123' }).listen({ port: 0, bind: 'lan' })).resolves.toBeTruthy();
  });

  it('a reload to mode none is refused while bound beyond loopback', async () => {
    const gateway = make({ mode: 'token', token: 'a-long-enough-secret-123' });
    const { url } = await gateway.listen({ port: 0, bind: 'lan' });
    expect(() => gateway.applyConfig(parseConfig({ gateway: { auth: { mode: 'none' } } }, {}))).toThrow(/refusing to bind/);
    expect(gateway.runtime.current.auth.mode).toBe('token');
    expect((await get({ url }, '/health')).status).toBe(200);
  });

  const runCli = (config: object, args: string[]) => {
    const dir = tempDir();
    const configPath = join(dir, 'openclaw.json');
    writeFileSync(configPath, JSON.stringify(config));
    return new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/openclaw.js', 'gateway', '--config', configPath, '--port', '0', ...args], {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: dir, OPENCLAW_STATE_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.stdout.on('data', (chunk) => (stdout += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, stdout });
      });
    });
  };

  it('the CLI exits non-zero with a clear message for mode none on --bind lan', async () => {
    const result = await runCli({ gateway: { auth: { mode: 'none' } } }, ['--bind', 'lan']);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/refusing to bind lan with gateway\.auth\.mode "none"/);
  });

  it('the CLI exits non-zero for a short token on --bind lan without printing it', async () => {
    const result = await runCli({ gateway: { auth: { mode: 'token', token: 'tiny-secret' } } }, ['--bind', 'lan']);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/shorter than 16 characters/);
    expect(result.stderr + result.stdout).not.toContain('tiny-secret');
  });
});

describe('lockout after repeated wrong secrets', () => {
  const limited = (rateLimit: Record<string, unknown>, extra: Record<string, any> = {}) =>
    mergeDeep({ gateway: { auth: { rateLimit: { exemptLoopback: false, ...rateLimit } } } }, extra);

  it('401 for attempts 1..maxAttempts, then 429 with a counting-down Retry-After even with the right secret, then recovery', async () => {
    // The lockout runs on the clock the test moves (Date only; timers stay real).
    vi.useFakeTimers({ toFake: ['Date'] });
    cleanups.push(() => void vi.useRealTimers());
    const gw = await start(limited({ maxAttempts: 3, lockoutMs: 3_000 }));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const res = await get(gw, '/v1/models', bearer(`wrong-${attempt}`));
      expect(res.status, `attempt ${attempt}`).toBe(401);
      expect(res.headers.get('retry-after')).toBeNull();
    }
    const locked = await get(gw, '/v1/models', bearer(TEST_TOKEN));
    expect(locked.status).toBe(429);
    expectOpenAiError(locked.body, 'rate_limit_error');
    expect(locked.headers.get('retry-after')).toBe('3');

    const wrongWhileLocked = await get(gw, '/v1/models', bearer('wrong-again'));
    expect(wrongWhileLocked.status).toBe(429);
    const noHeaderWhileLocked = await get(gw, '/v1/models');
    expect(noHeaderWhileLocked.status).toBe(429);

    vi.advanceTimersByTime(1_100);
    const later = await get(gw, '/v1/models', bearer(TEST_TOKEN));
    expect(later.status).toBe(429);
    expect(later.headers.get('retry-after')).toBe('2');

    // Unauthenticated routes stay open during a lockout.
    expect((await get(gw, '/health')).status).toBe(200);

    vi.advanceTimersByTime(1_800);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(429);
    vi.advanceTimersByTime(100);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
    // Counting starts over after the lock lifts.
    expect((await get(gw, '/v1/models', bearer('wrong'))).status).toBe(401);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
  });

  it('a missing Authorization header does not count', async () => {
    const gw = await start(limited({ maxAttempts: 2 }));
    for (let i = 0; i < 10; i++) expect((await get(gw, '/v1/models')).status).toBe(401);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
  });

  it('loopback is exempt while exemptLoopback (the default)', async () => {
    const gw = await start({ gateway: { auth: { rateLimit: { maxAttempts: 2 } } } });
    for (let i = 0; i < 6; i++) expect((await get(gw, '/v1/models', bearer('wrong'))).status).toBe(401);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
  });

  it('is off with rateLimit.enabled false, and a reload that changes rateLimit applies at once', async () => {
    const gw = await start(limited({ enabled: false, maxAttempts: 2 }));
    for (let i = 0; i < 5; i++) expect((await get(gw, '/v1/models', bearer('wrong'))).status).toBe(401);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);

    const base = { gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } } };
    gw.gateway.applyConfig(parseConfig(mergeDeep(base, limited({ enabled: true, maxAttempts: 2, lockoutMs: 60_000 })), {}));
    expect((await get(gw, '/v1/models', bearer('wrong'))).status).toBe(401);
    expect((await get(gw, '/v1/models', bearer('wrong'))).status).toBe(401);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(429);

    // A reload that changes the limits keeps the locks already in place.
    gw.gateway.applyConfig(parseConfig(mergeDeep(base, limited({ enabled: true, maxAttempts: 5, lockoutMs: 60_000 })), {}));
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(429);
    // Turning the limiter off lifts it.
    gw.gateway.applyConfig(parseConfig(mergeDeep(base, limited({ enabled: false })), {}));
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
  });

  it('with trustProxy, X-Forwarded-For decides who is locked out', async () => {
    const gw = await start({ gateway: { trustProxy: true, auth: { rateLimit: { maxAttempts: 2, lockoutMs: 60_000 } } } });
    const from = (ip: string, secret: string) => get(gw, '/v1/models', { ...bearer(secret), 'x-forwarded-for': ip });
    expect((await from('203.0.113.5', 'wrong')).status).toBe(401);
    expect((await from('203.0.113.5', 'wrong')).status).toBe(401);
    expect((await from('203.0.113.5', TEST_TOKEN)).status).toBe(429);
    expect((await from('203.0.113.6', TEST_TOKEN)).status).toBe(200);
    // The client is the address the proxy in front appended (the chain's last); what comes before
    // it is the client's own claim, which does not make it someone else.
    expect((await from('10.0.0.1, 203.0.113.5', TEST_TOKEN)).status).toBe(429);
    expect((await from('203.0.113.5, 10.0.0.1', TEST_TOKEN)).status).toBe(200);
    // The proxy itself (loopback, exempt by default) is not locked out.
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
  });

  it('with trustProxy, a forged X-Forwarded-For neither dodges a lockout nor passes as loopback', async () => {
    const gw = await start({ gateway: { trustProxy: true, auth: { rateLimit: { maxAttempts: 2, lockoutMs: 60_000 } } } });
    // The client claims 127.0.0.1 and a fresh address each time; the proxy appends what it saw.
    const forged = (claim: string, secret: string) => get(gw, '/v1/models', { ...bearer(secret), 'x-forwarded-for': `${claim}, 198.51.100.20` });
    expect((await forged('127.0.0.1', 'wrong')).status).toBe(401);
    expect((await forged('192.0.2.1', 'wrong')).status).toBe(401);
    expect((await forged('192.0.2.2', TEST_TOKEN)).status).toBe(429);
  });

  it('counts IPv6 failures per /64 network, so rotating addresses inside it does not dodge the lockout', async () => {
    const gw = await start({ gateway: { trustProxy: true, auth: { rateLimit: { maxAttempts: 2, lockoutMs: 60_000 } } } });
    const from = (ip: string, secret: string) => get(gw, '/v1/models', { ...bearer(secret), 'x-forwarded-for': ip });
    expect((await from('2001:db8:1:2::a', 'wrong')).status).toBe(401);
    expect((await from('2001:db8:1:2:ffff:ffff:ffff:ffff', 'wrong')).status).toBe(401);
    expect((await from('2001:0db8:0001:0002:0000:0000:0000:0042', TEST_TOKEN)).status).toBe(429);
    // Another /64 is someone else.
    expect((await from('2001:db8:1:3::a', TEST_TOKEN)).status).toBe(200);
  });

  it('without trustProxy, X-Forwarded-For is ignored: the socket address is locked out', async () => {
    const gw = await start(limited({ maxAttempts: 2, lockoutMs: 60_000 }));
    const from = (ip: string, secret: string) => get(gw, '/v1/models', { ...bearer(secret), 'x-forwarded-for': ip });
    expect((await from('203.0.113.5', 'wrong')).status).toBe(401);
    expect((await from('203.0.113.6', 'wrong')).status).toBe(401);
    expect((await from('203.0.113.7', TEST_TOKEN)).status).toBe(429);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(429);
  });

  it('trustProxy follows a config reload', async () => {
    const gw = await start(limited({ maxAttempts: 1, lockoutMs: 60_000 }));
    const base = { gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } } };
    gw.gateway.applyConfig(parseConfig(mergeDeep(base, { gateway: { trustProxy: true, auth: { rateLimit: { exemptLoopback: false, maxAttempts: 1, lockoutMs: 60_000 } } } }), {}));
    expect((await get(gw, '/v1/models', { ...bearer('wrong'), 'x-forwarded-for': '198.51.100.1' })).status).toBe(401);
    expect((await get(gw, '/v1/models', { ...bearer(TEST_TOKEN), 'x-forwarded-for': '198.51.100.1' })).status).toBe(429);
    expect((await get(gw, '/v1/models', bearer(TEST_TOKEN))).status).toBe(200);
  });
});

describe('lockoutKey', () => {
  it.each([
    ['203.0.113.5', '203.0.113.5'],
    ['2001:db8:1:2::a', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:0:0:1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:192.0.2.1', '0:0:0:0::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['not:an::address::', 'not:an::address::'],
  ])('%s → %s', (address, key) => {
    expect(lockoutKey(address)).toBe(key);
  });
});

describe('the secret never leaks', () => {
  it('not in any response body, header or log line; a near miss reads like any other miss', async () => {
    const log = capturedLogger();
    const gw = await start(
      { gateway: { metrics: { enabled: true }, auth: { rateLimit: { exemptLoopback: false, maxAttempts: 3, lockoutMs: 60_000 } } } },
      { logger: log.logger },
    );
    const seen: string[] = [];
    const record = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${gw.url}${path}`, init);
      const text = await res.text();
      seen.push(text, JSON.stringify([...res.headers]));
      return { status: res.status, text };
    };
    const nearMiss = await record('/v1/models', { headers: bearer(TEST_TOKEN.slice(0, -1)) });
    const farMiss = await record('/v1/models', { headers: bearer('x') });
    expect(nearMiss.status).toBe(401);
    expect(JSON.parse(nearMiss.text).error.message).toBe(JSON.parse(farMiss.text).error.message);
    await record('/v1/models', { headers: bearer(TEST_TOKEN) });
    await record('/v1/models/openclaw', { headers: bearer(TEST_TOKEN) });
    await record('/v1/chat/completions', {
      method: 'POST',
      headers: { ...bearer(TEST_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await record('/v1/chat/completions', { method: 'POST', headers: { ...bearer(TEST_TOKEN), 'content-type': 'application/json' }, body: '{broken' });
    await record('/openapi.json');
    await record('/openapi.yaml');
    await record('/health');
    await record('/ready');
    await record('/metrics');
    await record('/nope', { headers: bearer(TEST_TOKEN) });
    await record('/v1/models', { headers: bearer('wrong') });
    const locked = await record('/v1/models', { headers: bearer(TEST_TOKEN) });
    expect(locked.status).toBe(429);
    for (const text of seen) expect(text).not.toContain(TEST_TOKEN);
    expect(log.text().length).toBeGreaterThan(0);
    expect(log.text()).not.toContain(TEST_TOKEN);
    expect(log.text()).not.toContain(TEST_TOKEN.slice(0, -1));
  });
});
