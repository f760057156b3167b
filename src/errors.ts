// The closed set of errors the gateway answers with. Domain modules raise them with a stable `code`
// and the *kind* of failure; each transport maps a kind to its own wire form in exactly one place
// (src/http/errors.ts for HTTP and SSE, the WebSocket reuses its `type`). Nothing maps errors by
// matching message text.

export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'expectation_failed'
  | 'upgrade_required'
  | 'rate_limited'
  | 'headers_too_large'
  | 'internal'
  | 'upstream'
  | 'unavailable'
  | 'timeout'
  | 'aborted';

/** How a transport names one of its inputs, so an error about it speaks the transport's language. */
export interface InputName {
  /** Subject of an error sentence: "Header x-openclaw-agent-id", "params.agent". */
  label: string;
  /** The error's `param`: a body path, or null for a header. */
  param: string | null;
}

export interface GatewayErrorOptions {
  /** A stable, machine-readable code (`model_not_found`, `session_busy`…); never null. */
  code: string;
  /** The request field at fault, in the transport's own terms (`messages[0].content`). */
  param?: string | null;
  /** How long the client should wait before trying again (rate limits, lockouts). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export abstract class GatewayError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: string;
  readonly param: string | null;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: GatewayErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class BadRequestError extends GatewayError {
  readonly kind = 'invalid_request';
}

export class AuthenticationError extends GatewayError {
  readonly kind = 'authentication';
  constructor(message = 'Missing or invalid bearer token in the Authorization header.', options: Partial<GatewayErrorOptions> = {}) {
    super(message, { code: 'invalid_api_key', ...options });
  }
}

export class PermissionDeniedError extends GatewayError {
  readonly kind = 'permission';
}

export class NotFoundError extends GatewayError {
  readonly kind = 'not_found';
}

export class MethodNotAllowedError extends GatewayError {
  readonly kind = 'method_not_allowed';
  readonly allowed: string[];
  constructor(method: string, path: string, allowed: string[]) {
    super(`Method ${method} is not allowed on ${path}; use ${allowed.join(', ')}.`, { code: 'method_not_allowed' });
    this.allowed = allowed;
  }
}

/** The state the request was built on moved underneath it (a transcript appended by another run). */
export class ConflictError extends GatewayError {
  readonly kind = 'conflict';
}

export class PayloadTooLargeError extends GatewayError {
  readonly kind = 'too_large';
}

export class UnsupportedMediaTypeError extends GatewayError {
  readonly kind = 'unsupported_media_type';
}

export class UpgradeRequiredError extends GatewayError {
  readonly kind = 'upgrade_required';
}

export class RateLimitError extends GatewayError {
  readonly kind = 'rate_limited';
}

/** The client took longer than the server's timeouts allow to send its request (headers or body). */
export class RequestTimeoutError extends GatewayError {
  readonly kind = 'request_timeout';
}

/** An `Expect` header other than `100-continue`. */
export class ExpectationFailedError extends GatewayError {
  readonly kind = 'expectation_failed';
}

/** The request line and headers together are larger than the server reads. */
export class HeadersTooLargeError extends GatewayError {
  readonly kind = 'headers_too_large';
}

export class InternalError extends GatewayError {
  readonly kind = 'internal';
}

export class UpstreamError extends GatewayError {
  readonly kind = 'upstream';
}

export class ServiceUnavailableError extends GatewayError {
  readonly kind = 'unavailable';
}

export class GatewayTimeoutError extends GatewayError {
  readonly kind = 'timeout';
}

/** A run the client stopped (WebSocket `agent.abort`); never answered over HTTP, where the client is gone. */
export class RunAbortedError extends GatewayError {
  readonly kind = 'aborted';
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

/**
 * Any thrown value as a GatewayError: ours as they are, anything else an internal error whose
 * details stay in the log (the caller logs `error` itself; the message never reaches a client).
 */
export function asGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new InternalError('The gateway failed to handle this request. It has been logged.', { code: 'internal_error', cause: error });
}
