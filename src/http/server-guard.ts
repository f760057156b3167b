import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AddressCounter } from '../auth/address-limits.ts';
import { lockoutKey, normalizeAddress } from '../auth/client-address.ts';
import { BadRequestError, ExpectationFailedError, HeadersTooLargeError, PayloadTooLargeError, RateLimitError, RequestTimeoutError, type GatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime.ts';
import { endWithError, rawErrorResponse } from './raw-response.ts';
import { requestIdFrom } from './request-context.ts';

// Not `import { maxHeaderSize } from 'node:http'`: see the note on createServer in src/gateway.ts.
const { maxHeaderSize } = process.getBuiltinModule('node:http');

/** After answering a request the parser refused, how long the connection stays open for the client to read the answer (closing at once, with its bytes unread, could reset the connection before it did). */
const LINGER_MS = 1_000;

/** What Node's HTTP server keeps on a socket: the response being written to it (pipelined ones wait their turn). */
type HttpSocket = Socket & { _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null };

type ParserError = Error & { code?: string; reason?: string; rawPacket?: Buffer };

/**
 * What the HTTP server answers by itself, before or outside the express app, so that every error
 * it sends is a JSON body with a request id like the app's:
 * - a request its parser refuses (malformed framing, bad characters, oversized headers) or that
 *   arrives too slowly (`headersTimeoutMs`, `requestTimeoutMs`): 400 `malformed_request`, 431
 *   `headers_too_large`, 413 `chunk_extensions_too_large`, 408 `request_timeout`, then the
 *   connection closes. A response already under way on the connection (a stream, with the
 *   malformed request pipelined behind it) is finished first;
 * - an `Expect` other than `100-continue`: 417 `expectation_failed`;
 * - connections over `gateway.http.maxConnectionsPerAddress`: 429 `too_many_connections` at their
 *   first request (or upgrade), then closed; answering the request rather than closing at accept
 *   lets every HTTP client read why.
 */
export class ServerGuard {
  private readonly runtime: Runtime;
  private readonly connections: AddressCounter;
  /** Connections accepted over their address's limit, with the limit they were over. */
  private readonly overLimit = new WeakMap<Socket, number>();
  /** Connections whose parser failed: further failures on them are not answered again. */
  private readonly failed = new WeakSet<Socket>();

  private readonly metrics: GatewayMetrics;

  constructor(runtime: Runtime, connections: AddressCounter, metrics: GatewayMetrics) {
    this.runtime = runtime;
    this.connections = connections;
    this.metrics = metrics;
  }

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('clientError', (error: ParserError, socket: Duplex) => this.clientError(error, socket as HttpSocket));
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      const error = new ExpectationFailedError(`Expect: ${JSON.stringify(String(req.headers.expect).slice(0, 100))} is not supported; only "100-continue" is.`, { param: 'Expect', code: 'expectation_failed' });
      endWithError(res, error, requestIdFrom(req.headers));
    });
    // As Node does without a listener, except that a connection over its limit gets no go-ahead:
    // its answer is the 429, without the client sending the body first.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (!this.overLimit.has(req.socket)) res.writeContinue();
      server.emit('request', req, res);
    });
  }

  /** For the request handler: true when the request was answered here (its connection is over the limit). */
  refuseRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const limit = this.overLimit.get(req.socket);
    if (limit === undefined) return false;
    endWithError(res, tooManyConnections(limit), requestIdFrom(req.headers));
    return true;
  }

  /** For the upgrade handler: true when the upgrade was answered here. */
  refuseUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    const limit = this.overLimit.get(req.socket);
    if (limit === undefined) return false;
    socket.end(rawErrorResponse(tooManyConnections(limit), requestIdFrom(req.headers)));
    return true;
  }

  private admit(socket: Socket): void {
    if (socket.remoteAddress === undefined) return;
    const { trustProxy, http } = this.runtime.current.config.gateway;
    // Behind a proxy every connection is the proxy's: the peer address says nothing of the client.
    const limit = trustProxy ? 0 : http.maxConnectionsPerAddress;
    const key = lockoutKey(normalizeAddress(socket.remoteAddress));
    const release = this.connections.tryAcquire(key, limit);
    if (release) {
      socket.once('close', release);
      return;
    }
    this.overLimit.set(socket, limit);
    this.metrics.addressLimitRefusals.inc({ limit: 'connections', transport: 'http' });
    this.runtime.logger.info({ event: 'http.connection_refused', address: key, limit }, 'connection over gateway.http.maxConnectionsPerAddress');
  }

  private clientError(cause: ParserError, socket: HttpSocket): void {
    if (this.failed.has(socket)) return;
    this.failed.add(socket);
    const error = asHttpError(cause);
    // A reset or a broken pipe: nobody left to answer.
    if (!error) return void socket.destroy();
    if (!socket.writable) return closeAfterFlush(socket);
    this.runtime.logger.debug({ event: 'http.client_error', code: cause.code, reason: cause.reason }, 'request refused by the HTTP parser or its timeouts');
    const timedOut = error.kind === 'request_timeout';
    // The responses under way for requests received whole (a stream, a run waiting for its model)
    // finish first, in order; the error answers the request at fault: one the app is handling whose
    // body was malformed or too slow (under the id the app gave it), or one the parser could not
    // read at all, pipelined behind the others (a new id). Then the connection closes.
    this.atFault(socket, (message) => {
      const requestId = message?.getHeader('x-request-id');
      this.answer(socket, error, typeof requestId === 'string' ? requestId : randomUUID(), timedOut);
    });
  }

  /**
   * Calls `then` with the response of the request at fault once every response before it was
   * written: the first one whose request is incomplete and unanswered, or none once no response is
   * left. Never, if the socket closes first.
   */
  private atFault(socket: HttpSocket, then: (message: HttpSocket['_httpMessage'] | undefined) => void): void {
    const current = socket._httpMessage;
    if (!current) return then(undefined);
    if (!current.headersSent && !current.req?.complete) return then(current);
    const onClose = () => current.off('finish', onFinish);
    // Node hands the socket to the next pipelined response in its own 'finish' listener, which ran before this one.
    const onFinish = () => {
      socket.off('close', onClose);
      setImmediate(() => this.atFault(socket, then));
    };
    current.once('finish', onFinish);
    socket.once('close', onClose);
  }

  private answer(socket: HttpSocket, error: GatewayError, requestId: string, timedOut: boolean): void {
    // The last response asked to close the connection (or the client went): it closes once written.
    if (!socket.writable) return closeAfterFlush(socket);
    if (timedOut) {
      // The parser is still reading this client: nothing more it sends may reach the app.
      socket.end(rawErrorResponse(error, requestId), () => socket.destroy());
      return;
    }
    socket.end(rawErrorResponse(error, requestId));
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  }
}

