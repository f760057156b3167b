import type OpenAI from 'openai';
import type { Agent } from 'undici';
import type { ProviderConfig } from '../config/types.ts';
import { toUpstreamMessage } from '../records/chat-completions.ts';
import type { UsageRecord } from '../records/record.ts';
import type { ModelRequest, Provider, ProviderEvent } from './types.ts';
import { ProviderError } from './types.ts';
import { readSseEvents } from './sse-events.ts';
import { createUpstreamFetch } from './upstream-fetch.ts';

/**
 * Any upstream that speaks the OpenAI Chat Completions protocol (OpenAI, vLLM, Ollama, llama.cpp,
 * OpenRouter…), through the official SDK. Streaming is always on upstream; the run relays deltas.
 * Retries are the run's job (with fallbacks), so the SDK's own retries are off.
 */
export class OpenAICompatibleProvider implements Provider {
  private upstream: Promise<Upstream> | undefined;
  private readonly config: ProviderConfig;
  readonly name: string;

  constructor(name: string, config: ProviderConfig) {
    this.name = name;
    this.config = config;
  }

  /**
   * The SDK client and its pool, made on first use: the SDK and undici are a third of the
   * gateway's module loading, which a gateway that has not called a provider yet does not need.
   */
  private connect(): Promise<Upstream> {
    this.upstream ??= (async () => {
      // One after the other, with a turn of the event loop between: each load blocks it for tens of
      // milliseconds, and requests arriving meanwhile (probes, at start-up) get served in between.
      const { default: OpenAIClient } = await import('openai');
      await new Promise((resolve) => setImmediate(resolve));
      const { Agent: Pool, fetch: fallbackFetch } = await import('undici');
      const config = this.config;
      // A keep-alive pool per provider; its header/body timeouts follow the provider's timeoutMs
      // instead of Node's fixed 5 minutes.
      const dispatcher = new Pool({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        // No cap on connections: every streaming run holds one for its whole length, and a cap
        // queued the 129th concurrent stream behind the others (seen in the idle-streams benchmark).
        connections: null,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
      });
      const client = new OpenAIClient({
        baseURL: config.baseUrl,
        apiKey: config.apiKey ?? 'not-needed',
        defaultHeaders: config.headers,
        timeout: config.timeoutMs,
        maxRetries: 0,
        // Failures surface as ProviderErrors that the run logs; the SDK's own console logging is noise.
        logLevel: 'off',
        fetch: createUpstreamFetch(dispatcher, fallbackFetch as unknown as typeof fetch),
      });
      return { client, dispatcher, sdk: OpenAIClient };
    })();
    this.upstream.catch(() => (this.upstream = undefined));
    return this.upstream;
  }

  async warmUp(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    if (!this.upstream) return;
    const { dispatcher } = await this.upstream;
    await dispatcher.close().catch(() => undefined);
  }

