import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { ErrorResponse } from '../../generated/index.ts';
import {
  BadRequestError,
  GatewayError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  type ErrorKind,
} from '../errors.ts';
import type { BodyExplainer } from './explain.ts';

/** Each kind of failure as OpenAI answers it over HTTP: the one table that decides status and `type`. */
const HTTP_FORM: Record<ErrorKind, { status: number; type: string }> = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  authentication: { status: 401, type: 'invalid_request_error' },
  permission: { status: 403, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_timeout: { status: 408, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  expectation_failed: { status: 417, type: 'invalid_request_error' },
  upgrade_required: { status: 426, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  headers_too_large: { status: 431, type: 'invalid_request_error' },
  internal: { status: 500, type: 'server_error' },
  upstream: { status: 502, type: 'upstream_error' },
  unavailable: { status: 503, type: 'server_error' },
  timeout: { status: 504, type: 'timeout_error' },
  // Only ever sent where the client is still there to read it (the WebSocket's agent.abort).
  aborted: { status: 499, type: 'invalid_request_error' },
};

export function httpStatus(error: GatewayError): number {
  return HTTP_FORM[error.kind].status;
}

export function errorType(error: GatewayError): string {
  return HTTP_FORM[error.kind].type;
}

/** Headers that go with an error: how to authenticate, what methods exist, when to retry. */
export function errorHeaders(error: GatewayError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.kind === 'authentication') headers['WWW-Authenticate'] = 'Bearer';
  if (error instanceof MethodNotAllowedError) headers.Allow = error.allowed.join(', ');
  if (error.kind === 'upgrade_required') {
    headers.Upgrade = 'websocket';
    headers.Connection = 'Upgrade';
  }
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  return headers;
}

/** The wire shape. `request_id` (an extra field OpenAI's schema allows) lets a client quote the failed request. */
export function errorBody(error: GatewayError, requestId?: string): ErrorResponse {
  const body: ErrorResponse = { error: { message: error.message, type: errorType(error), param: error.param, code: error.code } };
  if (requestId) body.error.request_id = requestId;
  return body;
}

interface ValidatorIssue {
  path: string;
  message: string;
  errorCode?: string;
}

/**
 * Anything an HTTP handler or middleware threw as a GatewayError: ours as they are, body-parser
 * and validator errors translated, anything else a 500 whose details go to the log only.
 */
export function toGatewayError(error: unknown, logger: Logger, requestId?: string, explain?: () => ValidatorIssue | undefined): GatewayError {
  if (error instanceof GatewayError) {
    if (error.kind === 'internal') logger.error({ event: 'http.internal_error', requestId, err: error.cause ?? error }, error.message);
    return error;
  }
  const e = error as { status?: number; type?: string; errors?: ValidatorIssue[]; message?: string; expose?: boolean };
  if (e?.type === 'entity.parse.failed') {
    return new BadRequestError(`Request body is not valid JSON: ${e.message}`, { code: 'invalid_json' });
  }
  if (e?.type === 'entity.too.large' || e?.status === 413) {
    return new PayloadTooLargeError('Request body is larger than gateway.http.maxBodyBytes allows.', { code: 'request_too_large' });
  }
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported' || e?.status === 415) {
    return new UnsupportedMediaTypeError('Request body must be JSON sent as Content-Type: application/json (UTF-8).', { code: 'unsupported_media_type' });
  }
  if (Array.isArray(e?.errors) && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const explained = e.status === 400 && e.errors.some((issue) => issue.path?.startsWith('/body')) ? explain?.() : undefined;
    return fromValidator(e.status, explained ? [explained] : e.errors);
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return new BadRequestError(e.message ?? 'Bad request.', { code: 'bad_request' });
  }
  logger.error({ event: 'http.unhandled_error', requestId, err: error }, 'unhandled error');
  return new InternalError('The gateway failed to handle this request. It has been logged.', { code: 'internal_error' });
}

