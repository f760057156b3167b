import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import {
  ApiError,
  BadRequestError,
  GatewayTimeoutError,
  RateLimitError,
  UpstreamError,
} from '../errors.ts';
import type { ProviderRegistry, ResolvedModel } from '../providers/registry.ts';
import { ProviderError, type ForwardedParams, type ProviderEvent } from '../providers/types.ts';
import type { SessionQueue } from '../sessions/queue.ts';
import type { SessionStore } from '../sessions/store.ts';
import { planPrompt, splitRequestMessages, type ChatMessage, type FinishReason, type ToolCall, type Usage } from './messages.ts';
import type { Roster } from './roster.ts';

/** What a run needs from the gateway, for one config generation. */
export interface RunContext {
  config: GatewayConfig;
  roster: Roster;
  providers: ProviderRegistry;
  store?: SessionStore;
  queue: SessionQueue;
  logger: Logger;
}

export interface RunInput {
  agentId: string;
  /** Store key, or null for a stateless run. */
  sessionKey: string | null;
  messages: ChatMessage[];
  params: ForwardedParams;
  /** `<provider>/<model>` replacing the agent's model chain for this run. */
  modelOverride?: string;
  requestId: string;
  signal: AbortSignal;
}

/** One streamed piece of the reply, relayed to the client as soon as the provider yields it. */
export type RunDelta =
  | { type: 'content'; text: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments?: string };

export interface RunResult {
  content: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  /** The `<provider>/<model>` that answered. */
  modelRef: string;
}

const RETRY_BASE_DELAY_MS = 250;
const RETRY_BUDGET_MS = 9_000;

/** Checks that would otherwise fail deep inside a run; called before any response byte is sent. */
export function planModels(ctx: RunContext, input: Pick<RunInput, 'agentId' | 'modelOverride'>): ResolvedModel[] {
  const agent = ctx.roster.agents.get(input.agentId);
  if (!agent) throw new Error(`agent ${input.agentId} vanished from the roster`);
  const refs = input.modelOverride ? [input.modelOverride] : [agent.model.primary, ...agent.model.fallbacks];
  return refs.map((ref) => ctx.providers.resolve(ref));
}

/**
 * The agent run: the same function behind HTTP, the WebSocket and `openclaw agent`. It builds the
 * prompt (section 5 of the contract), calls the agent's models in order with retries, relays every
 * delta through `onDelta` as it arrives, and stores the turn.
 */
export async function runAgent(ctx: RunContext, input: RunInput, onDelta: (delta: RunDelta) => void = () => {}): Promise<RunResult> {
  const agent = ctx.roster.agents.get(input.agentId)!;
  const models = planModels(ctx, input);
  const split = splitRequestMessages(input.messages);
  if (split.newTurns.length === 0) {
    throw new BadRequestError('`messages` must contain a user or tool message after the last assistant message.', { param: 'messages' });
  }
  const timeoutMs = agent.timeoutSeconds * 1000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([input.signal, timeout]);

  const execute = async (): Promise<RunResult> => {
    const stored = input.sessionKey && ctx.store ? await ctx.store.loadTranscript(input.sessionKey, { lastMessages: ctx.config.sessions.maxHistoryMessages }) : [];
    const plan = planPrompt({ agentSystemPrompt: agent.systemPrompt, split, stored: trimToTurnStart(stored) });
    const store = input.sessionKey && ctx.store ? { key: input.sessionKey, sessions: ctx.store } : undefined;
    let result: RunResult;
    try {
      result = await callModels(ctx, models, { ...input, messages: plan.prompt, signal }, onDelta);
    } catch (error) {
      // The new turns land even when the run fails; a store failure here must not hide why the run failed.
      if (store) {
        await store.sessions.appendTurn(store.key, plan.turnsToStore).catch((storeError: unknown) => {
          ctx.logger.error({ event: 'session.store_failed', sessionKey: store.key, requestId: input.requestId, reason: (storeError as Error).message }, 'could not store the turns of a failed run');
        });
      }
      if (timeout.aborted && !input.signal.aborted) {
        throw new GatewayTimeoutError(`Agent ${agent.id} did not finish within its timeout of ${agent.timeoutSeconds} s.`, { code: 'agent_timeout' });
      }
      throw error;
    }
    // The reply lands together with the turns that asked for it, in one write; if that write fails
    // the client is told, rather than believing the session remembers a reply it does not.
    if (store) await store.sessions.appendTurn(store.key, [...plan.turnsToStore, assistantMessage(result)]);
    return result;
  };

  if (!input.sessionKey) return execute();
  return ctx.queue.run(input.sessionKey, { timeoutMs, signal: input.signal }, execute);
}

