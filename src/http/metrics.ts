import type { RequestHandler } from 'express';
import { clientAddress, isLoopbackAddress } from '../auth/client-address.ts';
import { NotFoundError, PermissionDeniedError } from '../errors.ts';
import { generationOf } from './request-context.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';

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
 * auth failures and lockouts from what the auth middleware noted, open SSE streams from the
 * headers sent. Runs themselves are counted by the run core's observer.
 */
export function httpMetrics(metrics: GatewayMetrics, label: (path: string) => string): RequestHandler {
  return (req, res, next) => {
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
      metrics.httpRequests.inc({ method: req.method, route: label(path), status: String(status) });
      if (res.locals.authFailed) metrics.authFailures.inc({ transport: 'http', reason: req.headers.authorization ? 'invalid' : 'missing' });
      if (res.locals.lockedOut) metrics.lockouts.inc({ transport: 'http' });
    });
    next();
  };
}

/** GET /metrics: 404 unless `gateway.metrics.enabled`; loopback clients only while `loopbackOnly` (both hot-reloadable). */
export function metricsRoute(metrics: GatewayMetrics): RequestHandler {
  return async (req, res) => {
    const settings = generationOf(res).config.gateway.metrics;
    if (!settings.enabled) throw new NotFoundError('Unknown route: GET /metrics. Metrics are disabled (gateway.metrics.enabled).', { code: 'metrics_disabled' });
    if (settings.loopbackOnly && !isLoopbackAddress(clientAddress(req))) {
      throw new PermissionDeniedError('Metrics are served to loopback clients only (gateway.metrics.loopbackOnly).', { code: 'metrics_loopback_only' });
    }
    const body = await metrics.render();
    res.setHeader('Cache-Control', 'no-store').type(metrics.contentType).send(body);
  };
}