/** Closes an ended socket once what was written to it has gone out (destroying it at once could cut the end of a response). */
function closeAfterFlush(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/** Node's parser and timeout errors as the gateway answers them; undefined for a socket failure (reset, broken pipe). */
function asHttpError(error: ParserError): GatewayError | undefined {
  const code = error.code ?? '';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new RequestTimeoutError('The request was not received in time (gateway.http.headersTimeoutMs for its headers, gateway.http.requestTimeoutMs for all of it).', { code: 'request_timeout' });
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new HeadersTooLargeError(`The request line and headers are larger than the gateway reads (${maxHeaderSize} bytes).`, { code: 'headers_too_large' });
  }
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return new PayloadTooLargeError('The chunk extensions of the request body are larger than the gateway reads.', { code: 'chunk_extensions_too_large' });
  }
  if (code.startsWith('HPE_')) {
    const reason = (error.reason ?? error.message).replace(/^Parse Error:\s*/, '').replace(/\.$/, '');
    return new BadRequestError(`The request is not valid HTTP/1.1: ${reason}.`, { code: 'malformed_request' });
  }
  return undefined;
}

function tooManyConnections(limit: number): GatewayError {
  return new RateLimitError(`This client address already holds ${limit} connections to the gateway, its limit (gateway.http.maxConnectionsPerAddress); reuse or close some before opening more.`, {
    code: 'too_many_connections',
    retryAfterSeconds: 1,
  });
}