function fromValidator(status: number, issues: ValidatorIssue[]): GatewayError {
  if (status === 404) return new NotFoundError('Unknown route.', { code: 'not_found' });
  if (status === 405) return new MethodNotAllowedError('this method', 'this route', ['POST']);
  if (status === 415) return new UnsupportedMediaTypeError('Request body must be sent as Content-Type: application/json.', { code: 'unsupported_media_type' });
  // ajv reports every branch of a oneOf. Branches whose discriminator (`role`, `type`) did not
  // match only say so; the branch that did match names the real problem, at the deepest path.
  const isSummary = (issue: ValidatorIssue) => /match exactly one schema|match a schema in anyOf/.test(issue.message);
  const isDiscriminatorMiss = (issue: ValidatorIssue) => /\/(role|type)$/.test(issue.path) && issue.message.startsWith('must be equal to one of the allowed values');
  const meaningful = issues.filter((issue) => !isSummary(issue));
  const relevant = meaningful.filter((issue) => !isDiscriminatorMiss(issue));
  if (relevant.length === 0 && meaningful.length > 0) {
    const allowed = [...new Set(meaningful.map((issue) => issue.message.split(': ').slice(1).join(': ')).flatMap((list) => list.split(/,\s*/)).filter(Boolean))];
    const param = toParam(meaningful[0].path);
    return new BadRequestError(`Invalid ${param ?? 'request body'}: must be one of ${allowed.join(', ')}.`, { param, code: 'invalid_value' });
  }
  const pool = relevant.length > 0 ? relevant : issues;
  const depth = (issue: ValidatorIssue) => issue.path.split('/').length;
  const deepest = Math.max(...pool.map(depth));
  const atDeepest = pool.filter((issue) => depth(issue) === deepest);
  const path = atDeepest[0].path;
  const samePath = atDeepest.filter((issue) => issue.path === path);
  const isTypeIssue = (issue: ValidatorIssue) => /^must be (string|array|object|number|integer|boolean|null)$/.test(issue.message);
  const specific = samePath.filter((issue) => !isTypeIssue(issue));
  const types = [...new Set(samePath.filter(isTypeIssue).map((issue) => issue.message.replace('must be ', '')))];
  const problem = specific.length > 0 ? specific[0].message : `must be ${types.join(' or ')}`;
  const param = toParam(path);
  const where = param ?? 'request body';
  return new BadRequestError(`Invalid ${where}: ${problem}.`, { param, code: 'invalid_value' });
}

/** `/body/messages/0/content` → `messages[0].content`; headers keep their name. */
export function toParam(path: string): string | null {
  const segments = path.replace(/^\.?\//, '').split(/[/.]/).filter(Boolean);
  const [location, ...rest] = segments;
  const fields = location === 'body' || location === 'query' || location === 'headers' || location === 'params' ? rest : segments;
  if (fields.length === 0) return null;
  return fields.map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}

/** Answers with the error, or, when a stream already began, ends the response. */
export function sendError(res: Response, error: GatewayError): void {
  res.locals.errorCode = error.code;
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(errorHeaders(error))) res.setHeader(name, value);
  res.status(httpStatus(error)).json(errorBody(error, res.locals.requestId));
}

/** Request bodies the explainer knows, by route: it re-validates a rejected body to name the field at fault. */
export const BODY_SCHEMAS: Record<string, string> = { '/v1/chat/completions': 'CreateChatCompletionRequest', '/v1/responses': 'CreateResponse' };

export function errorMiddleware(logger: Logger, explainBody: BodyExplainer): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const schema = BODY_SCHEMAS[req.path];
    // A body the worker rejected comes with its explanation: it was never parsed here.
    const offThread = (error as { checkedOffThread?: boolean })?.checkedOffThread === true;
    const explain = () => (offThread ? (error as { explained?: ValidatorIssue }).explained : schema ? explainBody(schema, req.body) : undefined);
    sendError(res, toGatewayError(error, logger, res.locals.requestId, explain));
  };
}
