import type { RequestHandler } from 'express';
import type { Runtime } from '../runtime.ts';
import { clientAddress } from './client-address.ts';
import { AuthGuard } from './guard.ts';

/**
 * Bearer check for the API routes. Runs before the body is read, so bad credentials cost nothing.
 * Pass the gateway's AuthGuard so every surface shares one lockout state.
 */
export function authenticate(runtime: Runtime, guard: AuthGuard = new AuthGuard(runtime)): RequestHandler {
  return async (req, res, next) => {
    const outcome = await guard.check(clientAddress(req), req.headers.authorization);
    if (outcome.ok) return next();
    if (outcome.error.status === 401) res.locals.authFailed = true;
    throw outcome.error;
  };
}
