// What a failed upstream call means, in the operator's words: a refusing status mapped to the
// failure it stands for (with the upstream's own message, read boundedly), a thrown error to the
// cause behind it (refused, DNS, TLS, timeout), never with the base URL's credentials.
import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../config/types.ts';
import { BadRequestError, InternalError } from '../errors.ts';
import { ProviderError } from './types.ts';

/** Longest error body read from a refusing upstream: enough for its message, never a whole page. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** A response that is no completion, as the failure it stands for (its body read, boundedly, for the upstream's message). */
export async function refusalError(provider: string, config: ProviderConfig, response: Pick<Dispatcher.ResponseData, 'statusCode' | 'headers'> & { body: AsyncIterable<Uint8Array | string> }): Promise<ProviderError> {
  const status = response.statusCode;
  const header = (name: string) => {
    const value = response.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const detail = await errorDetail(response.body);
  const where = displayUrl(config.baseUrl);
  if (status === 429) {
    const retryAfter = Number(header('retry-after'));
    return new ProviderError(provider, 'rate_limited', `Provider ${provider} is rate limiting requests.`, {
      status,
      retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
    });
  }
  if (status >= 300 && status < 400) {
    // Redirects are not followed: an API call that moved is a config to fix, and following one
    // would resend the key to wherever it points.
    const location = header('location');
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
  return new ProviderError(provider, 'rejected', `Provider ${provider} rejected the request (HTTP ${status})${detail ? `: ${detail}` : '.'}`, { status });
}

/** The upstream's own error message from a refusal's body (OpenAI's `{error: {message}}`, or the text), shortened. */
async function errorDetail(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      if (text.length < MAX_ERROR_BODY_BYTES) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    }
  } catch {
    // A body cut short still says what it said.
  }
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : typeof parsed.error?.message === 'string' ? parsed.error.message : typeof parsed.message === 'string' ? parsed.message : undefined;
    if (message) return message.slice(0, 500);
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300);
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

/** A thrown error on the way to or from the upstream as a ProviderError, worded for the operator. */
export function toProviderError(provider: string, config: ProviderConfig, error: unknown): Error {
  if (error instanceof ProviderError) return error;
  // The run's own abort (client gone, agent timeout): the run says what happened.
  if ((error as { name?: string })?.name === 'AbortError' || (error as { code?: string })?.code === 'UND_ERR_ABORTED') return error as Error;
  const where = displayUrl(config.baseUrl);
  if (error instanceof SyntaxError) {
    return new ProviderError(provider, 'malformed', `Provider ${provider} sent a response that is not valid JSON.`, {}, { cause: error });
  }
  const code = (error as { code?: string })?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    const what = code === 'UND_ERR_HEADERS_TIMEOUT' ? 'no response' : 'the response stalled';
    return new ProviderError(provider, 'unavailable', `Provider ${provider} at ${where} could not be reached: ${what} within models.providers.${provider}.timeoutMs (${config.timeoutMs} ms).`, {}, { cause: error });
  }
  if (typeof code === 'string' && (code.startsWith('UND_ERR') || code.startsWith('E') || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('CERT_'))) {
    return new ProviderError(provider, 'unavailable', `Provider ${provider} at ${where} could not be reached: ${connectionCause(error)}.`, {}, { cause: error });
  }
  // Not the upstream's doing (a request the client made unserializable, a bug): never retried as an outage.
  if (error instanceof RangeError || error instanceof TypeError) return error;
  return new ProviderError(provider, 'unavailable', `Provider ${provider} at ${where} failed: ${(error as Error)?.message ?? String(error)}`, {}, { cause: error });
}

/** A request the gateway could not write out for the provider, as the client's fault when its nesting is to blame. */
export function unserializable(provider: string, error: unknown): Error {
  if (error instanceof RangeError) {
    return new BadRequestError(`The request nests too deeply to be sent to provider ${provider}; flatten it (gateway.http.maxJsonDepth).`, { code: 'json_too_deep', cause: error });
  }
  return new InternalError(`The request could not be serialized for provider ${provider}.`, { code: 'request_unserializable', cause: error });
}
