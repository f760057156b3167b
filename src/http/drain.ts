import type { RequestHandler } from 'express';
import { ServiceUnavailableError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';

const PROBES = new Set(['/health', '/healthz', '/ready', '/readyz', '/metrics']);

/**
 * While the gateway drains (shutting down, runs in flight finishing), it keeps listening so that
 * probes get an answer (`/ready` a 503, which takes it out of a load balancer) rather than a
 * refused connection; every other request is turned away with a 503 its client may retry
 * elsewhere, and every connection closes after its response.
 */
export function turnAwayWhileDraining(runtime: Runtime): RequestHandler {
  return (req, res, next) => {
    if (!runtime.draining) return next();
    res.setHeader('Connection', 'close');
    if (PROBES.has(req.path)) return next();
    throw new ServiceUnavailableError('The gateway is shutting down; send the request again.', { code: 'shutting_down', retryAfterSeconds: 1 });
  };
}
