import { createRequire } from 'node:module';
import type * as RateLimiterFlexible from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/types.ts';
import { isLoopbackAddress, lockoutKey } from './client-address.ts';

// The memory limiter's own file: the package's index requires every backend it supports (Redis,
// Mongo, MySQL, DynamoDB, etc.), two dozen modules this process would otherwise hold for nothing.
const RateLimiterMemory = createRequire(import.meta.url)('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof RateLimiterFlexible.RateLimiterMemory;

/**
 * Counts failed authentications per client address and locks an address out. One per gateway,
 * handed in through the gateway's dependencies: the in-memory one here serves one process; a
 * shared one (Redis) makes the counts and lockouts hold across replicas.
 */
export interface AuthFailureLimiter {
  /** Milliseconds left on this address's lockout; 0 when it is not locked. */
  lockedForMs(address: string, settings: RateLimitConfig): Promise<number>;
  /** Counts one failure; resolves with the lockout in ms when this failure was the last one allowed, else 0. */
  recordFailure(address: string, settings: RateLimitConfig): Promise<number>;
  /** Where the counts live and whether that store answers (for /ready). */
  status?(): Promise<LimiterStatus>;
  close?(): Promise<void>;
}

export interface LimiterStatus {
  driver: string;
  ok: boolean;
  /** What counts failures while the shared store is unreachable. */
  fallback?: string;
  detail?: string;
}

/** Whether failures from this address are counted at all (limiter on, loopback not exempt). */
export function limiterApplies(address: string, settings: RateLimitConfig): boolean {
  return settings.enabled && !(settings.exemptLoopback && isLoopbackAddress(address));
}

/**
 * The per-process limiter (rate-limiter-flexible's memory store). The settings are passed on every
 * call, so a config reload applies at once and keeps the counts and locks already in place.
 */
export class MemoryAuthLimiter implements AuthFailureLimiter {
  private readonly failures = new RateLimiterMemory({ keyPrefix: 'auth-failures', points: 10, duration: 60 });
  private readonly locks = new RateLimiterMemory({ keyPrefix: 'auth-locks', points: 1, duration: 300 });

  async lockedForMs(address: string, settings: RateLimitConfig): Promise<number> {
    if (!limiterApplies(address, settings)) return 0;
    const lock = await this.locks.get(lockoutKey(address));
    return lock && lock.msBeforeNext > 0 ? lock.msBeforeNext : 0;
  }

  async recordFailure(address: string, settings: RateLimitConfig): Promise<number> {
    if (!limiterApplies(address, settings)) return 0;
    const { maxAttempts, windowMs, lockoutMs } = settings;
    this.failures.points = maxAttempts;
    this.failures.duration = windowMs / 1000;
    const key = lockoutKey(address);
    const result = await this.failures.penalty(key, 1);
    if (result.consumedPoints < maxAttempts) return 0;
    await this.failures.delete(key);
    await this.locks.block(key, lockoutMs / 1000);
    return lockoutMs;
  }

  async status(): Promise<LimiterStatus> {
    return { driver: 'memory', ok: true };
  }
}
