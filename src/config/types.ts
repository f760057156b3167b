// The config types, derived from the schema (src/config/schema.ts) rather than written again:
// after validation every key that has a default is present, so no module has to know a default.
import type { FromSchema } from 'json-schema-to-ts';
import type { configSchema } from './schema.ts';

/** The config file after validation and defaults. */
export type ConfigFile = FromSchema<typeof configSchema>;

export type AuthMode = ConfigFile['gateway']['auth']['mode'];
export type RateLimitConfig = ConfigFile['gateway']['auth']['rateLimit'];
export type ProviderConfig = ConfigFile['models']['providers'][string];
export type McpServerConfig = ConfigFile['mcp']['servers'][string];

/** An agent's tool policy after inheritance: `allow` its own or the defaults', `deny` both. */
export interface ToolPolicy {
  allow: string[];
  deny: string[];
}

export interface ModelChoice {
  primary: string;
  fallbacks: string[];
}

type RawAgentDefaults = ConfigFile['agents']['defaults'];
type RawAgent = ConfigFile['agents']['list'][number];

/** `agents.defaults` with its model in one shape. */
export type AgentDefaults = Omit<RawAgentDefaults, 'model' | 'images' | 'tools'> & { model: ModelChoice; images: { allowUrl: boolean }; tools: ToolPolicy };

/** One agent with everything it inherits from `agents.defaults` filled in. */
export type AgentConfig = Omit<RawAgent, 'model' | 'default' | keyof AgentDefaults> &
  AgentDefaults & {
    default: boolean;
  };

/** The config the gateway runs with: the file after defaults, agents resolved. */
export type GatewayConfig = Omit<ConfigFile, 'agents'> & {
  agents: { defaults: AgentDefaults; list: AgentConfig[] };
};
