import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Generation, Runtime } from '../runtime.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Per request: the request id (accepted from `x-request-id` when sane, else made, echoed back), the
 * config generation it runs on from its first middleware to its last byte, and one log line.
 */
export function requestContext(runtime: Runtime, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdFrom(req.headers);
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const generation = runtime.current;
    const release = generation.retain();
    res.locals.generation = generation;
    const started = process.hrtime.bigint();
    res.on('close', () => {
      release();
      logger.info({
        event: 'http.request',
        requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        agent: res.locals.agentId,
        errorCode: res.locals.errorCode,
        aborted: !res.writableFinished || undefined,
      });
    });
    next();
  };
}

/** The client's `x-request-id` when it is sane (one header, 1–128 of `A-Za-z0-9._:-`), else a new UUID. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The config generation this request started with. */
export function generationOf(res: Response): Generation {
  return res.locals.generation as Generation;
}

/** Aborted when the client goes away before the response has been written in full. */
export function clientAbortSignal(res: Response): AbortSignal {
  const aborter = new AbortController();
  // Already gone (it left while a large body was being checked): aborted from the start, so no run begins.
  if ((res.closed || res.destroyed) && !res.writableFinished) {
    aborter.abort(new Error('client disconnected'));
    return aborter.signal;
  }
  res.on('close', () => {
    if (!res.writableFinished) aborter.abort(new Error('client disconnected'));
  });
  return aborter.signal;
}

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  };
}
