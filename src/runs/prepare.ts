import { randomUUID } from 'node:crypto';
import { resolveAgentTarget } from '../agents/target.ts';
import type { Roster } from '../agents/roster.ts';
import type { AgentConfig, GatewayConfig } from '../config/types.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { ProviderRegistry, ResolvedModel } from '../providers/registry.ts';
import type { ModelParams } from '../providers/types.ts';
import { resolveSessionKey, responseSessionKey } from '../sessions/keys.ts';
import type { AgentToolIndex } from '../tools/policy.ts';
import { splitRequestMessages, type SplitMessages } from './prompt.ts';
import type { InputName, ResponseSeed, RunRequest, Transport } from './request.ts';
import { allowedOnly, checkTools, runTools, type RunTools } from './run-tools.ts';

/** What a run needs from one config generation. */
export interface RunSetup {
  readonly config: GatewayConfig;
  readonly roster: Roster;
  readonly providers: ProviderRegistry;
  /** The agents' MCP tools; absent where no tool manager runs. */
  readonly tools?: AgentToolIndex;
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
