// Failed-auth counts and lockouts in Redis, shared by every replica: a client locked out on one
// replica is locked out on all of them, and its failures count once whichever replica saw them.
//
// While Redis cannot be reached the gateway keeps serving (the documented choice: an outage of the
// lockout store must not become an outage of the API) and counts failures per process, as the
// memory limiter does; it says so in the log and in /ready's body. Lockouts made during the outage
// keep holding in the process that made them after Redis is back; counts are not merged.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/types.ts';
import { lockoutKey } from './client-address.ts';
import { limiterApplies, MemoryAuthLimiter, type AuthFailureLimiter, type LimiterStatus } from './limiter.ts';

export interface RedisAuthLimiterOptions {
  url: string;
  logger: Logger;
  /** Prefix of every key this limiter writes (default `openclaw:auth`). */
  keyPrefix?: string;
}

export class RedisAuthLimiter implements AuthFailureLimiter {
  private readonly redis: Redis;
  private readonly failures: RateLimiterRedis;
  private readonly locks: RateLimiterRedis;
  private readonly fallback = new MemoryAuthLimiter();
  private readonly logger: Logger;
  /** Why Redis is not in use right now; undefined while it is. */
  private unavailable: string | undefined = 'connecting';
  /** While Redis is out of use: asks it every second whether it answers again (requests never wait on it meanwhile). */
  private probe: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(options: RedisAuthLimiterOptions) {
    this.logger = options.logger;
    this.redis = new Redis(options.url, {
      // Commands fail at once while disconnected (no queue to replay later): the fallback answers.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      commandTimeout: 2_000,
      // Reconnects for as long as the gateway runs, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    this.redis.on('ready', () => this.markAvailable());
    this.redis.on('error', (error: Error) => this.markUnavailable(describe(error)));
    this.redis.on('end', () => this.markUnavailable('connection closed'));
    const prefix = options.keyPrefix ?? 'openclaw:auth';
    const common = { storeClient: this.redis, rejectIfRedisNotReady: true };
    this.failures = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:failures`, points: 10, duration: 60 });
    this.locks = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:locks`, points: 1, duration: 300 });
  }

  async lockedForMs(address: string, settings: RateLimitConfig): Promise<number> {
    if (!limiterApplies(address, settings)) return 0;
    // A lockout this process made while Redis was away still holds.
    const local = await this.fallback.lockedForMs(address, settings);
    if (this.unavailable !== undefined) return local;
    try {
      const lock = await this.locks.get(lockoutKey(address));
      this.markAvailable();
      return Math.max(local, lock && lock.msBeforeNext > 0 ? lock.msBeforeNext : 0);
    } catch (error) {
      this.markUnavailable(describe(error));
      return local;
    }
  }

  async recordFailure(address: string, settings: RateLimitConfig): Promise<number> {
    if (!limiterApplies(address, settings)) return 0;
    const { maxAttempts, windowMs, lockoutMs } = settings;
    const key = lockoutKey(address);
    if (this.unavailable !== undefined) return this.fallback.recordFailure(address, settings);
    try {
      // Settings come with every call, so a config reload applies at once; Redis keeps seconds.
      this.failures.points = maxAttempts;
      this.failures.duration = Math.max(1, Math.round(windowMs / 1000));
      const result = await this.failures.penalty(key, 1);
      this.markAvailable();
      if (result.consumedPoints < maxAttempts) return 0;
      await this.failures.delete(key);
      await this.locks.block(key, Math.max(1, Math.round(lockoutMs / 1000)));
      return lockoutMs;
    } catch (error) {
      this.markUnavailable(describe(error));
      return this.fallback.recordFailure(address, settings);
    }
  }

  async status(): Promise<LimiterStatus> {
    if (this.unavailable === undefined) return { driver: 'redis', ok: true };
    return { driver: 'redis', ok: false, fallback: 'memory', detail: `Redis unreachable (${this.unavailable}); failed authentications are counted per process until it is back` };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.probe);
    this.redis.disconnect();
  }

  private markAvailable(): void {
    if (this.unavailable === undefined || this.closing) return;
    clearInterval(this.probe);
    this.probe = undefined;
    const wasConnecting = this.unavailable === 'connecting';
    this.unavailable = undefined;
    if (wasConnecting) this.logger.info({ event: 'auth_limiter.connected', driver: 'redis' }, 'auth lockouts shared through Redis');
    else this.logger.warn({ event: 'auth_limiter.recovered', driver: 'redis' }, 'Redis is back: auth lockouts are shared by every replica again');
  }

  private markUnavailable(reason: string): void {
    if (this.closing || (this.unavailable !== undefined && this.unavailable !== 'connecting')) return;
    this.unavailable = reason;
    // A connection that stayed up through a failed command (a timeout) fires no 'ready' again:
    // only a command that succeeds shows it works.
    this.probe ??= setInterval(() => {
      if (this.redis.status === 'ready') this.redis.ping().then(() => this.markAvailable(), () => undefined);
    }, 1_000);
    this.probe.unref();
    this.logger.error(
      { event: 'auth_limiter.degraded', driver: 'redis', fallback: 'memory', reason },
      'Redis is unreachable: failed authentications are counted per process (lockouts are not shared) until it is back',
    );
  }
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message ?? String(error);
}