  async open(request: ModelRequest): Promise<AsyncIterable<ProviderEvent>> {
    const { client, sdk } = await this.connect();
    const messages = request.messages.map((message) => toUpstreamMessage(message, { replayReasoning: request.replayReasoning }));
    let response: Response;
    try {
      // The SDK builds and sends the request and turns a failed status into its error classes;
      // the streamed body is read here (readSseEvents) rather than through the SDK's Stream, whose
      // per-line decoding was a third of the gateway's CPU per request in the profile.
      response = await client.chat.completions
        .create(
          {
            ...request.params,
            model: request.model,
            messages: messages as OpenAI.ChatCompletionMessageParam[],
            stream: true,
            stream_options: { include_usage: true },
          } as OpenAI.ChatCompletionCreateParamsStreaming,
          { signal: request.signal, headers: { 'x-request-id': request.requestId } },
        )
        .asResponse();
    } catch (error) {
      throw toProviderError(sdk, this.name, this.config, error);
    }
    if (!response.body) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} answered without a body.`);
    return this.events(response.body as unknown as AsyncIterable<Uint8Array>, sdk);
  }

  private async *events(body: AsyncIterable<Uint8Array>, sdk: typeof OpenAI): AsyncGenerator<ProviderEvent> {
    let finish: (ProviderEvent & { type: 'finish' }) | undefined;
    let done = false;
    try {
      for await (const event of readSseEvents(body)) {
        // Read on to the end after [DONE] rather than leave: a body dropped before its end costs the
        // pooled connection.
        if (done) continue;
        if (event.data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = JSON.parse(event.data) as (UpstreamChunk & { error?: { message?: string } }) | null;
        if (typeof chunk !== 'object' || chunk === null) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} sent a stream event that is not a JSON object.`);
        if (event.event === 'error' || chunk.error) {
          throw new ProviderError(this.name, 'unavailable', `Provider ${this.name} reported an error in its stream: ${String(chunk.error?.message ?? event.data).slice(0, 300)}`);
        }
        const choice = chunk.choices?.[0];
        const delta = choice?.delta;
        if (delta) {
          if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') yield { type: 'reasoning', text: delta.reasoning_content, field: 'reasoning_content' };
          else if (typeof delta.reasoning === 'string' && delta.reasoning !== '') yield { type: 'reasoning', text: delta.reasoning, field: 'reasoning' };
          if (delta.content) yield { type: 'content', text: delta.content };
          if (typeof delta.refusal === 'string' && delta.refusal !== '') yield { type: 'refusal', text: delta.refusal };
          for (const call of delta.tool_calls ?? []) {
            yield { type: 'tool_call', index: call.index, id: call.id, name: call.function?.name, arguments: call.function?.arguments };
          }
        }
        if (choice?.finish_reason) finish = { type: 'finish', finishReason: choice.finish_reason, usage: finish?.usage };
        if (chunk.usage) {
          finish ??= { type: 'finish', finishReason: 'stop' };
          finish.usage = usageRecord(chunk.usage);
        }
      }
    } catch (error) {
      throw toProviderError(sdk, this.name, this.config, error);
    }
    if (!finish) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} ended its stream without a finish reason.`);
    yield finish;
  }
}

interface UpstreamChunk {
  choices?: Array<{
    delta?: {
      content?: string | null;
      refusal?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: OpenAI.ChatCompletionChunk.Choice['finish_reason'];
  }>;
  usage?: OpenAI.CompletionUsage | null;
}

function usageRecord(usage: OpenAI.CompletionUsage): UsageRecord {
  const record: UsageRecord = {};
  if (typeof usage.prompt_tokens === 'number') record.inputTokens = usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') record.outputTokens = usage.completion_tokens;
  if (typeof usage.total_tokens === 'number') record.totalTokens = usage.total_tokens;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number') record.cachedInputTokens = cached;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === 'number') record.reasoningTokens = reasoning;
  return record;
}

interface Upstream {
  client: OpenAI;
  dispatcher: Agent;
  /** The SDK's class, for its error classes. */
  sdk: typeof OpenAI;
}

/** The provider's base URL as an operator may see it in a message: no credentials, no query. */
export function displayUrl(baseUrl: string | undefined): string {
  if (!baseUrl) return '(no baseUrl)';
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(an invalid baseUrl)';
  }
}

/** The low-level reason a connection failed, in words (ECONNREFUSED → connection refused). */
function connectionCause(error: unknown): string {
  for (let cause = error as { code?: string; cause?: unknown; message?: string } | undefined, depth = 0; cause && depth < 5; cause = cause.cause as typeof cause, depth++) {
    switch (cause.code) {
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'the host name does not resolve (DNS)';
      case 'ECONNRESET':
        return 'the connection was reset';
      case 'ETIMEDOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return 'the connection timed out';
      case 'UND_ERR_HEADERS_TIMEOUT':
        return 'no response headers within timeoutMs';
      case 'UND_ERR_BODY_TIMEOUT':
        return 'the response stalled for longer than timeoutMs';
      case 'UND_ERR_SOCKET':
        return 'the connection closed unexpectedly';
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return 'the host is unreachable';
    }
    if (typeof cause.code === 'string' && /^(ERR_TLS|ERR_SSL|EPROTO$|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(cause.code)) return `TLS failed (${cause.code})`;
  }
  return 'the connection failed';
}

export function toProviderError(sdk: typeof OpenAI, provider: string, config: ProviderConfig, error: unknown): Error {
  if (error instanceof ProviderError) return error;
  if (error instanceof sdk.APIUserAbortError) return error;
  const where = displayUrl(config.baseUrl);
  if (error instanceof sdk.APIError && typeof error.status === 'number') {
    const status = error.status;
    if (status === 429) {
      const retryAfter = Number(error.headers?.get?.('retry-after'));
      return new ProviderError(provider, 'rate_limited', `Provider ${provider} is rate limiting requests.`, {
        status,
        retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
      });
    }
    if (status >= 300 && status < 400) {
      // The upstream client does not follow redirects (an API call that moved is a config to fix,
      // and following one would resend the key to wherever it points).
      const location = error.headers?.get?.('location');
      return new ProviderError(provider, 'misconfigured', `Provider ${provider} (${where}) answered with a redirect (HTTP ${status}${location ? ` to ${location}` : ''}); set models.providers.${provider}.baseUrl to the address it points to.`, { status });
    }
    if (status === 404) {
      return new ProviderError(
        provider,
        'misconfigured',
        `Provider ${provider} has no chat completions route at ${where}/chat/completions (HTTP 404); check models.providers.${provider}.baseUrl (most servers need it to end in /v1).`,
        { status },
      );
    }
    if (status === 401 || status === 403) {
      return new ProviderError(provider, 'unauthorized', `Provider ${provider} refused the gateway's credentials (HTTP ${status}).`, { status });
    }
    if (status >= 500) return new ProviderError(provider, 'unavailable', `Provider ${provider} (${where}) failed with HTTP ${status}.`, { status });
    return new ProviderError(provider, 'rejected', `Provider ${provider} rejected the request (HTTP ${status}): ${error.message}`, { status });
  }
  if (error instanceof sdk.APIConnectionError) {
    const timedOut = error instanceof sdk.APIConnectionTimeoutError;
    const cause = timedOut ? `no response within models.providers.${provider}.timeoutMs (${config.timeoutMs} ms)` : connectionCause(error);
    return new ProviderError(provider, 'unavailable', `Provider ${provider} at ${where} could not be reached: ${cause}.`, {}, { cause: error });
  }
  if (error instanceof SyntaxError) {
    return new ProviderError(provider, 'malformed', `Provider ${provider} sent a response that is not valid JSON.`, {}, { cause: error });
  }
  // Not the upstream's doing (a request the client made unserializable, a bug): never retried as an outage.
  if (error instanceof RangeError || error instanceof TypeError) return error;
  const code = (error as { code?: string })?.code;
  if (typeof code === 'string' && (code.startsWith('UND_ERR') || code.startsWith('E'))) {
    return new ProviderError(provider, 'unavailable', `Provider ${provider} at ${where} failed: ${connectionCause(error)}.`, {}, { cause: error });
  }
  return new ProviderError(provider, 'unavailable', `Provider ${provider} at ${where} failed: ${(error as Error)?.message ?? String(error)}`, {}, { cause: error });
}
