import type OpenAI from 'openai';
import type { Agent } from 'undici';
import type { ProviderConfig } from '../config/types.ts';
import type { Provider, ProviderEvent, ProviderRequest } from './types.ts';
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

  async *stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
    const { client, sdk } = await this.connect();
    let response: Response;
    try {
      // The SDK builds and sends the request and turns a failed status into its error classes;
      // the streamed body is read here (readSseEvents) rather than through the SDK's Stream, whose
      // per-line decoding was a third of the gateway's CPU per request in the profile.
      response = await client.chat.completions.create(
        {
          ...request.params,
          model: request.model,
          messages: request.messages as OpenAI.ChatCompletionMessageParam[],
          stream: true,
          stream_options: { include_usage: true },
        } as OpenAI.ChatCompletionCreateParamsStreaming,
        { signal: request.signal, headers: { 'x-request-id': request.requestId } },
      ).asResponse();
    } catch (error) {
      throw toProviderError(sdk, this.name, error);
    }
    if (!response.body) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} answered without a body.`);
    let finishReason: ProviderEvent & { type: 'finish' } | undefined;
    let done = false;
    try {
      for await (const event of readSseEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
        // Read on to the end after [DONE] rather than leave: a body dropped before its end costs the
        // pooled connection.
        if (done) continue;
        if (event.data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = JSON.parse(event.data) as (OpenAI.ChatCompletionChunk & { error?: { message?: string } }) | null;
        if (typeof chunk !== 'object' || chunk === null) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} sent a stream event that is not a JSON object.`);
        if (event.event === 'error' || chunk.error) {
          throw new ProviderError(this.name, 'unavailable', `Provider ${this.name} reported an error in its stream: ${String(chunk.error?.message ?? event.data).slice(0, 300)}`);
        }
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) yield { type: 'content', text: choice.delta.content };
        for (const call of choice?.delta?.tool_calls ?? []) {
          yield { type: 'tool_call', index: call.index, id: call.id, name: call.function?.name, arguments: call.function?.arguments };
        }
        if (choice?.finish_reason) finishReason = { type: 'finish', finishReason: choice.finish_reason };
        if (chunk.usage && finishReason) finishReason.usage = chunk.usage;
        else if (chunk.usage) finishReason = { type: 'finish', finishReason: 'stop', usage: chunk.usage };
      }
    } catch (error) {
      throw toProviderError(sdk, this.name, error);
    }
    if (!finishReason) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} ended its stream without a finish reason.`);
    yield finishReason;
  }
}

interface Upstream {
  client: OpenAI;
  dispatcher: Agent;
  /** The SDK's class, for its error classes. */
  sdk: typeof OpenAI;
}

export function toProviderError(sdk: typeof OpenAI, provider: string, error: unknown): Error {
  if (error instanceof ProviderError) return error;
  if (error instanceof sdk.APIUserAbortError) return error;
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
      return new ProviderError(provider, 'misconfigured', `Provider ${provider} answered with a redirect (HTTP ${status}${location ? ` to ${location}` : ''}); set models.providers.${provider}.baseUrl to the address it points to.`, { status });
    }
    if (status === 401 || status === 403) {
      return new ProviderError(provider, 'unauthorized', `Provider ${provider} refused the gateway's credentials (HTTP ${status}).`, { status });
    }
    if (status >= 500) return new ProviderError(provider, 'unavailable', `Provider ${provider} failed with HTTP ${status}.`, { status });
    return new ProviderError(provider, 'rejected', `Provider ${provider} rejected the request (HTTP ${status}): ${error.message}`, { status });
  }
  if (error instanceof sdk.APIConnectionError) {
    return new ProviderError(provider, 'unavailable', `Provider ${provider} could not be reached: ${error.message}`, {}, { cause: error });
  }
  if (error instanceof SyntaxError) {
    return new ProviderError(provider, 'malformed', `Provider ${provider} sent a response that is not valid JSON.`, {}, { cause: error });
  }
  return new ProviderError(provider, 'unavailable', `Provider ${provider} failed: ${(error as Error)?.message ?? String(error)}`, {}, { cause: error });
}
