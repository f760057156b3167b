import { randomUUID } from 'node:crypto';
import { resolveAgentTarget } from '../agents/target.ts';
import type { Roster } from '../agents/roster.ts';
import type { AgentConfig, GatewayConfig } from '../config/types.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { ProviderRegistry, ResolvedModel } from '../providers/registry.ts';
import type { ModelParams } from '../providers/types.ts';
import { resolveSessionKey, responseSessionKey } from '../sessions/keys.ts';
import { narrowedTools, type AgentToolIndex, type AgentTools } from '../tools/policy.ts';
import { splitRequestMessages, type SplitMessages } from './prompt.ts';
import type { InputName, ResponseSeed, RunRequest, Transport } from './request.ts';

/** What a run needs from one config generation. */
export interface RunSetup {
  readonly config: GatewayConfig;
  readonly roster: Roster;
  readonly providers: ProviderRegistry;
  /** The agents' MCP tools; absent where no tool manager runs. */
  readonly tools?: AgentToolIndex;
}

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

/** A run that passed every check that does not need the model: what starting it needs, and nothing a transport could still get wrong. */
export interface PreparedRun {
  readonly runId: string;
  readonly requestId: string;
  readonly transport: Transport;
  readonly setup: RunSetup;
  readonly agent: AgentConfig;
  /** Store key, or null for a stateless run. */
  readonly sessionKey: string | null;
  /**
   * Continue `sessionKey` as it stood at `position` (a stored response's point): when the session
   * has moved past it, the run continues in a copy of that conversation under `branchKey`.
   */
  readonly continueAt?: { position: number; branchKey: string; name: InputName };
  /** False: nothing is written (the session, if any, is only read). */
  readonly persist: boolean;
  readonly response?: ResponseSeed;
  /** The models to try, in order (the agent's chain, or the `x-openclaw-model` override). */
  readonly models: ResolvedModel[];
  readonly messages: SplitMessages;
  /** The upstream params as the client sent them (its own tools only). */
  readonly params: ModelParams;
  /** Set when the agent may use server tools: the run then executes their calls in a loop. */
  readonly tools: RunTools | undefined;
  readonly timeoutMs: number;
  /** Only the finished reply reaches the client (see RunRequest.wholeReply). */
  readonly wholeReply: boolean;
  /** Compatibility spellings the request used, for one warning each. */
  readonly deprecations: string[];
}

/**
 * Every check that can fail before the model is called, in one place, for every transport:
 * agent target, session key, model chain and override, the message rules, tools and parameters.
 * Throws a GatewayError naming the input in the transport's own terms; a transport sends no byte
 * before this has returned.
 */
export function prepareRun(setup: RunSetup, request: RunRequest): PreparedRun {
  const field = (name: string) => `${request.fieldPrefix ?? ''}${name}`;
  const target = resolveAgentTarget({ model: request.model, agent: request.agent, modelParam: field('model') }, setup.roster);
  const agent = setup.roster.agents.get(target.agentId)!;
  const persist = request.store !== false;
  const { sessionKey, continueAt } = planSession(request, agent.id, persist, field);
  const models = planModels(setup, agent, request);
  const messages = checkMessages(request, agent, field);
  const agentTools = allowedOnly(setup.tools?.forAgent(agent), request, field);
  checkTools(request.params, agentTools, field, field(request.toolChoiceParam ?? 'tool_choice.function.name'));
  const params = modelParams(request, agent, sessionKey, models, field);
  const tools = runTools(agentTools, agent, params, (index) => field(request.toolParams?.[index] ?? `tools[${index}].function.name`));
  if (tools && tools.definitions.length > 0 && (params.n ?? 1) > 1) {
    throw new BadRequestError(`\`n\` above 1 is not available with agent ${agent.id}: it runs tools on the gateway, which continue one reply at a time.`, { param: field('n'), code: 'invalid_value' });
  }
  const deprecations = [...(request.deprecations ?? [])];
  for (const spelling of [target.deprecatedSpelling, request.agent?.deprecated, request.sessionKey?.deprecated]) {
    if (spelling) deprecations.push(spelling);
  }
  return {
    runId: `run_${randomUUID()}`,
    requestId: request.requestId,
    transport: request.transport,
    setup,
    agent,
    sessionKey,
    continueAt,
    persist,
    response: request.response,
    models,
    messages,
    params,
    tools,
    timeoutMs: agent.timeoutSeconds * 1000,
    wholeReply: request.wholeReply === true,
    deprecations,
  };
}

/**
 * The session: a stored response to continue (its session, at its position), else the explicit
 * key, else `user`; a run that stores a response without any of them starts a session of its own.
 */
