import type { ChatMessage, FinishReason, Usage } from '../agents/messages.ts';
import type { CreateChatCompletionRequest } from '../../generated/index.ts';

/** Request fields forwarded to the model as they are. */
export type ForwardedParams = Pick<
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
>;

export const FORWARDED_PARAM_NAMES = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
] as const satisfies ReadonlyArray<keyof ForwardedParams>;

export interface ProviderRequest {
  /** The model name after `<provider>/`. */
  model: string;
  messages: ChatMessage[];
  params: ForwardedParams;
  signal: AbortSignal;
  requestId: string;
}

/** What a provider streams back; the run relays each event to the client as it arrives. */
export type ProviderEvent =
  | { type: 'content'; text: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments?: string }
  | { type: 'finish'; finishReason: FinishReason; usage?: Usage };

export interface Provider {
  readonly name: string;
  stream(request: ProviderRequest): AsyncIterable<ProviderEvent>;
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
  /** The upstream rejected the request itself (400/404/422). */
  | 'rejected'
  /** The provider's config does not lead to an API (a redirect): the operator must fix it. */
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
