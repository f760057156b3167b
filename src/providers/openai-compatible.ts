import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../config/types.ts';
import { chatCompletionsBody } from '../records/upstream-json.ts';
import { completionEvents, type CompletionState, type UpstreamChunk } from './completion-events.ts';
import type { ModelRequest, Provider, ProviderEvent } from './types.ts';
import { ProviderError } from './types.ts';
import { readSseEvents } from './sse-events.ts';
import { refusalError, toProviderError, unserializable } from './upstream-failures.ts';
import { chunksOf, requestStreamed, requestWhole, type StreamedAnswer, type WholeAnswer } from './undici-answers.ts';

/** What a streaming request adds: usage arrives in a last chunk only when asked for. */
const STREAMING = { stream: true, stream_options: { include_usage: true } } as const;

/**
 * Any upstream that speaks the OpenAI Chat Completions protocol (OpenAI, vLLM, Ollama, llama.cpp,
 * OpenRouter…). The request goes out through undici's dispatch interface on a keep-alive pool of the
 * provider's own: the openai SDK (the conformance tests' client) built each request with a third of
 * the gateway's CPU per request in the profile, and combined abort signals per call. A streaming
 * client's run asks the upstream for a stream and relays its deltas; for a client that waits for
 * the whole reply it asks for one whole completion (no 20 chunks to parse, one body to read). Both
 * are read by dispatch handlers of the gateway's own rather than through a body stream
 * (`undici-answers.ts`).
 * Retries are the run's job (with fallbacks).
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
      body = chatCompletionsBody(request.model, request.messages, request.params, request.whole ? { stream: false } : STREAMING, replay);
    } catch (error) {
      // Nothing was sent: the request itself cannot be written (nested past the stack, a value
      // JSON has no form for). Never the provider's outage, so never retried or failed over.
      throw unserializable(this.name, error);
    }
    const dispatch: Dispatcher.DispatchOptions = {
      origin: this.target.origin,
      path: this.target.path,
      method: 'POST',
      headers: { ...this.headers, 'x-request-id': request.requestId },
      body,
    };
    if (request.whole) {
      let answer: WholeAnswer;
      try {
        answer = await requestWhole(pool, dispatch, request.signal, MAX_COMPLETION_BYTES);
      } catch (error) {
        throw this.failure(error);
      }
      if (answer.statusCode < 200 || answer.statusCode >= 300) throw await refusalError(this.name, this.config, { statusCode: answer.statusCode, headers: answer.headers, body: chunksOf(answer.body) });
      return this.events(answer.headers['content-type'], answer.body, true);
    }
    let response: StreamedAnswer;
    try {
      response = await requestStreamed(pool, dispatch, request.signal);
    } catch (error) {
      throw this.failure(error);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) throw await refusalError(this.name, this.config, response);
    return this.events(response.headers['content-type'], response.body, false);
  }

  private failure(error: unknown): Error {
    return toProviderError(this.name, this.config, error);
  }

  /**
   * The reply as events, whichever form the upstream answered in: a stream of chunks, or one
   * whole completion (asked for when the client does not stream; also taken from a server that
   * answers JSON to a streaming request). The content type decides; without one, what was asked.
   * `body` is the answer already read whole (a whole request's) or the response stream.
   */
  private async *events(type: string | string[] | undefined, body: Buffer | AsyncIterable<Uint8Array>, whole: boolean): AsyncGenerator<ProviderEvent> {
    const contentType = typeof type === 'string' ? type : '';
    const asWhole = contentType.includes('json') || (whole && !contentType.includes('event-stream'));
    const state: CompletionState = { finishReasons: [] };
    const out: ProviderEvent[] = [];
    try {
      if (asWhole) {
        const text = Buffer.isBuffer(body) ? body.toString('utf8') : await readWhole(body, MAX_COMPLETION_BYTES);
        // A byte-order mark is no part of the JSON (a UTF-8 decoder drops it; toString keeps it).
        this.completion(JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text), state, out);
        yield* out;
      } else {
        let done = false;
        for await (const event of readSseEvents(Buffer.isBuffer(body) ? chunksOf(body) : body)) {
          // Read on to the end after [DONE] rather than leave: a body dropped before its end costs
          // the pooled connection.
          if (done) continue;
          if (event.data === '[DONE]') {
            done = true;
            continue;
          }
          this.chunk(JSON.parse(event.data), event.event === 'error', state, out);
          for (const next of out) yield next;
          out.length = 0;
        }
      }
    } catch (error) {
      throw this.failure(error);
    }
    const { finishReasons, usage, changedFields } = state;
    if (finishReasons.length === 0 && !usage) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} ended its ${asWhole ? 'answer' : 'stream'} without a finish reason.`);
    if (changedFields) yield { type: 'completion_fields', fields: changedFields };
    const finish: ProviderEvent & { type: 'finish' } = { type: 'finish', finishReason: finishReasons[0] ?? finishReasons.find(Boolean) ?? 'stop' };
    if (usage) finish.usage = usage;
    if (finishReasons.length > 1) finish.finishReasons = Array.from(finishReasons, (reason) => reason ?? 'stop');
    yield finish;
  }

  private chunk(chunk: unknown, namedError: boolean, state: CompletionState, out: ProviderEvent[]): void {
    if (!isObject(chunk)) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} sent a stream event that is not a JSON object.`);
    if (namedError || chunk.error) {
      throw new ProviderError(this.name, 'unavailable', `Provider ${this.name} reported an error in its stream: ${String(chunk.error?.message ?? JSON.stringify(chunk)).slice(0, 300)}`);
    }
    completionEvents(chunk, 'delta', state, out);
  }

  private completion(completion: unknown, state: CompletionState, out: ProviderEvent[]): void {
    if (!isObject(completion)) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} answered with JSON that is not an object.`);
    if (completion.error) {
      throw new ProviderError(this.name, 'unavailable', `Provider ${this.name} answered with an error: ${String(completion.error.message ?? JSON.stringify(completion.error)).slice(0, 300)}`);
    }
    if (!Array.isArray(completion.choices)) throw new ProviderError(this.name, 'malformed', `Provider ${this.name} answered without \`choices\`.`);
    completionEvents(completion, 'message', state, out);
  }
}

/** No model's whole answer comes near this; a body that does is broken or hostile (a stream is held to 8 MB per event instead). */
const MAX_COMPLETION_BYTES = 64 * 1024 * 1024;

/** A streamed request's answer that came as one JSON body (a server that ignored `stream`), as text, at most `maxBytes`. */
async function readWhole(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of body) {
    length += part.byteLength;
    if (length > maxBytes) throw new SyntaxError(`A completion is larger than ${maxBytes} bytes.`);
    parts.push(part);
  }
  return Buffer.concat(parts, length).toString('utf8');
}

function isObject(value: unknown): value is UpstreamChunk {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
