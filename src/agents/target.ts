import { BadRequestError, NotFoundError, type InputName } from '../errors.ts';
import { AGENT_ID_PATTERN, listModelTargets, type Roster } from './roster.ts';

const DEPRECATED_MODEL_PREFIXES = new Set(['clawdbot', 'moltbot']);
const MODEL_PREFIX = /^(openclaw|clawdbot|moltbot)(?:([/:])(.*))?$|^agent:(.*)$/s;

export interface AgentTarget {
  agentId: string;
  /** Set when the request used a name kept only for compatibility, so the caller can log it. */
  deprecatedSpelling?: string;
}

export interface TargetInput {
  /** The OpenAI `model` field. */
  model?: string | null;
  /** An explicit agent id (a header, a frame field), which wins over `model`; `name` says how the transport calls it. */
  agent?: { value: string; name: InputName };
  /** The `param` an error about `model` names (default `model`). */
  modelParam?: string;
}

/**
 * Picks the agent for a request. An explicit agent beats `model`; neither means the default agent.
 * Malformed ids are 400s; a well-formed id that is not configured, or a `model` that names no
 * agent at all, is a 404 `model_not_found` that lists what would work.
 */
export function resolveAgentTarget(input: TargetInput, roster: Roster): AgentTarget {
  if (input.agent) {
    const { value, name } = input.agent;
    const id = value.trim().toLowerCase();
    if (!AGENT_ID_PATTERN.test(id)) {
      throw new BadRequestError(`${name.label} must be an agent id matching [a-z0-9][a-z0-9_-]{0,63}.`, { param: name.param, code: 'invalid_agent_id' });
    }
    return { agentId: requireAgent(id, roster, name.label, name.param) };
  }

  const modelParam = input.modelParam ?? 'model';
  const model = input.model?.trim() ?? '';
  if (model === '') return { agentId: roster.defaultAgentId };
  const match = MODEL_PREFIX.exec(model.toLowerCase());
  if (!match) {
    throw new NotFoundError(`The model \`${model}\` does not exist on this gateway. Use one of: ${listModelTargets(roster).join(', ')}.`, {
      param: modelParam,
      code: 'model_not_found',
    });
  }
  const [, prefix, separator, rest, agentAlias] = match;
  const deprecatedSpelling = prefix && DEPRECATED_MODEL_PREFIXES.has(prefix) ? prefix : undefined;
  const id = agentAlias ?? (separator ? rest : 'default');
  if (id === 'default') return { agentId: roster.defaultAgentId, deprecatedSpelling };
  if (!AGENT_ID_PATTERN.test(id)) {
    throw new BadRequestError(`Invalid agent id in \`model\` (${model}): an agent id matches [a-z0-9][a-z0-9_-]{0,63}.`, { param: modelParam, code: 'invalid_agent_id' });
  }
  return { agentId: requireAgent(id, roster, `The model \`${model}\``, modelParam), deprecatedSpelling };
}

function requireAgent(id: string, roster: Roster, subject: string, param: string | null): string {
  if (roster.agents.has(id)) return id;
  throw new NotFoundError(`${subject} names agent "${id}", which is not configured. Use one of: ${listModelTargets(roster).join(', ')}.`, {
    param,
    code: 'model_not_found',
  });
}
