import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * The `fetch` the openai SDK is given for upstream calls: undici's `request()` on the provider's
 * keep-alive pool, answering with a small Response-shaped object whose body is undici's Node
 * stream. The SDK reads bodies as async iterables when they are, so none of WHATWG fetch's
 * machinery (Request/Response objects, web streams, a reader per chunk) runs per request; the
 * profile showed that machinery as the largest single cost on the gateway→upstream hop.
 * Anything the fast path does not cover (a streamed request body) goes through `fallback` (undici's
 * fetch on the same pool).
 */
export function createUpstreamFetch(dispatcher: Dispatcher, fallback: typeof fetch): typeof fetch {
  const upstreamFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array))) {
      return fallback(input, { ...init, dispatcher } as RequestInit);
    }
    const url = typeof input === 'string' ? input : input.href;
    const { statusCode, statusText, headers, body: stream } = await dispatcher.request({
      origin: new URL(url).origin,
      path: url.slice(url.indexOf('/', url.indexOf('//') + 2)) || '/',
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: flattenHeaders(init.headers),
      body: body ?? undefined,
      signal: init.signal ?? undefined,
    });
    return new UpstreamResponse(url, statusCode, statusText, toHeaders(headers), stream) as unknown as Response;
  };
  return upstreamFetch as typeof fetch;
}

/** What the SDK reads from a response: status, headers, and the body as text, JSON or an async iterable. */
class UpstreamResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: Readable & { text(): Promise<string>; json(): Promise<unknown>; arrayBuffer(): Promise<ArrayBuffer> };
  readonly redirected = false;
  readonly type = 'basic';

  constructor(url: string, status: number, statusText: string, headers: Headers, body: UpstreamResponse['body']) {
    this.url = url;
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    this.body = body;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.body.readableDidRead;
  }

  text(): Promise<string> {
    return this.body.text();
  }

  json(): Promise<unknown> {
    return this.body.json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.arrayBuffer();
  }
}

function flattenHeaders(headers: RequestInit['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  if (!headers) return flat;
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [name, value] of headers) flat[name] = value;
    return flat;
  }
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name.toLowerCase()] = String(value);
  return flat;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.append(name, value);
  }
  return headers;
}
