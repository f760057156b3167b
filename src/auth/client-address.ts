import type { Request } from 'express';

/**
 * Express `trust proxy` as a function of the live config. With `gateway.trustProxy` the one proxy
 * in front of the gateway (the socket peer) is trusted, so the client is the address *it* appended
 * to X-Forwarded-For, the chain's last; the addresses before it are whatever the client sent and
 * could be forged (to dodge a lockout or to pass as loopback). Without it only the socket peer
 * counts. Read per request, so a config reload applies at once.
 */
export function trustProxyFromConfig(trustProxy: () => boolean): (address: string, hop: number) => boolean {
  return (_address, hop) => hop === 0 && trustProxy();
}

/** The client as the proxy in front saw it: the last X-Forwarded-For entry (see trustProxyFromConfig). */
export function lastForwardedAddress(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  const last = value?.split(',').at(-1)?.trim();
  return last ? normalizeAddress(last) : undefined;
}

/**
 * The key failures are counted under: the address itself for IPv4, its /64 network for IPv6 (one
 * subscriber usually holds a whole /64, so counting single addresses would let a client rotate
 * through 2^64 of them to dodge the lockout).
 */
export function lockoutKey(address: string): string {
  const prefix = address.includes(':') ? ipv6Prefix64(address) : undefined;
  return prefix ?? address;
}

function ipv6Prefix64(address: string): string | undefined {
  const bare = address.split('%')[0].toLowerCase();
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part ? part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])) : []);
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const full = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail] : head;
  if (full.length !== 8 || !full.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return `${full.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
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
