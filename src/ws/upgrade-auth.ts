import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { lastForwardedAddress, normalizeAddress } from '../auth/client-address.ts';
import { lockedOut, type AuthGuard } from '../auth/guard.ts';
import type { GatewayError } from '../errors.ts';
import { rawErrorResponse } from '../http/raw-response.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime.ts';

/** What an accepted upgrade knows about its connection. */
export interface UpgradedConnection {
  id: string;
  address: string;
  /** False when the connection still has to authenticate with a `connect` frame. */
  authenticated: boolean;
}

/**
 * Checks an upgrade's credentials as HTTP checks a request's: its Authorization header, or (with
 * none) only whether its address is locked out, leaving the connection to send `connect`. A refused
 * upgrade is answered here; it yields no connection.
 */
export async function authenticateUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  connectionId: string,
  runtime: Runtime,
  guard: AuthGuard,
  metrics: GatewayMetrics | undefined,
): Promise<UpgradedConnection | undefined> {
  const address = upgradeAddress(req, runtime.current.config.gateway.trustProxy);
  let authenticated = false;
  if (req.headers.authorization !== undefined || runtime.current.auth.mode === 'none') {
    const outcome = await guard.check(address, req.headers.authorization);
    if (!outcome.ok) {
      countAuthFailure(metrics, outcome.error, 'invalid');
      runtime.logger.info({ event: 'ws.auth_failed', connectionId, code: outcome.error.code }, 'WebSocket upgrade refused');
      rejectUpgrade(socket, outcome.error, connectionId);
      return undefined;
    }
    authenticated = true;
  } else {
    // Browsers cannot set headers on an upgrade: they authenticate with a `connect` frame. A
    // locked-out address is refused here already.
    const lockedMs = await guard.lockedForMs(address);
    if (lockedMs > 0) {
      metrics?.lockouts.inc({ transport: 'ws' });
      rejectUpgrade(socket, lockedOut(lockedMs), connectionId);
      return undefined;
    }
  }
  return { id: connectionId, address, authenticated };
}

/** A refused credential over the socket (on the upgrade or in a `connect` frame), counted as HTTP counts its own. */
export function countAuthFailure(metrics: GatewayMetrics | undefined, error: GatewayError, reason: string): void {
  if (error.kind === 'rate_limited') metrics?.lockouts.inc({ transport: 'ws' });
  else metrics?.authFailures.inc({ transport: 'ws', reason });
}

/** The client address as HTTP sees it: the socket peer, or the last X-Forwarded-For entry (the proxy's) while gateway.trustProxy. */
function upgradeAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? lastForwardedAddress(req.headers['x-forwarded-for']) : undefined;
  return forwarded ?? normalizeAddress(req.socket.remoteAddress ?? 'unknown');
}

/** Answers a refused upgrade with a plain HTTP response in the OpenAI error shape. */
export function rejectUpgrade(socket: Duplex, error: GatewayError, requestId: string): void {
  if (socket.destroyed) return;
  socket.end(rawErrorResponse(error, requestId));
}
