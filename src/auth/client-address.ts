import type { Request } from 'express';
import type { Runtime } from '../runtime.ts';

/**
 * Express `trust proxy` as a function of the live config: with `gateway.trustProxy` the
 * X-Forwarded-For chain names the client (`req.ip`), without it only the socket peer does.
 * Read per request, so a config reload applies at once.
 */
export function trustProxyFromConfig(runtime: Runtime): (address: string, hop: number) => boolean {
  return () => runtime.current.config.gateway.trustProxy;
}

/** The client's address as the rate limiter keys it: `req.ip` (honours trustProxy), IPv4-mapped IPv6 unwrapped. */
export function clientAddress(req: Request): string {
  const raw = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  return normalizeAddress(raw);
}

export function normalizeAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(trimmed);
  return mapped ? mapped[1] : trimmed;
}

export function isLoopbackAddress(address: string): boolean {
  const normalized = normalizeAddress(address);
  return normalized === '::1' || normalized === '0:0:0:0:0:0:0:1' || /^127\.\d+\.\d+\.\d+$/.test(normalized);
}
