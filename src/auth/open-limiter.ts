import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import { MemoryAuthLimiter, type AuthFailureLimiter } from './limiter.ts';

/**
 * The failed-auth limiter `gateway.auth.rateLimit.store` asks for (the gateway command injects it).
 * ioredis loads only when Redis is asked for: a gateway on the in-memory default never holds it.
 */
export async function openAuthLimiter(config: GatewayConfig, logger: Logger): Promise<AuthFailureLimiter> {
  const { driver, url } = config.gateway.auth.rateLimit.store;
  if (driver === 'redis') {
    const { RedisAuthLimiter } = await import('./redis-limiter.ts');
    return new RedisAuthLimiter({ url: url!, logger });
  }
  return new MemoryAuthLimiter();
}
