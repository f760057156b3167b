// The closed set of errors the gateway answers with. Each carries the HTTP status and OpenAI error
// `type` it maps to; src/http/errors.ts turns any of them into the wire shape in one place.

export interface ApiErrorOptions {
  param?: string | null;
  code?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
}

export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }
}

export class BadRequestError extends ApiError {
  readonly status = 400;
  readonly type = 'invalid_request_error';
}

export class AuthenticationError extends ApiError {
  readonly status = 401;
  readonly type = 'invalid_request_error';
  constructor(message = 'Missing or invalid bearer token in the Authorization header.', options: ApiErrorOptions = {}) {
    super(message, { code: 'invalid_api_key', ...options, headers: { 'WWW-Authenticate': 'Bearer', ...options.headers } });
  }
}

export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly type = 'invalid_request_error';
}

export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
  readonly type = 'invalid_request_error';
  constructor(method: string, path: string, allowed: string[]) {
    super(`Method ${method} is not allowed on ${path}; use ${allowed.join(', ')}.`, {
      code: 'method_not_allowed',
      headers: { Allow: allowed.join(', ') },
    });
  }
}

export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly type = 'invalid_request_error';
}

export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly type = 'invalid_request_error';
}

export class UpgradeRequiredError extends ApiError {
  readonly status = 426;
  readonly type = 'invalid_request_error';
}

export class RateLimitError extends ApiError {
  readonly status = 429;
  readonly type = 'rate_limit_error';
}

export class InternalServerError extends ApiError {
  readonly status = 500;
  readonly type = 'server_error';
}

export class UpstreamError extends ApiError {
  readonly status = 502;
  readonly type = 'upstream_error';
}

export class ServiceUnavailableError extends ApiError {
  readonly status = 503;
  readonly type = 'server_error';
}

export class GatewayTimeoutError extends ApiError {
  readonly status = 504;
  readonly type = 'timeout_error';
}

/** Config problems are operator errors, reported at load or reload, never over HTTP. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(message: string, problems: string[] = []) {
    super(problems.length > 0 ? `${message}\n  - ${problems.join('\n  - ')}` : message);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
