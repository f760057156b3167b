import type { ChatCompletionTool } from '../../generated/index.ts';
import type { AgentConfig } from '../config/types.ts';
import type { ServerTool, ToolSource } from './manager.ts';
import { ToolPolicyMatcher } from './names.ts';

/** The server tools one agent may use right now, as the run offers and executes them. */
export interface AgentTools {
  readonly source: ToolSource;
  /** Allowed tools by function name. */
  readonly offered: ReadonlyMap<string, ServerTool>;
  /** The same, as Chat Completions tool definitions. */
  readonly definitions: readonly ChatCompletionTool[];
  /** Every tool of every ready server (to tell a denied tool from one that does not exist). */
  readonly catalogue: ReadonlyMap<string, ServerTool>;
}

/** The agent's tools narrowed to `names` (a client's `allowed_tools`): what is not named is not offered. */
export function narrowedTools(tools: AgentTools, names: ReadonlySet<string>): AgentTools {
  const offered = new Map([...tools.offered].filter(([name]) => names.has(name)));
  if (offered.size === tools.offered.size) return tools;
  return { ...tools, offered, definitions: tools.definitions.filter((definition) => offered.has(definition.function.name)) };
}

/**
 * Per config generation: each agent's policy compiled once, and its allowed tools worked out once
 * per version of the catalogue (the manager hands out a new catalogue only when a server's tools
 * changed), so preparing a run costs a lookup.
 */
export class AgentToolIndex {
  readonly source: ToolSource;
  private readonly policies = new Map<string, ToolPolicyMatcher>();
  private catalogue: ReadonlyMap<string, ServerTool> | undefined;
  private byAgent = new Map<string, AgentTools>();

  constructor(source: ToolSource, agents: readonly AgentConfig[]) {
    this.source = source;
    for (const agent of agents) this.policies.set(agent.id, new ToolPolicyMatcher(agent.tools));
  }

  /**
   * The agent's tools, or undefined when its policy allows none (its runs are then exactly as
   * without MCP). An agent whose allowed servers are down gets an empty set rather than none: a
   * call to one of their tools is still answered by the gateway, never passed to the client.
   */
  forAgent(agent: AgentConfig): AgentTools | undefined {
    const policy = this.policies.get(agent.id);
    if (!policy?.allowsAny) return undefined;
    const catalogue = this.source.catalogue();
    if (catalogue !== this.catalogue) {
      this.catalogue = catalogue;
      this.byAgent = new Map();
    }
    let tools = this.byAgent.get(agent.id);
    if (tools === undefined) {
      tools = build(this.source, catalogue, policy);
      this.byAgent.set(agent.id, tools);
    }
    return tools;
  }

  /** Function names the agent's policy allows among `catalogue` (for `openclaw mcp list`). */
  allowedNames(agent: AgentConfig, catalogue: ReadonlyMap<string, ServerTool>): string[] {
    const policy = this.policies.get(agent.id);
    return policy ? [...catalogue.keys()].filter((name) => policy.allows(name)) : [];
  }
}

function build(source: ToolSource, catalogue: ReadonlyMap<string, ServerTool>, policy: ToolPolicyMatcher): AgentTools {
  const offered = new Map<string, ServerTool>();
  for (const [name, tool] of catalogue) if (policy.allows(name)) offered.set(name, tool);
  const definitions = [...offered.values()].map(
    (tool): ChatCompletionTool => ({
      type: 'function',
      function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.inputSchema },
    }),
  );
  return { source, offered, definitions, catalogue };
}
