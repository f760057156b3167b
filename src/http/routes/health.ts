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

/** Readiness: the config is loaded and the session store answers (tool servers are listed, never required). */
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
    // Tool servers are reported but never make the gateway unready: its agents run without them.
    const servers = runtime.tools?.status() ?? [];
    if (servers.length > 0) body.toolServers = servers.map((server) => ({ name: server.name, state: server.state }));
    res.setHeader('Cache-Control', 'no-store').status(failing.length === 0 ? 200 : 503).json(body);
  };
}
