import type { RequestHandler } from 'express';
import { AuthenticationError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { parseBearer, secretsMatch } from './secret.ts';

/** Bearer check for the API routes. Runs before the body is read, so bad credentials cost nothing. */
export function authenticate(runtime: Runtime): RequestHandler {
  return (req, res, next) => {
    const { auth } = runtime.current;
    if (auth.mode === 'none' || !auth.secret) return next();
    const header = req.headers.authorization;
    const presented = parseBearer(header);
    if (presented === undefined) {
      throw new AuthenticationError(header ? 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".' : 'Missing Authorization header; send "Authorization: Bearer <token>".');
    }
    if (!secretsMatch(presented, auth.secret)) {
      res.locals.authFailed = true;
      throw new AuthenticationError(`Invalid ${auth.mode === 'password' ? 'gateway password' : 'gateway token'}.`);
    }
    next();
  };
}
