import type { IncomingHttpHeaders } from 'node:http';
import type { NamedInput } from '../runs/request.ts';

/** Agent-selecting headers, most specific first. The later ones are older product names. */
export const AGENT_HEADERS = ['x-openclaw-agent-id', 'x-openclaw-agent', 'x-clawdbot-agent-id', 'x-moltbot-agent-id'] as const;
const DEPRECATED_AGENT_HEADERS = new Set<string>(['x-clawdbot-agent-id', 'x-moltbot-agent-id']);
export const SESSION_KEY_HEADERS = ['x-openclaw-session-key', 'x-clawdbot-session-key', 'x-moltbot-session-key'] as const;
export const MODEL_OVERRIDE_HEADER = 'x-openclaw-model';
/** Asks for the agent's tool steps in the chat completions stream. */
export const TOOL_EVENTS_HEADER = 'x-openclaw-tool-events';

/** The run inputs an HTTP request carries in headers (the same for every OpenAI route), named as headers. */
export function runInputsFromHeaders(headers: IncomingHttpHeaders): { agent?: NamedInput; sessionKey?: NamedInput; modelOverride?: NamedInput } {
  const inputs: { agent?: NamedInput; sessionKey?: NamedInput; modelOverride?: NamedInput } = {};
  for (const header of AGENT_HEADERS) {
    const value = firstHeader(headers[header]);
    if (value === undefined) continue;
    inputs.agent = { value, name: { label: `Header ${header}`, param: null }, deprecated: DEPRECATED_AGENT_HEADERS.has(header) ? header : undefined };
    break;
  }
  for (const header of SESSION_KEY_HEADERS) {
    const value = firstHeader(headers[header]);
    if (value === undefined) continue;
    inputs.sessionKey = { value, name: { label: `Header ${header}`, param: null }, deprecated: header === 'x-openclaw-session-key' ? undefined : header };
    break;
  }
  const override = firstHeader(headers[MODEL_OVERRIDE_HEADER])?.trim();
  if (override) inputs.modelOverride = { value: override, name: { label: `Header ${MODEL_OVERRIDE_HEADER}`, param: null } };
  return inputs;
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
