import { BadRequestError, NotFoundError } from '../errors.ts';
import { AGENT_ID_PATTERN, listModelTargets, type Roster } from './roster.ts';

/** Agent-selecting headers, most specific first. The later ones are older product names. */
export const AGENT_HEADERS = ['x-openclaw-agent-id', 'x-openclaw-agent', 'x-clawdbot-agent-id', 'x-moltbot-agent-id'] as const;
const DEPRECATED_AGENT_HEADERS = new Set(['x-clawdbot-agent-id', 'x-moltbot-agent-id']);
const DEPRECATED_MODEL_PREFIXES = new Set(['clawdbot', 'moltbot']);
const MODEL_PREFIX = /^(openclaw|clawdbot|moltbot)(?:([/:])(.*))?$|^agent:(.*)$/s;

export interface AgentTarget {
  agentId: string;
  /** Set when the request used a name kept only for compatibility, so the caller can log it. */
  deprecatedSpelling?: string;
}

export interface TargetInput {
  model?: string | null;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Picks the agent for a request. A header beats `model`; neither means the default agent.
 * Malformed ids are 400s; a well-formed id that is not configured, or a `model` that names no
 * agent at all, is a 404 `model_not_found` that lists what would work.
 */
export function resolveAgentTarget(input: TargetInput, roster: Roster): AgentTarget {
  for (const header of AGENT_HEADERS) {
    const raw = firstHeader(input.headers[header]);
    if (raw === undefined) continue;
    const id = raw.trim().toLowerCase();
    if (!AGENT_ID_PATTERN.test(id)) {
      throw new BadRequestError(`Header ${header} must be an agent id matching [a-z0-9][a-z0-9_-]{0,63}.`, { param: null, code: 'invalid_agent_id' });
    }
    return { agentId: requireAgent(id, roster, `Header ${header}`), deprecatedSpelling: DEPRECATED_AGENT_HEADERS.has(header) ? header : undefined };
  }

  const model = input.model?.trim() ?? '';
  if (model === '') return { agentId: roster.defaultAgentId };
  const match = MODEL_PREFIX.exec(model.toLowerCase());
  if (!match) {
    throw new NotFoundError(`The model \`${model}\` does not exist on this gateway. Use one of: ${listModelTargets(roster).join(', ')}.`, {
      param: 'model',
      code: 'model_not_found',
    });
  }
  const [, prefix, separator, rest, agentAlias] = match;
  const deprecatedSpelling = prefix && DEPRECATED_MODEL_PREFIXES.has(prefix) ? prefix : undefined;
  const id = agentAlias ?? (separator ? rest : 'default');
  if (id === 'default') return { agentId: roster.defaultAgentId, deprecatedSpelling };
  if (!AGENT_ID_PATTERN.test(id)) {
    throw new BadRequestError(`Invalid agent id in \`model\` (${model}): an agent id matches [a-z0-9][a-z0-9_-]{0,63}.`, { param: 'model', code: 'invalid_agent_id' });
  }
  return { agentId: requireAgent(id, roster, `The model \`${model}\``), deprecatedSpelling };
}

function requireAgent(id: string, roster: Roster, subject: string): string {
  if (roster.agents.has(id)) return id;
  throw new NotFoundError(`${subject} names agent "${id}", which is not configured. Use one of: ${listModelTargets(roster).join(', ')}.`, {
    param: subject.startsWith('Header') ? null : 'model',
    code: 'model_not_found',
  });
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
