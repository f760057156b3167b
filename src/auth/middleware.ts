import type { RequestHandler } from 'express';
import { clientAddress } from './client-address.ts';
import type { AuthGuard } from './guard.ts';

/**
 * Bearer check for the API routes. Runs before the body is read, so bad credentials cost nothing.
 * The gateway's one AuthGuard is shared by every surface, so they share one lockout state.
 */
export function authenticate(guard: AuthGuard): RequestHandler {
  return async (req, res, next) => {
    const outcome = await guard.check(clientAddress(req), req.headers.authorization, res.locals.generation);
    if (outcome.ok) return next();
    if (outcome.error.kind === 'authentication') res.locals.authFailed = true;
    if (outcome.error.code === 'auth_rate_limited') res.locals.lockedOut = true;
    throw outcome.error;
  };
}
