import { RateLimiterCluster, RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/types.ts';
import { lockoutKey } from './client-address.ts';
import { limiterApplies, type AuthFailureLimiter } from './limiter.ts';

/** How long a worker waits for the supervisor to answer before the auth check fails. */
const SUPERVISOR_TIMEOUT_MS = 2_000;

/**
 * Failed-auth counts and lockouts shared by the workers of `openclaw gateway --workers N`: the
 * counters live in the supervisor (rate-limiter-flexible's cluster master, see
 * `startClusterAuthLimiterHub`) and every worker asks it over the cluster's IPC channel, so a
 * client that fails on one worker is counted, and locked out, on all of them. The settings travel
 * with each call (the window as the counter's duration), so a config reload in a worker applies
 * at once, as with the in-memory limiter.
 */
export class ClusterAuthLimiter implements AuthFailureLimiter {
  private readonly failures = new RateLimiterCluster({ keyPrefix: 'auth-failures', points: 10, duration: 60, timeoutMs: SUPERVISOR_TIMEOUT_MS });
  private readonly locks = new RateLimiterCluster({ keyPrefix: 'auth-locks', points: 1, duration: 300, timeoutMs: SUPERVISOR_TIMEOUT_MS });

  async lockedForMs(address: string, settings: RateLimitConfig): Promise<number> {
    if (!limiterApplies(address, settings)) return 0;
    const lock = await this.locks.get(lockoutKey(address));
    return lock && lock.msBeforeNext > 0 ? lock.msBeforeNext : 0;
  }

  async recordFailure(address: string, settings: RateLimitConfig): Promise<number> {
    if (!limiterApplies(address, settings)) return 0;
    const { maxAttempts, windowMs, lockoutMs } = settings;
    const key = lockoutKey(address);
    // The window starts at the first failure (the duration applies when the counter is created).
    const result = await this.failures.penalty(key, 1, { customDuration: windowMs / 1000 });
    if (result.consumedPoints < maxAttempts) return 0;
    await this.failures.delete(key);
    await this.locks.block(key, lockoutMs / 1000);
    return lockoutMs;
  }
}

/**
 * Starts answering the workers' limiter calls in the supervisor (before it forks them). It holds
 * the counters in the supervisor's memory, so they outlive any one worker.
 */
export function startClusterAuthLimiterHub(): void {
  new RateLimiterClusterMaster();
}
