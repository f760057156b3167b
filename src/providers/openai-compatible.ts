import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../config/types.ts';
import { toUpstreamMessage, usageFromWire } from '../records/chat-completions.ts';
import type { UsageRecord } from '../records/record.ts';
import type { FinishReason, ModelRequest, Provider, ProviderEvent, TokenLogprob } from './types.ts';
import { ProviderError } from './types.ts';
import { readSseEvents } from './sse-events.ts';
import { refusalError, toProviderError, unserializable } from './upstream-failures.ts';

/**
 * Any upstream that speaks the OpenAI Chat Completions protocol (OpenAI, vLLM, Ollama, llama.cpp,
 * OpenRouter…). The request goes out with undici's `request()` on a keep-alive pool of the
 * provider's own: the openai SDK (the conformance tests' client) built each request with a third of
 * the gateway's CPU per request in the profile, and combined abort signals per call. Streaming is
 * always on upstream; the run relays deltas. Retries are the run's job (with fallbacks).
 */
export class OpenAICompatibleProvider implements Provider {
  private pool: Promise<Dispatcher> | undefined;
  private readonly config: ProviderConfig;
  private readonly target: { origin: string; path: string } | undefined;
  private readonly headers: Record<string, string>;
  readonly name: string;

  constructor(name: string, config: ProviderConfig) {
    this.name = name;
    this.config = config;
    this.target = chatCompletionsTarget(config.baseUrl);
    // Built once: every request sends the same ones, plus its request id.
    this.headers = {
      ...lowerCaseKeys(config.headers),
      'content-type': 'application/json',
      accept: 'text/event-stream, application/json',
      authorization: `Bearer ${config.apiKey ?? 'not-needed'}`,
    };
  }

  /**
   * The connection pool, made on first use (undici is a large part of the gateway's module
   * loading, which a gateway that has not called a provider yet does not need). Its header and
   * body timeouts are the provider's `timeoutMs` instead of undici's fixed 5 minutes.
   */
  private connect(): Promise<Dispatcher> {
    this.pool ??= import('undici').then(
      ({ Agent }) =>
        new Agent({
          keepAliveTimeout: 30_000,
          keepAliveMaxTimeout: 600_000,
          // No cap on connections: every streaming run holds one for its whole length, and a cap
          // queued the 129th concurrent stream behind the others (seen in the idle-streams benchmark).
          connections: null,
          headersTimeout: this.config.timeoutMs,
          bodyTimeout: this.config.timeoutMs,
        }),
    );
    this.pool.catch(() => (this.pool = undefined));
    return this.pool;
  }

  async warmUp(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    if (!this.pool) return;
    const pool = await this.pool;
    await pool.close().catch(() => undefined);
  }

  async open(request: ModelRequest): Promise<AsyncIterable<ProviderEvent>> {
    if (!this.target) throw new ProviderError(this.name, 'misconfigured', `Provider ${this.name} has no usable baseUrl; set models.providers.${this.name}.baseUrl.`);
    const pool = await this.connect();
    // Reasoning is stored with each turn but goes back only to a provider configured to want it.
    const replay = { replayReasoning: this.config.replayReasoning };
    let body: string;
    try {
      body = JSON.stringify({
        ...request.params,
        model: request.model,
        messages: request.messages.map((message) => toUpstreamMessage(message, replay)),
        stream: true,
        stream_options: { include_usage: true },
      });
    } catch (error) {
      // Nothing was sent: the request itself cannot be written (nested past the stack, a value
      // JSON has no form for). Never the provider's outage, so never retried or failed over.
      throw unserializable(this.name, error);
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await pool.request({
        origin: this.target.origin,
        path: this.target.path,
        method: 'POST',
        headers: { ...this.headers, 'x-request-id': request.requestId },
        body,
        signal: request.signal,
      });
    } catch (error) {
      throw this.failure(error);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) throw await refusalError(this.name, this.config, response);
    return this.events(response.body);
  }

  private failure(error: unknown): Error {
    return toProviderError(this.name, this.config, error);
  }

