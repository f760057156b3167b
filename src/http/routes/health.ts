import type { RequestHandler } from 'express';
import type { AuthFailureLimiter } from '../../auth/limiter.ts';
import type { Runtime } from '../../runtime.ts';
import type { BackingStoreStatus, HealthResponse, ReadyResponse } from '../wire.ts';

/** Liveness: says only that the process answers. */
export function healthRoute(): RequestHandler {
  return (_req, res) => {
    const body: HealthResponse = { ok: true, status: 'live' };
    res.setHeader('Cache-Control', 'no-store').json(body);
  };
}

/**
 * Readiness: the config is loaded, the session store answers, and the gateway is not shutting
 * down (tool servers are listed, never required). Each backing store is reported;
 * a shared auth limiter that cannot be reached is reported but does not fail readiness, since the
 * gateway keeps serving with per-process counting meanwhile.
 */
export function readyRoute(runtime: Runtime, limiter: AuthFailureLimiter): RequestHandler {
  return async (_req, res) => {
    const failing: string[] = [];
    const stores: BackingStoreStatus[] = [];
    if (runtime.draining) failing.push('shutting_down');
    if (!runtime.current.config) failing.push('config');
    if (runtime.store) {
      const entry: BackingStoreStatus = { role: 'session_store', driver: runtime.store.driver, ok: true };
      try {
        await runtime.store.ping();
      } catch (error) {
        entry.ok = false;
        entry.detail = `unreachable (${reason(error)})`;
        failing.push('session_store');
      }
      stores.push(entry);
    }
    const limiterStatus = (await limiter.status?.()) ?? { driver: 'custom', ok: true };
    stores.push({ role: 'auth_limiter', ...limiterStatus });
    const body: ReadyResponse = { ready: failing.length === 0, failing, stores };
    // Tool servers are reported but never make the gateway unready: its agents run without them.
    const servers = runtime.tools?.status() ?? [];
    if (servers.length > 0) body.toolServers = servers.map((server) => ({ name: server.name, state: server.state }));
    res.setHeader('Cache-Control', 'no-store').status(failing.length === 0 ? 200 : 503).json(body);
  };
}

/** An error's code (ECONNREFUSED, a SQLSTATE…) or class: never its message, which may name hosts. */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== 'session_store_unavailable' ? code : ((error as Error).name ?? 'error');
}
