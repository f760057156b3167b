import type { RequestHandler } from 'express';
import { takeRunSlot } from '../auth/address-limits.ts';
import { clientAddress } from '../auth/client-address.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime.ts';
import { generationOf } from './request-context.ts';

/**
 * A route that starts a run, held to `gateway.http.maxConcurrentRunsPerAddress` (read per request,
 * so a reload applies): over it, a 429 before anything of the run; within it, the slot is held
 * until the route has finished with the run (its last event written, or the run ended by a
 * client that left).
 */
export function withRunSlot(runtime: Runtime, metrics: GatewayMetrics, route: RequestHandler): RequestHandler {
  return async (req, res, next) => {
    const release = takeRunSlot(runtime.runsByAddress, clientAddress(req), generationOf(res).config.gateway.http.maxConcurrentRunsPerAddress, () =>
      metrics.addressLimitRefusals.inc({ limit: 'runs', transport: 'http' }),
    );
    try {
      await route(req, res, next);
    } finally {
      release();
    }
  };
}
