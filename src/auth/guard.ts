import { AuthenticationError, RateLimitError } from '../errors.ts';
import type { Generation, Runtime } from '../runtime.ts';
import type { AuthFailureLimiter } from './limiter.ts';
import { matchesDigest, parseBearer, secretDigest } from './secret.ts';

export type AuthOutcome = { ok: true } | { ok: false; error: AuthenticationError | RateLimitError };

/**
 * The one place a presented credential is judged, for HTTP and the WebSocket alike; one per
 * gateway. Order: a locked-out address is refused (429) whatever it presents; then a missing
 * header is a 401 that does not count; then a wrong scheme or secret is a 401 that counts.
 */
export class AuthGuard {
  readonly limiter: AuthFailureLimiter;
  private readonly runtime: Runtime;
  /** The current secret's digest, made again when a reload changes the secret. */
  private expected: { secret: string; digest: Buffer } | undefined;

  constructor(runtime: Runtime, limiter: AuthFailureLimiter) {
    this.runtime = runtime;
    this.limiter = limiter;
  }

  /** `generation`: the one the request runs on (default: the current one). */
  async check(address: string, authorization: string | undefined, generation: Generation = this.runtime.current): Promise<AuthOutcome> {
    const { auth, config } = generation;
    if (auth.mode === 'none' || !auth.secret) return { ok: true };
    const settings = config.gateway.auth.rateLimit;
    const lockedMs = await this.limiter.lockedForMs(address, settings);
    if (lockedMs > 0) return { ok: false, error: lockedOut(lockedMs) };
    if (!authorization) {
      return { ok: false, error: new AuthenticationError('Missing Authorization header; send "Authorization: Bearer <token>".') };
    }
    const presented = parseBearer(authorization);
    if (this.expected?.secret !== auth.secret) this.expected = { secret: auth.secret, digest: secretDigest(auth.secret) };
    if (presented !== undefined && matchesDigest(presented, this.expected.digest)) return { ok: true };
    await this.limiter.recordFailure(address, settings);
    const message =
      presented === undefined
        ? 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".'
        : `Invalid ${auth.mode === 'password' ? 'gateway password' : 'gateway token'}.`;
    return { ok: false, error: new AuthenticationError(message) };
  }

  /** Milliseconds left on this address's lockout, under the current settings. */
  lockedForMs(address: string): Promise<number> {
    return this.limiter.lockedForMs(address, this.runtime.current.config.gateway.auth.rateLimit);
  }
}

export function lockedOut(ms: number): RateLimitError {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new RateLimitError(`Too many failed authentication attempts from this address; try again in ${seconds} seconds.`, {
    code: 'auth_rate_limited',
    retryAfterSeconds: seconds,
  });
}
