import { BadRequestError, type InputName } from '../errors.ts';

const RESERVED_NAMESPACES = ['subagent:', 'cron:', 'acp:', 'response:'];
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
export const MAX_SESSION_KEY_LENGTH = 256;

export interface SessionKeyInput {
  /** An explicit session key (a header, a frame field, a CLI flag); `name` says how the transport calls it. */
  key?: { value: string; name: InputName };
  /** The OpenAI `user` field. */
  user?: string | null;
}

/**
 * The explicit key wins (`agent:<agentId>:<key>`), then the OpenAI `user`
 * (`agent:<agentId>:openai-user:<user>`, exact and case-sensitive); neither means stateless (null).
 */
export function resolveSessionKey(input: SessionKeyInput, agentId: string): string | null {
  if (input.key) {
    const { name } = input.key;
    const key = input.key.value.trim();
    const fail = (problem: string) => new BadRequestError(`${name.label} ${problem}`, { param: name.param, code: 'invalid_session_key' });
    if (key.length === 0) throw fail('must not be empty.');
    if (key.length > MAX_SESSION_KEY_LENGTH) throw fail(`is ${key.length} characters long; the limit is ${MAX_SESSION_KEY_LENGTH}.`);
    if (!PRINTABLE_ASCII.test(key)) throw fail('must be printable ASCII.');
    const reserved = RESERVED_NAMESPACES.find((prefix) => key.toLowerCase().startsWith(prefix));
    if (reserved) throw fail(`uses the reserved session namespace "${reserved}".`);
    return `agent:${agentId}:${key}`;
  }
  if (typeof input.user === 'string' && input.user.length > 0) return `agent:${agentId}:openai-user:${input.user}`;
  return null;
}

/**
 * The session a Responses API conversation lives in when no session was named: the one started
 * by the response `responseId` (a new conversation, or a branch continuing an older response).
 */
export function responseSessionKey(agentId: string, responseId: string): string {
  return `agent:${agentId}:response:${responseId}`;
}
