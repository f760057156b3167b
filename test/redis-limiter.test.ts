// Failed-auth counts and lockouts in Redis: shared by every gateway on it, and what happens when
// Redis goes away (the gateway keeps serving, counts per process, and says so) and comes back.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisAuthLimiter } from '../src/auth/redis-limiter.ts';
import { capturedLogger } from './helpers/captured-logger.ts';
import { startTestGateway, TEST_TOKEN, type TestGateway } from './helpers/gateway.ts';
import { startOwnRedis, type OwnRedis } from './helpers/own-services.ts';
import { checkRedis, REDIS_URL } from './helpers/services.ts';

const redis = await checkRedis();
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const rateLimit = { exemptLoopback: false, maxAttempts: 3, windowMs: 60_000, lockoutMs: 60_000 };

/** A gateway whose lockouts live in the Redis at `url` under `keyPrefix`. */
async function gatewayOn(url: string, keyPrefix: string, logger = capturedLogger()): Promise<TestGateway & { log: ReturnType<typeof capturedLogger> }> {
  const authLimiter = new RedisAuthLimiter({ url, logger: logger.logger, keyPrefix });
  const gw = await startTestGateway({ gateway: { auth: { rateLimit: { ...rateLimit, store: { driver: 'redis', url } } } } }, { authLimiter, logger: logger.logger });
  cleanups.push(() => gw.close());
  return Object.assign(gw, { log: logger });
}

async function models(gw: TestGateway, token: string) {
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

async function ready(gw: TestGateway) {
  const res = await fetch(`${gw.url}/ready`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; stores: Array<{ role: string; driver: string; ok: boolean; fallback?: string; detail?: string }> } };
}

async function untilTrue(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(await check()).toBe(true);
}

describe.skipIf(redis.skip)('auth lockouts in Redis', () => {
  beforeAll(() => {
    if (redis.problem) throw new Error(redis.problem);
  });

  it('a client locked out through one gateway is locked out on the other, and failures count across both', async () => {
    const prefix = `openclaw-test:${randomBytes(4).toString('hex')}`;
    const one = await gatewayOn(REDIS_URL, prefix);
    const two = await gatewayOn(REDIS_URL, prefix);
    await untilTrue(async () => (await ready(one)).body.stores.some((store) => store.role === 'auth_limiter' && store.ok));
    await untilTrue(async () => (await ready(two)).body.stores.some((store) => store.role === 'auth_limiter' && store.ok));
    expect((await models(one, 'wrong-1')).status).toBe(401);
    expect((await models(two, 'wrong-2')).status).toBe(401);
    // The third failure, on the first gateway, is the last one allowed across both.
    expect((await models(one, 'wrong-3')).status).toBe(401);
    const locked = await models(two, TEST_TOKEN);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('auth_rate_limited');
    expect((await models(one, TEST_TOKEN)).status).toBe(429);
    expect((await ready(one)).body.stores).toContainEqual({ role: 'auth_limiter', driver: 'redis', ok: true });
  });

  it('Redis stopped mid-run: the gateway keeps serving, counts per process, says so in the log and /ready; Redis back: shared again', async () => {
    const own: OwnRedis = await startOwnRedis();
    cleanups.push(() => own.stop());
    const prefix = 'openclaw-test';
    const one = await gatewayOn(own.url, prefix);
    const two = await gatewayOn(own.url, prefix);
    await untilTrue(async () => (await ready(one)).body.stores.some((store) => store.role === 'auth_limiter' && store.ok));
    await untilTrue(async () => (await ready(two)).body.stores.some((store) => store.role === 'auth_limiter' && store.ok));
    expect((await models(one, 'wrong')).status).toBe(401);

    await own.stop();
    // Still serving: a right token gets in, a wrong one is refused, and /ready stays ready.
    expect((await models(one, TEST_TOKEN)).status).toBe(200);
    expect((await models(one, 'wrong')).status).toBe(401);
    const degraded = await ready(one);
    expect(degraded.status).toBe(200);
    expect(degraded.body.ready).toBe(true);
    expect(degraded.body.stores).toContainEqual(expect.objectContaining({ role: 'auth_limiter', driver: 'redis', ok: false, fallback: 'memory' }));
    expect(one.log.events()).toContain('auth_limiter.degraded');
    // Counted per process meanwhile: three failures on gateway one lock it out there, not on two.
    expect((await models(one, 'wrong')).status).toBe(401);
    expect((await models(one, 'wrong')).status).toBe(401);
    expect((await models(one, TEST_TOKEN)).status).toBe(429);
    expect((await models(two, TEST_TOKEN)).status).toBe(200);

    await own.start();
    await untilTrue(async () => (await ready(two)).body.stores.some((store) => store.role === 'auth_limiter' && store.ok));
    expect(two.log.events()).toContain('auth_limiter.recovered');
    // Shared again: failures on gateway two lock the client out on two (and on one, where it already was).
    for (let i = 0; i < 3; i++) expect((await models(two, 'wrong')).status).toBe(401);
    expect((await models(two, TEST_TOKEN)).status).toBe(429);
    await untilTrue(async () => (await ready(one)).body.stores.some((store) => store.role === 'auth_limiter' && store.ok));
  });
});
