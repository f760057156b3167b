// The server tools of a run beside the client's own: what the client's `tools` and `tool_choice`
// may say about them (checked before the model is called), and the upstream params of each step
// of the loop (the first, the later ones, the last one once maxToolSteps is reached).
import type { AgentConfig } from '../config/types.ts';
import { BadRequestError } from '../errors.ts';
import type { ModelParams } from '../providers/types.ts';
import { narrowedTools, type AgentTools } from '../tools/policy.ts';
import type { RunRequest } from './request.ts';

/** The server tools of a run and the limits of its tool loop. */
export interface RunTools extends AgentTools {
  /** Names of the client's own `tools`: calls to these go back to the client. */
  readonly clientNames: ReadonlySet<string>;
  /** The upstream params of the first step: the server tools added to the client's. */
  readonly params: ModelParams;
  /**
   * The same for the steps after a server tool step: a tool choice that forced a call is `auto`
   * there, or every step would call a tool again until maxToolSteps.
   */
  readonly laterParams: ModelParams;
  /** The last call once maxToolSteps is reached: the client's own tools only, and no choice that names a server tool. */
  readonly finalParams: ModelParams;
  readonly maxSteps: number;
  readonly timeoutMs: number;
  readonly maxResultBytes: number;
}

/** A `tool_choice` may name or require the client's tools or the agent's server tools alike. */
export function checkTools(params: ModelParams, agentTools: AgentTools | undefined, field: (name: string) => string, choiceNameParam: string): void {
  const names = new Set((params.tools ?? []).map((tool) => tool.function.name));
  const serverTools = agentTools?.offered;
  const choice = params.tool_choice;
  if (choice !== undefined && choice !== 'none' && choice !== 'auto' && names.size === 0 && !serverTools?.size) {
    throw new BadRequestError('`tool_choice` requires `tools`.', { param: field('tool_choice'), code: 'invalid_value' });
  }
  const theirs = serverTools?.size ? ' nor a tool this agent runs on the gateway' : '';
  if (choice && typeof choice === 'object' && choice.type === 'function' && !names.has(choice.function.name) && !serverTools?.has(choice.function.name)) {
    throw new BadRequestError(`\`tool_choice\` names the function "${choice.function.name}", which is not in \`tools\`${theirs}.`, { param: choiceNameParam, code: 'invalid_value' });
  }
  if (choice && typeof choice === 'object' && choice.type === 'allowed_tools') {
    choice.allowed_tools.tools.forEach((tool, index) => {
      const name = allowedFunctionName(tool);
      if (name === undefined || names.has(name) || serverTools?.has(name)) return;
      const param = `tool_choice.allowed_tools.tools[${index}]`;
      throw new BadRequestError(`\`${param}\` names the function "${name}", which is not in \`tools\`${theirs}.`, { param: field(`${param}.function.name`), code: 'invalid_value' });
    });
  }
}

/**
 * The agent's server tools as the client's `allowed_tools` (Responses API) narrows them; each name
 * it lists must be one of the client's tools or one of the agent's.
 */
export function allowedOnly(tools: AgentTools | undefined, request: RunRequest, field: (name: string) => string): AgentTools | undefined {
  const allowed = request.allowedTools;
  if (!allowed) return tools;
  const clientNames = new Set((request.params.tools ?? []).map((tool) => tool.function.name));
  for (const [name, param] of allowed) {
    if (clientNames.has(name) || tools?.offered.has(name)) continue;
    const theirs = tools?.offered.size ? ' nor a tool this agent runs on the gateway' : '';
    throw new BadRequestError(`\`${param.replace(/\.name$/, '')}\` names the function "${name}", which is not in \`tools\`${theirs}.`, { param: field(param), code: 'invalid_value' });
  }
  return tools && narrowedTools(tools, new Set(allowed.keys()));
}

/** The function an `allowed_tools` entry names; undefined for an entry of another kind (passed on as sent). */
function allowedFunctionName(tool: Record<string, unknown>): string | undefined {
  const fn = tool.function as { name?: unknown } | undefined;
  return tool.type === 'function' && typeof fn?.name === 'string' ? fn.name : undefined;
}

/** The agent's server tools beside the client's: a client tool may not take the name of one. */
export function runTools(tools: AgentTools | undefined, agent: AgentConfig, params: ModelParams, toolParam: (index: number) => string): RunTools | undefined {
  if (!tools) return undefined;
  const clientTools = params.tools ?? [];
  clientTools.forEach((tool, index) => {
    if (tools.offered.has(tool.function.name)) {
      throw new BadRequestError(`\`${toolParam(index)}\` is "${tool.function.name}", the name of a tool agent ${agent.id} runs on the gateway; rename the client tool.`, {
        param: toolParam(index),
        code: 'tool_name_conflict',
      });
    }
  });
  const withServerTools = tools.definitions.length === 0 ? params : { ...params, tools: [...clientTools, ...tools.definitions] };
  const clientNames = new Set(clientTools.map((tool) => tool.function.name));
  return {
    ...tools,
    clientNames,
    params: withServerTools,
    laterParams: withToolChoice(withServerTools, unforced(params.tool_choice)),
    finalParams: withToolChoice(params, clientChoice(unforced(params.tool_choice), clientNames)),
    maxSteps: agent.maxToolSteps,
    timeoutMs: agent.toolTimeoutSeconds * 1000,
    maxResultBytes: agent.maxToolResultBytes,
  };
}

type ToolChoice = ModelParams['tool_choice'];

/** A choice that made the model call a tool (any, or a named one) as `auto`; any other as it was. */
function unforced(choice: ToolChoice): ToolChoice {
  if (choice === 'required' || (typeof choice === 'object' && choice?.type === 'function')) return 'auto';
  if (typeof choice === 'object' && choice?.type === 'allowed_tools' && choice.allowed_tools.mode === 'required') return { ...choice, allowed_tools: { ...choice.allowed_tools, mode: 'auto' } };
  return choice;
}

/**
 * The choice for a call that offers only the client's tools: none at all when it has none; an
 * `allowed_tools` list keeps only what that call offers ("none" when none of its functions is left).
 */
function clientChoice(choice: ToolChoice, clientNames: ReadonlySet<string>): ToolChoice {
  if (clientNames.size === 0) return undefined;
  if (typeof choice !== 'object' || choice?.type !== 'allowed_tools') return choice;
  const tools = choice.allowed_tools.tools.filter((tool) => {
    const name = allowedFunctionName(tool);
    return name === undefined || clientNames.has(name);
  });
  if (tools.length === choice.allowed_tools.tools.length) return choice;
  return tools.length === 0 ? 'none' : { ...choice, allowed_tools: { ...choice.allowed_tools, tools } };
}

function withToolChoice(params: ModelParams, choice: ToolChoice): ModelParams {
  if (params.tool_choice === choice) return params;
  const next: ModelParams = { ...params };
  if (choice === undefined) delete next.tool_choice;
  else next.tool_choice = choice;
  return next;
}