function planSession(request: RunRequest, agentId: string, persist: boolean, field: (name: string) => string): Pick<PreparedRun, 'sessionKey' | 'continueAt'> {
  const ownKey = () => responseSessionKey(agentId, request.response?.id ?? randomUUID());
  if (request.previous) {
    const { response, name } = request.previous;
    if (response.agentId !== agentId) {
      throw new BadRequestError(`${name.label} names response ${response.id} of agent ${response.agentId}; this request runs agent ${agentId}. Continue it with that agent (model \`openclaw/${response.agentId}\`).`, {
        param: name.param === null ? null : field(name.param),
        code: 'previous_response_agent_mismatch',
      });
    }
    return { sessionKey: response.sessionKey, continueAt: { position: response.position, branchKey: ownKey(), name } };
  }
  const sessionKey = resolveSessionKey({ key: request.sessionKey, user: request.user }, agentId);
  if (sessionKey) return { sessionKey };
  return { sessionKey: persist && request.response ? ownKey() : null };
}

function planModels(setup: RunSetup, agent: AgentConfig, request: RunRequest): ResolvedModel[] {
  const override = request.modelOverride;
  if (!override) return [agent.model.primary, ...agent.model.fallbacks].map((ref) => setup.providers.resolve(ref));
  const ref = override.value.trim();
  try {
    return [setup.providers.resolve(ref)];
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    throw new NotFoundError(`${override.name.label}: ${error.message}`, { param: override.name.param, code: error.code });
  }
}

function checkMessages(request: RunRequest, agent: AgentConfig, field: (name: string) => string): SplitMessages {
  const param = field(request.messagesParam);
  if (!request.messages.some((message) => message.role === 'user' || message.role === 'tool')) {
    throw new BadRequestError(`\`${param}\` must contain at least one user message.`, { param, code: 'invalid_value' });
  }
  const split = splitRequestMessages(request.messages);
  if (split.newTurns.length === 0) {
    throw new BadRequestError(`\`${param}\` must contain a user or tool message after the last assistant message.`, { param, code: 'invalid_value' });
  }
  if (request.remoteImages.length > 0 && !agent.images.allowUrl) {
    throw new BadRequestError(`Agent ${agent.id} accepts images only as data: URIs; remote image URLs are disabled (agents.defaults.images.allowUrl).`, {
      param: field(request.remoteImages[0]),
      code: 'image_url_not_allowed',
    });
  }
  return split;
}

/** A `tool_choice` may name or require the client's tools or the agent's server tools alike. */
function checkTools(params: ModelParams, agentTools: AgentTools | undefined, field: (name: string) => string, choiceNameParam: string): void {
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
function allowedOnly(tools: AgentTools | undefined, request: RunRequest, field: (name: string) => string): AgentTools | undefined {
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

/**
 * What the model receives besides the messages: the request's OpenAI fields, the fields beyond
 * OpenAI's that every provider the run may call accepts, and `user` where the agent forwards it.
 * A field beyond OpenAI's that one of those providers does not accept is refused rather than
 * dropped: the client would never learn it had no effect.
 */
function modelParams(request: RunRequest, agent: AgentConfig, sessionKey: string | null, models: ResolvedModel[], field: (name: string) => string): ModelParams {
  const choices = request.params.n ?? 1;
  if (choices > 1 && sessionKey) {
    throw new BadRequestError(`\`n\` above 1 is only for stateless requests: a session stores one reply per turn, and this request uses the session "${sessionKey}" (from \`user\` or a session key header).`, {
      param: field('n'),
      code: 'invalid_value',
    });
  }
  const forwardUser = agent.forwardUser && typeof request.user === 'string';
  if (!request.extraParams && !forwardUser) return request.params;
  const params: ModelParams = Object.assign(Object.create(null) as ModelParams, request.params);
  for (const name of Object.keys(request.extraParams ?? {})) {
    const refusing = models.find((model) => !acceptsExtraField(model.config?.extraBody, name));
    if (refusing) {
      const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      throw new BadRequestError(
        `Unsupported parameter \`${shown}\`: it is not an OpenAI Chat Completions field, and provider ${refusing.providerName} is not configured to accept it (models.providers.${refusing.providerName}.extraBody).`,
        { param: field(shown), code: 'unsupported_parameter' },
      );
    }
    params[name] = request.extraParams![name];
  }
  if (forwardUser) params.user = request.user!;
  return params;
}

function acceptsExtraField(extraBody: boolean | string[] | undefined, name: string): boolean {
  return extraBody === true || (Array.isArray(extraBody) && extraBody.includes(name));
}

/** The agent's server tools beside the client's: a client tool may not take the name of one. */
function runTools(tools: AgentTools | undefined, agent: AgentConfig, params: ModelParams, toolParam: (index: number) => string): RunTools | undefined {
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
