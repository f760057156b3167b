import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * A `fetch` for the openai SDK (bench/upstream-client.ts compares it with the other ways to reach an upstream): undici's `request()` on the provider's
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
    const target = new URL(url);
    const { statusCode, statusText, headers, body: stream } = await dispatcher.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: requestHeaders(init.headers),
      body: body ?? undefined,
      signal: init.signal ?? undefined,
    });
    return new UpstreamResponse(url, statusCode, statusText, new ResponseHeaders(headers) as unknown as Headers, stream) as unknown as Response;
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

/** undici takes a Headers object (an iterable of pairs) as it is; a plain record is passed through too. */
function requestHeaders(headers: RequestInit['headers']): Iterable<[string, string]> | Record<string, string> | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers || Array.isArray(headers)) return headers as Iterable<[string, string]>;
  return headers as Record<string, string>;
}

/**
 * The read side of `Headers` over undici's header record (names already lower-case), which is
 * what the SDK reads: `get`, `has`, iteration. Building a real Headers object validated and
 * sorted every header of every response for nothing.
 */
class ResponseHeaders {
  private readonly raw: Record<string, string | string[] | undefined>;

  constructor(raw: Record<string, string | string[] | undefined>) {
    this.raw = raw;
  }

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    const value = this.raw['set-cookie'];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  keys(): IterableIterator<string> {
    return Array.from(this.entries(), ([name]) => name)[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return Array.from(this.entries(), ([, value]) => value)[Symbol.iterator]();
  }

  forEach(callback: (value: string, name: string, headers: ResponseHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
