import type { ChatCompletionTokenLogprob, CreateChatCompletionRequest, FinishReason } from '../../generated/index.ts';
import type { MessageRecord, UsageRecord } from '../records/record.ts';

export type { FinishReason };

/** The named properties of a generated type, without its index signature (`additionalProperties: true`). */
export type NamedFields<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };

/**
 * The upstream request's fields besides model, messages and streaming, in the OpenAI Chat
 * Completions shape every provider here speaks: every field of OpenAI's request the client sent
 * (sampling, tools, tool choice, format, logprobs, reasoning effort…), and the fields beyond
 * OpenAI's that the run's providers accept (`extraBody`).
 */
export type ModelParams = Partial<Omit<NamedFields<CreateChatCompletionRequest>, 'model' | 'messages' | 'stream' | 'stream_options'>> & { [field: string]: unknown };

export interface ModelRequest {
  /** The model name after `<provider>/`. */
  model: string;
  messages: MessageRecord[];
  params: ModelParams;
  signal: AbortSignal;
  requestId: string;
  /**
   * Nothing is relayed before the reply is complete (the client does not stream): a provider may
   * ask for the whole answer in one response, which costs less to read than a stream of deltas.
   * The events are the same either way.
   */
  whole?: boolean;
}

export type TokenLogprob = ChatCompletionTokenLogprob;

/**
 * What a provider streams back; the run relays each event as it arrives. Deltas belong to the
 * reply's first choice unless `choice` says otherwise (several only when the request asked for
 * `n` > 1). Log probabilities travel with the text they are for.
 */
export type ProviderEvent =
  | { type: 'content'; text: string; choice?: number; logprobs?: TokenLogprob[] }
  | { type: 'refusal'; text: string; choice?: number; logprobs?: TokenLogprob[] }
  | { type: 'reasoning'; text: string; field: 'reasoning_content' | 'reasoning'; choice?: number }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments?: string; choice?: number }
  /** Fields of the upstream's message (delta) the gateway does not know, as sent: relayed, never interpreted. */
  | { type: 'message_fields'; fields: Record<string, unknown>; choice?: number }
  /**
   * Fields of the upstream's completion besides its id, object, created, model, choices and usage
   * (`system_fingerprint`, `service_tier`, a server's own), when they first arrive or change.
   */
  | { type: 'completion_fields'; fields: Record<string, unknown> }
  /** `finishReasons` holds every choice's reason by index when there were several. */
  | { type: 'finish'; finishReason: FinishReason; usage?: UsageRecord; finishReasons?: FinishReason[] };

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
