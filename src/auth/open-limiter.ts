import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import { MemoryAuthLimiter, type AuthFailureLimiter } from './limiter.ts';
import { RedisAuthLimiter } from './redis-limiter.ts';

/** The failed-auth limiter `gateway.auth.rateLimit.store` asks for (the gateway command injects it). */
export function openAuthLimiter(config: GatewayConfig, logger: Logger): AuthFailureLimiter {
  const { driver, url } = config.gateway.auth.rateLimit.store;
  if (driver === 'redis') return new RedisAuthLimiter({ url: url!, logger });
  return new MemoryAuthLimiter();
}