/** A stored tail must start at a user turn: a tool result without its call confuses every model. */
function trimToTurnStart(messages: ChatMessage[]): ChatMessage[] {
  const start = messages.findIndex((message) => message.role === 'user');
  return start <= 0 ? (start === -1 ? [] : messages) : messages.slice(start);
}

function assistantMessage(result: RunResult): ChatMessage {
  return result.toolCalls.length > 0
    ? { role: 'assistant', content: result.content, tool_calls: result.toolCalls }
    : { role: 'assistant', content: result.content ?? '' };
}

async function callModels(ctx: RunContext, models: ResolvedModel[], input: RunInput, onDelta: (delta: RunDelta) => void): Promise<RunResult> {
  const started = Date.now();
  let lastError: unknown;
  for (const model of models) {
    const maxRetries = model.config?.maxRetries ?? 0;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const relay = { started: false };
      try {
        return await callOnce(model, input, (delta) => {
          relay.started = true;
          onDelta(delta);
        });
      } catch (error) {
        if (input.signal.aborted) throw input.signal.reason ?? error;
        lastError = error;
        const failure = error instanceof ProviderError ? error : undefined;
        ctx.logger.warn({ event: 'upstream.error', provider: model.providerName, model: model.model, attempt, kind: failure?.kind, status: failure?.details.status, requestId: input.requestId }, failure?.message ?? String(error));
        // Once the client has seen part of a reply, another attempt would repeat or contradict it.
        if (relay.started || !failure || failure.kind !== 'unavailable') throw toApiError(error);
        const delay = (model.config?.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS) * 2 ** attempt * (0.5 + Math.random());
        if (attempt === maxRetries || Date.now() - started + delay > RETRY_BUDGET_MS) break;
        await sleep(delay, input.signal);
      }
    }
  }
  throw toApiError(lastError);
}

async function callOnce(model: ResolvedModel, input: RunInput, onDelta: (delta: RunDelta) => void): Promise<RunResult> {
  let content = '';
  let sawContent = false;
  const toolCalls: ToolCall[] = [];
  let finish: (ProviderEvent & { type: 'finish' }) | undefined;
  for await (const event of model.provider.stream({ model: model.model, messages: input.messages, params: input.params, signal: input.signal, requestId: input.requestId })) {
    if (event.type === 'content') {
      sawContent = true;
      content += event.text;
      onDelta(event);
    } else if (event.type === 'tool_call') {
      const call = (toolCalls[event.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (event.id) call.id = event.id;
      if (event.name) call.function.name += event.name;
      if (event.arguments) call.function.arguments += event.arguments;
      onDelta(event);
    } else {
      finish = event;
    }
  }
  if (!finish) throw new ProviderError(model.providerName, 'malformed', `Provider ${model.providerName} ended without a finish reason.`);
  const calls = toolCalls.filter(Boolean);
  return {
    content: sawContent || calls.length === 0 ? content : null,
    toolCalls: calls,
    finishReason: finish.finishReason,
    usage: finish.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    modelRef: model.ref,
  };
}

export function toApiError(error: unknown): Error {
  if (error instanceof ApiError) return error;
  if (!(error instanceof ProviderError)) return error instanceof Error ? error : new Error(String(error));
  switch (error.kind) {
    case 'rate_limited':
      return new RateLimitError(`Provider ${error.provider} is rate limiting requests; retry later.`, {
        code: 'upstream_rate_limited',
        headers: error.details.retryAfterSeconds !== undefined ? { 'Retry-After': String(Math.ceil(error.details.retryAfterSeconds)) } : {},
      });
    case 'unauthorized':
      return new UpstreamError(`Provider ${error.provider} refused the gateway's credentials; check models.providers.${error.provider}.apiKey.`, { code: 'upstream_auth_failed' });
    case 'rejected':
      return new BadRequestError(error.message, { code: 'upstream_rejected' });
    case 'malformed':
      return new UpstreamError(`Provider ${error.provider} sent an invalid response.`, { code: 'upstream_malformed' });
    case 'misconfigured':
      return new UpstreamError(error.message, { code: 'upstream_misconfigured' });
    default:
      return new UpstreamError(`Provider ${error.provider} is unavailable: ${error.message}`, { code: 'upstream_unavailable' });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
