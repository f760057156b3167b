import { BadRequestError } from '../errors.ts';
import { firstHeader } from '../agents/target.ts';

export const SESSION_KEY_HEADERS = ['x-openclaw-session-key', 'x-clawdbot-session-key', 'x-moltbot-session-key'] as const;
const RESERVED_NAMESPACES = ['subagent:', 'cron:', 'acp:'];
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
export const MAX_SESSION_KEY_LENGTH = 256;

export interface SessionKeyInput {
  user?: string | null;
  headers: Record<string, string | string[] | undefined>;
}

export interface ResolvedSessionKey {
  /** Store key, or null for a stateless run (nothing kept). */
  key: string | null;
  deprecatedSpelling?: string;
}

/**
 * The session header wins (`agent:<agentId>:<key>`), then the OpenAI `user`
 * (`agent:<agentId>:openai-user:<user>`, exact and case-sensitive); neither means stateless.
 */
export function resolveSessionKey(input: SessionKeyInput, agentId: string): ResolvedSessionKey {
  for (const header of SESSION_KEY_HEADERS) {
    const raw = firstHeader(input.headers[header]);
    if (raw === undefined) continue;
    const key = raw.trim();
    if (key.length === 0) throw new BadRequestError(`Header ${header} must not be empty.`, { param: null, code: 'invalid_session_key' });
    if (key.length > MAX_SESSION_KEY_LENGTH) {
      throw new BadRequestError(`Header ${header} is ${key.length} characters long; the limit is ${MAX_SESSION_KEY_LENGTH}.`, { param: null, code: 'invalid_session_key' });
    }
    if (!PRINTABLE_ASCII.test(key)) throw new BadRequestError(`Header ${header} must be printable ASCII.`, { param: null, code: 'invalid_session_key' });
    const reserved = RESERVED_NAMESPACES.find((prefix) => key.toLowerCase().startsWith(prefix));
    if (reserved) {
      throw new BadRequestError(`Header ${header} uses the reserved session namespace "${reserved}".`, { param: null, code: 'invalid_session_key' });
    }
    return { key: `agent:${agentId}:${key}`, deprecatedSpelling: header === 'x-openclaw-session-key' ? undefined : header };
  }
  if (typeof input.user === 'string' && input.user.length > 0) return { key: `agent:${agentId}:openai-user:${input.user}` };
  return { key: null };
}
