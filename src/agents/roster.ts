import type { AgentConfig, GatewayConfig } from '../config/types.ts';

export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface Roster {
  readonly agents: ReadonlyMap<string, AgentConfig>;
  readonly defaultAgentId: string;
}

/** The default agent is the one marked `default`, else `main`, else the only one (config load enforces one exists). */
export function buildRoster(config: GatewayConfig): Roster {
  const agents = new Map(config.agents.list.map((agent) => [agent.id, agent]));
  const marked = config.agents.list.find((agent) => agent.default);
  const defaultAgentId = marked?.id ?? (agents.has('main') ? 'main' : config.agents.list[0].id);
  return { agents, defaultAgentId };
}

/** Every `model` value that names an agent, as listed by GET /v1/models. */
export function listModelTargets(roster: Roster): string[] {
  return ['openclaw', 'openclaw/default', ...[...roster.agents.keys()].map((id) => `openclaw/${id}`)];
}
