import type { RequestHandler } from 'express';
import { clientAddress, isLoopbackAddress } from '../auth/client-address.ts';
import { ApiError, NotFoundError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import type { GatewayMetrics } from './metrics.ts';

class ForbiddenError extends ApiError {
  readonly status = 403;
  readonly type = 'invalid_request_error';
}

/** Route templates for the `route` label, so label values stay a small, fixed set. */
export function routeLabeler(paths: string[]): (path: string) => string {
  const templates = [...paths, '/healthz', '/readyz', '/metrics'].map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\./g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
  }));
  return (path) => templates.find((candidate) => candidate.pattern.test(path))?.template ?? 'unmatched';
}

/**
 * Counts every HTTP request when its response closes, from the outside: status from the response,
 * auth failures and lockouts from the status, the Authorization header and `res.locals.errorCode`,
 * run durations for chat completions that reached an agent, open SSE streams from the headers sent.
 */
export function httpMetrics(metrics: GatewayMetrics, label: (path: string) => string): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.path;
    let streaming = false;
    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: unknown[]) {
      const type = res.getHeader('content-type');
      if (!streaming && typeof type === 'string' && type.startsWith('text/event-stream')) {
        streaming = true;
        metrics.activeStreams.inc({ transport: 'http' });
      }
      return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.writeHead;
    res.once('close', () => {
      if (streaming) metrics.activeStreams.dec({ transport: 'http' });
      const status = res.statusCode;
      const route = label(path);
      metrics.httpRequests.inc({ method: req.method, route, status: String(status) });
      if (status === 401) metrics.authFailures.inc({ transport: 'http', reason: req.headers.authorization ? 'invalid' : 'missing' });
      if (isLockout(status, res.locals)) metrics.lockouts.inc({ transport: 'http' });
      if (route === '/v1/chat/completions' && res.locals.agentId !== undefined) {
        const outcome = !res.writableFinished ? 'aborted' : res.locals.streamError || status >= 400 ? 'error' : 'ok';
        metrics.runDuration.observe({ transport: 'http', outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    });
    next();
  };
}

/** A 429 from the auth layer (not an upstream's rate limit passed on). */
function isLockout(status: number, locals: Record<string, unknown>): boolean {
  if (status !== 429) return false;
  if (locals.authLockedOut || locals.lockedOut) return true;
  const code = typeof locals.errorCode === 'string' ? locals.errorCode : '';
  return code !== '' && !code.startsWith('upstream_') && /lock|auth|attempt/i.test(code);
}

/** GET /metrics: 404 unless `gateway.metrics.enabled`; loopback clients only while `loopbackOnly` (both hot-reloadable). */
export function metricsRoute(runtime: Runtime, metrics: GatewayMetrics): RequestHandler {
  return async (req, res) => {
    const settings = runtime.current.config.gateway.metrics;
    if (!settings.enabled) throw new NotFoundError('Unknown route: GET /metrics. Metrics are disabled (gateway.metrics.enabled).', { code: 'metrics_disabled' });
    if (settings.loopbackOnly && !isLoopbackAddress(clientAddress(req))) {
      throw new ForbiddenError('Metrics are served to loopback clients only (gateway.metrics.loopbackOnly).', { code: 'metrics_loopback_only' });
    }
    const body = await metrics.render();
    res.setHeader('Cache-Control', 'no-store').type(metrics.contentType).send(body);
  };
}
