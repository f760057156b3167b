import type { Logger } from 'pino';
import type { ResolvedAuth } from './secret.ts';

/** Shortest secret the gateway accepts while reachable beyond loopback. */
export const MIN_REMOTE_SECRET_LENGTH = 16;

/**
 * Why this auth may not serve a bind beyond loopback, or undefined when it may. The message names
 * the setting to change and never the secret (not even its length).
 */
export function bindRefusal(auth: Pick<ResolvedAuth, 'mode' | 'secret' | 'source'>, bind: string, loopback: boolean): string | undefined {
  if (loopback) return undefined;
  if (auth.mode === 'none') {
    return `refusing to bind ${bind} with gateway.auth.mode "none"; set a token or password, or bind loopback`;
  }
  if (!auth.secret || auth.secret.length < MIN_REMOTE_SECRET_LENGTH) {
    return `refusing to bind ${bind}: the gateway ${auth.mode} (from ${auth.source}) is shorter than ${MIN_REMOTE_SECRET_LENGTH} characters; use a longer one or bind loopback`;
  }
  return undefined;
}

/** The legacy `CLAWDBOT_GATEWAY_*` names still work; say so once per start, never per reload. */
export function warnDeprecatedAuthSource(auth: Pick<ResolvedAuth, 'source'>, logger: Logger): void {
  const match = /^CLAWDBOT_GATEWAY_(TOKEN|PASSWORD)$/.exec(auth.source);
  if (!match) return;
  logger.warn({ event: 'auth.deprecated_env', variable: auth.source }, `${auth.source} is deprecated; use OPENCLAW_GATEWAY_${match[1]}`);
}
