import type { CreateChatCompletionRequest, FinishReason, ReasoningEffort } from '../../generated/index.ts';
import type { MessageRecord, UsageRecord } from '../records/record.ts';

export type { FinishReason };

/**
 * The upstream request's fields besides model and messages, in the OpenAI Chat Completions shape
 * every provider here speaks: sampling, tools (client and server alike), tool choice, format.
 */
export type ModelParams = Partial<
  Pick<
    CreateChatCompletionRequest,
    | 'temperature'
    | 'top_p'
    | 'max_tokens'
    | 'max_completion_tokens'
    | 'stop'
    | 'seed'
    | 'presence_penalty'
    | 'frequency_penalty'
    | 'response_format'
    | 'tools'
    | 'tool_choice'
    | 'parallel_tool_calls'
  >
> & {
  /** How hard a reasoning model should think (the Responses API's `reasoning.effort`). */
  reasoning_effort?: NonNullable<ReasoningEffort>;
};

export interface ModelRequest {
  /** The model name after `<provider>/`. */
  model: string;
  messages: MessageRecord[];
  params: ModelParams;
  signal: AbortSignal;
  requestId: string;
  /** Send stored reasoning back to the model under this field (the provider's `replayReasoning`). */
  replayReasoning?: 'reasoning_content' | 'reasoning';
}

/** What a provider streams back; the run relays each event as it arrives. */
export type ProviderEvent =
  | { type: 'content'; text: string }
  | { type: 'refusal'; text: string }
  | { type: 'reasoning'; text: string; field: 'reasoning_content' | 'reasoning' }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments?: string }
  | { type: 'finish'; finishReason: FinishReason; usage?: UsageRecord };

export interface Provider {
  readonly name: string;
  /**
   * Sends the request. Resolves once the upstream has accepted it (its response headers arrived
   * with a success status) with the reply as a stream of events; rejects with a ProviderError when
   * it refused or could not be reached, before anything was relayed.
   */
  open(request: ModelRequest): Promise<AsyncIterable<ProviderEvent>>;
  /** Makes the client ahead of the first call (loading its modules), so that call does not wait. */
  warmUp?(): Promise<void>;
  close?(): Promise<void>;
}

export type ProviderFailureKind =
  /** 5xx or network trouble: worth a retry, then a fallback model. */
  | 'unavailable'
  /** 429 from the upstream. */
  | 'rate_limited'
  /** 401/403: our credentials for the provider are wrong; never retried. */
  | 'unauthorized'
  /** The upstream answered something that is not a valid completion. */
  | 'malformed'
  /** The upstream rejected the request itself (400/422). */
  | 'rejected'
  /** The provider's config does not lead to the API (a redirect, a 404 for the chat route): the operator must fix it. */
  | 'misconfigured';

export class ProviderError extends Error {
  readonly provider: string;
  readonly kind: ProviderFailureKind;
  readonly details: { status?: number; retryAfterSeconds?: number };

  constructor(
    provider: string,
    kind: ProviderFailureKind,
    message: string,
    details: { status?: number; retryAfterSeconds?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.details = details;
  }
}