  private async *events(body: AsyncIterable<Uint8Array>): AsyncGenerator<ProviderEvent> {
    let usage: UsageRecord | undefined;
    /** By choice index. */
    const finishReasons: FinishReason[] = [];
    /** Completion-level fields as last seen, and those new or changed since they were last relayed. */
    let completionFields: Record<string, unknown> | undefined;
    let changedFields: Record<string, unknown> | undefined;
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
        const chunk = JSON.parse(event.data) as UpstreamChunk | null;
        if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} sent a stream event that is not a JSON object.`);
        if (event.event === 'error' || chunk.error) {
          throw new ProviderError(this.name, 'unavailable', `Provider ${this.name} reported an error in its stream: ${String(chunk.error?.message ?? event.data).slice(0, 300)}`);
        }
        for (const key in chunk) {
          if (OWN_COMPLETION_FIELDS.has(key)) continue;
          const value = chunk[key];
          // Sent again on every chunk (system_fingerprint): relayed once, until it changes.
          if (value === null || value === undefined || completionFields?.[key] === value) continue;
          (completionFields ??= {})[key] = value;
          (changedFields ??= {})[key] = value;
        }
        const choices = chunk.choices;
        if (Array.isArray(choices)) {
          for (const choice of choices) {
            if (typeof choice !== 'object' || choice === null) continue;
            const index = typeof choice.index === 'number' ? choice.index : 0;
            const delta = choice.delta;
            if (delta && typeof delta === 'object') {
              let content: string | undefined;
              let refusal: string | undefined;
              let reasoningContent: string | undefined;
              let reasoning: string | undefined;
              let toolCalls: UpstreamToolCallDelta[] | undefined;
              let unknown: Record<string, unknown> | undefined;
              for (const key in delta) {
                const value = delta[key];
                switch (key) {
                  case 'role':
                    break;
                  case 'content':
                    if (typeof value === 'string') content = value;
                    break;
                  case 'refusal':
                    if (typeof value === 'string') refusal = value;
                    break;
                  case 'reasoning_content':
                    if (typeof value === 'string') reasoningContent = value;
                    break;
                  case 'reasoning':
                    if (typeof value === 'string') reasoning = value;
                    else if (value !== null && value !== undefined) (unknown ??= {})[key] = value;
                    break;
                  case 'tool_calls':
                    if (Array.isArray(value)) toolCalls = value as UpstreamToolCallDelta[];
                    break;
                  default:
                    if (value !== null && value !== undefined) (unknown ??= {})[key] = value;
                }
              }
              const logprobs = choice.logprobs;
              const contentLogprobs = logprobs?.content?.length ? logprobs.content : undefined;
              const refusalLogprobs = logprobs?.refusal?.length ? logprobs.refusal : undefined;
              const hasDelta = !!(reasoningContent || reasoning || content || refusal || contentLogprobs || refusalLogprobs || toolCalls?.length || unknown);
              // Completion fields go out just before the first delta that follows them, so an
              // upstream that failed before saying anything still counts as having said nothing.
              if (hasDelta && changedFields) {
                yield { type: 'completion_fields', fields: changedFields };
                changedFields = undefined;
              }
              // Servers that send both names send the same text: it is relayed once.
              if (reasoningContent) yield withChoice({ type: 'reasoning', text: reasoningContent, field: 'reasoning_content' }, index);
              else if (reasoning) yield withChoice({ type: 'reasoning', text: reasoning, field: 'reasoning' }, index);
              if (content || contentLogprobs) {
                const next: ProviderEvent & { type: 'content' } = withChoice({ type: 'content', text: content ?? '' }, index);
                if (contentLogprobs) next.logprobs = contentLogprobs;
                yield next;
              }
              if (refusal || refusalLogprobs) {
                const next: ProviderEvent & { type: 'refusal' } = withChoice({ type: 'refusal', text: refusal ?? '' }, index);
                if (refusalLogprobs) next.logprobs = refusalLogprobs;
                yield next;
              }
              if (toolCalls) {
                for (const call of toolCalls) {
                  yield withChoice({ type: 'tool_call', index: call.index ?? 0, id: call.id, name: call.function?.name, arguments: call.function?.arguments }, index);
                }
              }
              if (unknown) yield withChoice({ type: 'message_fields', fields: unknown }, index);
            }
            if (typeof choice.finish_reason === 'string') finishReasons[index] = choice.finish_reason;
          }
        }
        if (chunk.usage && typeof chunk.usage === 'object') usage = usageFromWire(chunk.usage);
      }
    } catch (error) {
      throw this.failure(error);
    }
    if (finishReasons.length === 0 && !usage) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} ended its stream without a finish reason.`);
    if (changedFields) yield { type: 'completion_fields', fields: changedFields };
    const finish: ProviderEvent & { type: 'finish' } = { type: 'finish', finishReason: finishReasons[0] ?? finishReasons.find(Boolean) ?? 'stop' };
    if (usage) finish.usage = usage;
    if (finishReasons.length > 1) finish.finishReasons = Array.from(finishReasons, (reason) => reason ?? 'stop');
    yield finish;
  }
}

/** Fields of a streamed chunk that are the upstream's own bookkeeping, or read apart: never relayed as completion fields. */
const OWN_COMPLETION_FIELDS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage', 'error', 'obfuscation']);

/** Marks a delta with its choice; the first choice's events carry none. */
function withChoice<T extends ProviderEvent>(event: T, index: number): T {
  if (index !== 0) (event as { choice?: number }).choice = index;
  return event;
}

interface UpstreamToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface UpstreamChunk {
  choices?: Array<{
    index?: number;
    delta?: Record<string, unknown>;
    logprobs?: { content?: TokenLogprob[] | null; refusal?: TokenLogprob[] | null } | null;
    finish_reason?: FinishReason | null;
  } | null>;
  usage?: Record<string, unknown> | null;
  error?: { message?: string };
  [field: string]: unknown;
}

/** `<baseUrl>/chat/completions` as an origin and a path, or undefined when baseUrl is not a URL. */
function chatCompletionsTarget(baseUrl: string | undefined): { origin: string; path: string } | undefined {
  if (!baseUrl) return undefined;
  try {
    const url = new URL(baseUrl);
    return { origin: url.origin, path: `${url.pathname.replace(/\/+$/, '')}/chat/completions${url.search}` };
  } catch {
    return undefined;
  }
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}
