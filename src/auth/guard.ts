import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/types.ts';
import { AuthenticationError, RateLimitError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { isLoopbackAddress, lockoutKey } from './client-address.ts';
import { matchesDigest, parseBearer, secretDigest } from './secret.ts';

/**
 * Counts failed authentications per client address and locks an address out for `lockoutMs` after
 * `maxAttempts` wrong secrets inside `windowMs`. One instance per gateway (created by
 * createGateway, shared by every surface that authenticates); nothing lives at module level.
 * `gateway.auth.rateLimit` is read on every call, so a config reload applies at once and keeps
 * the counts and locks already in place.
 */
export class AuthFailureLimiter {
  private readonly failures: RateLimiterMemory;
  private readonly locks: RateLimiterMemory;
  private readonly settings: () => RateLimitConfig;

  constructor(settings: () => RateLimitConfig) {
    this.settings = settings;
    const initial = settings();
    this.failures = new RateLimiterMemory({ keyPrefix: 'auth-failures', points: initial.maxAttempts, duration: initial.windowMs / 1000 });
    this.locks = new RateLimiterMemory({ keyPrefix: 'auth-locks', points: 1, duration: initial.lockoutMs / 1000 });
  }

  /** Whether failures from this address are counted at all (limiter on, loopback not exempt). */
  applies(address: string): boolean {
    const settings = this.settings();
    return settings.enabled && !(settings.exemptLoopback && isLoopbackAddress(address));
  }

  /** Milliseconds left on this address's lockout; 0 when it is not locked. */
  async lockedForMs(address: string): Promise<number> {
    if (!this.applies(address)) return 0;
    const lock = await this.locks.get(lockoutKey(address));
    return lock && lock.msBeforeNext > 0 ? lock.msBeforeNext : 0;
  }

  /** Counts one failure; returns the lockout in ms when this failure was the last one allowed, else 0. */
  async recordFailure(address: string): Promise<number> {
    if (!this.applies(address)) return 0;
    const { maxAttempts, windowMs, lockoutMs } = this.settings();
    this.failures.points = maxAttempts;
    this.failures.duration = windowMs / 1000;
    const key = lockoutKey(address);
    const result = await this.failures.penalty(key, 1);
    if (result.consumedPoints < maxAttempts) return 0;
    await this.failures.delete(key);
    await this.locks.block(key, lockoutMs / 1000);
    return lockoutMs;
  }
}

export type AuthOutcome = { ok: true } | { ok: false; error: AuthenticationError | RateLimitError };

/**
 * The one place a presented credential is judged, for HTTP and any other surface on the port.
 * Order: a locked-out address is refused (429) whatever it presents; then a missing header is a
 * 401 that does not count; then a wrong scheme or secret is a 401 that counts.
 */
export class AuthGuard {
  readonly limiter: AuthFailureLimiter;
  private readonly runtime: Runtime;
  /** The current secret's digest, made again when a reload changes the secret. */
  private expected: { secret: string; digest: Buffer } | undefined;

  constructor(runtime: Runtime) {
    this.runtime = runtime;
    this.limiter = new AuthFailureLimiter(() => runtime.current.config.gateway.auth.rateLimit);
  }

  async check(address: string, authorization: string | undefined): Promise<AuthOutcome> {
    const { auth } = this.runtime.current;
    if (auth.mode === 'none' || !auth.secret) return { ok: true };
    const lockedMs = await this.limiter.lockedForMs(address);
    if (lockedMs > 0) return { ok: false, error: lockedOut(lockedMs) };
    if (!authorization) {
      return { ok: false, error: new AuthenticationError('Missing Authorization header; send "Authorization: Bearer <token>".') };
    }
    const presented = parseBearer(authorization);
    if (this.expected?.secret !== auth.secret) this.expected = { secret: auth.secret, digest: secretDigest(auth.secret) };
    if (presented !== undefined && matchesDigest(presented, this.expected.digest)) return { ok: true };
    await this.limiter.recordFailure(address);
    const message =
      presented === undefined
        ? 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".'
        : `Invalid ${auth.mode === 'password' ? 'gateway password' : 'gateway token'}.`;
    return { ok: false, error: new AuthenticationError(message) };
  }
}

export function lockedOut(ms: number): RateLimitError {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new RateLimitError(`Too many failed authentication attempts from this address; try again in ${seconds} seconds.`, {
    code: 'auth_rate_limited',
    headers: { 'Retry-After': String(seconds) },
  });
}
