import type { RateLimitConfig } from '../config/types.ts';
import { AuthenticationError, RateLimitError } from '../errors.ts';
import type { AuthFailureLimiter } from './limiter.ts';
import { matchesDigest, parseBearer, secretDigest, type ResolvedAuth } from './secret.ts';

/** What the guard reads from one config generation: the secret and the lockout settings. */
export interface AuthSettings {
  readonly auth: ResolvedAuth;
  readonly config: { readonly gateway: { readonly auth: { readonly rateLimit: RateLimitConfig } } };
}

export type AuthOutcome = { ok: true } | { ok: false; error: AuthenticationError | RateLimitError };

/**
 * The one place a presented credential is judged, for HTTP and the WebSocket alike; one per
 * gateway. Order: a locked-out address is refused (429) whatever it presents; then a missing
 * header is a 401 that does not count; then a wrong scheme or secret is a 401 that counts.
 */
export class AuthGuard {
  readonly limiter: AuthFailureLimiter;
  private readonly current: () => AuthSettings;
  /** The current secret's digest, made again when a reload changes the secret. */
  private expected: { secret: string; digest: Buffer } | undefined;

  /** `current`: the settings of the config generation in force (a reload applies at once). */
  constructor(current: () => AuthSettings, limiter: AuthFailureLimiter) {
    this.current = current;
    this.limiter = limiter;
  }

  /** `settings`: those of the generation the request runs on (default: the current one). */
  async check(address: string, authorization: string | undefined, settings: AuthSettings = this.current()): Promise<AuthOutcome> {
    const { auth, config } = settings;
    if (auth.mode === 'none' || !auth.secret) return { ok: true };
    const rateLimit = config.gateway.auth.rateLimit;
    const lockedMs = await this.limiter.lockedForMs(address, rateLimit);
    if (lockedMs > 0) return { ok: false, error: lockedOut(lockedMs) };
    if (!authorization) {
      return { ok: false, error: new AuthenticationError('Missing Authorization header; send "Authorization: Bearer <token>".') };
    }
    const presented = parseBearer(authorization);
    if (this.expected?.secret !== auth.secret) this.expected = { secret: auth.secret, digest: secretDigest(auth.secret) };
    if (presented !== undefined && matchesDigest(presented, this.expected.digest)) return { ok: true };
    await this.limiter.recordFailure(address, rateLimit);
    const message =
      presented === undefined
        ? 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".'
        : `Invalid ${auth.mode === 'password' ? 'gateway password' : 'gateway token'}.`;
    return { ok: false, error: new AuthenticationError(message) };
  }

  /** Milliseconds left on this address's lockout, under the current settings. */
  lockedForMs(address: string): Promise<number> {
    return this.limiter.lockedForMs(address, this.current().config.gateway.auth.rateLimit);
  }
}

export function lockedOut(ms: number): RateLimitError {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return new RateLimitError(`Too many failed authentication attempts from this address; try again in ${seconds} seconds.`, {
    code: 'auth_rate_limited',
    retryAfterSeconds: seconds,
  });
}
