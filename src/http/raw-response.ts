import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.ts';
import { errorBody, errorHeaders, httpStatus } from './errors.ts';

// Not `import { STATUS_CODES } from 'node:http'`: see the note on createServer in src/gateway.ts.
const { STATUS_CODES } = process.getBuiltinModule('node:http');

/**
 * Errors the server writes itself, outside the express app: a request the HTTP parser refused, a
 * refused upgrade or connection, an unknown `Expect`. The same body and request id header as the
 * app's errors; the connection closes after them (what follows on it cannot be trusted or is not
 * wanted).
 */
function errorResponse(error: GatewayError, requestId: string): { status: number; headers: Record<string, string>; body: string } {
  const body = JSON.stringify(errorBody(error, requestId));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'x-request-id': requestId,
    Connection: 'close',
    ...errorHeaders(error),
  };
  return { status: httpStatus(error), headers, body };
}

/** The whole HTTP/1.1 response as text, for a socket that no ServerResponse writes to. */
export function rawErrorResponse(error: GatewayError, requestId: string): string {
  const { status, headers, body } = errorResponse(error, requestId);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/** Answers a request the app never sees with the error; the connection closes after it. */
export function endWithError(res: ServerResponse, error: GatewayError, requestId: string): void {
  const { status, headers, body } = errorResponse(error, requestId);
  res.writeHead(status, headers);
  res.end(body);
}
