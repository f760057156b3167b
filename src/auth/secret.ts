import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuthMode, GatewayConfig } from '../config/types.ts';

type Env = Record<string, string | undefined>;

export interface ResolvedAuth {
  mode: AuthMode;
  /** The secret clients must present; undefined only in mode `none`. */
  secret?: string;
  /** Where the secret came from, for the startup log (never the secret itself). */
  source: string;
}

export const GENERATED_TOKEN_FILE = 'gateway-token';

/**
 * Finds the secret for the configured mode: config, then `OPENCLAW_GATEWAY_*`, then the legacy
 * `CLAWDBOT_GATEWAY_*` names (the caller warns about those once). Token mode with no token anywhere
 * generates one once and keeps it in the state dir (0600) so clients keep working across restarts.
 */
export function resolveAuth(config: GatewayConfig, env: Env, stateDir: string, _logger?: Logger): ResolvedAuth & { generated?: boolean } {
  const { mode } = config.gateway.auth;
  if (mode === 'none') return { mode, source: 'none' };
  const field = mode === 'token' ? 'token' : 'password';
  const upper = field.toUpperCase();
  const fromConfig = config.gateway.auth[field];
  if (fromConfig) return { mode, secret: fromConfig, source: `gateway.auth.${field}` };
  const current = env[`OPENCLAW_GATEWAY_${upper}`];
  if (current) return { mode, secret: current, source: `OPENCLAW_GATEWAY_${upper}` };
  const legacy = env[`CLAWDBOT_GATEWAY_${upper}`];
  // The deprecation warning is logged once per start by the gateway (warnDeprecatedAuthSource), not
  // here: this runs again on every config reload.
  if (legacy) return { mode, secret: legacy, source: `CLAWDBOT_GATEWAY_${upper}` };
  if (mode === 'password') {
    throw new Error('Auth mode "password" needs gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD');
  }
  return loadOrCreateGeneratedToken(stateDir);
}

function loadOrCreateGeneratedToken(stateDir: string): ResolvedAuth & { generated: boolean } {
  const file = join(stateDir, GENERATED_TOKEN_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored) return { mode: 'token', secret: stored, source: file, generated: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = `oc_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { mode: 'token', secret: token, source: file, generated: true };
}

/** The digest `matchesDigest` compares against; callers that check often keep it. */
export function secretDigest(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

/** Constant-time comparison of digests, which also hides the length of the expected secret. */
export function matchesDigest(presented: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(secretDigest(presented), expectedDigest);
}

/** The credential in `Authorization: Bearer <secret>` (scheme word case-insensitive), else undefined. */
export function parseBearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^bearer[ \t]+(\S.*)$/i.exec(header.trim());
  return match ? match[1].trim() : undefined;
}
