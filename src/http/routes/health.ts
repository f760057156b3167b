import type { RequestHandler } from 'express';
import type { Runtime } from '../../runtime.ts';
import type { HealthResponse, ReadyResponse } from '../wire.ts';

/** Liveness: says only that the process answers. */
export function healthRoute(): RequestHandler {
  return (_req, res) => {
    const body: HealthResponse = { ok: true, status: 'live' };
    res.setHeader('Cache-Control', 'no-store').json(body);
  };
}

/** Readiness: the config is loaded and the session store answers. */
export function readyRoute(runtime: Runtime): RequestHandler {
  return async (_req, res) => {
    const failing: string[] = [];
    if (!runtime.current.config) failing.push('config');
    if (runtime.store) {
      try {
        await runtime.store.ping();
      } catch {
        failing.push('session_store');
      }
    }
    const body: ReadyResponse = { ready: failing.length === 0, failing };
    res.setHeader('Cache-Control', 'no-store').status(failing.length === 0 ? 200 : 503).json(body);
  };
}
