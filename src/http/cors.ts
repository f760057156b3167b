import type { RequestHandler } from 'express';
import { generationOf } from './request-context.ts';

const ALLOWED_METHODS = 'GET, HEAD, POST, OPTIONS';
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Request-Id, X-OpenClaw-Agent-Id, X-OpenClaw-Session-Key, X-OpenClaw-Model';
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, WWW-Authenticate';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/**
 * CORS, off unless `gateway.http.cors.origins` lists origins (read per request, so a reload
 * applies). `"*"` allows any origin. Credentials travel in the Authorization header, never
 * cookies, so `Access-Control-Allow-Credentials` is never sent. A preflight from an allowed
 * origin is answered here with 204; one from any other origin gets no CORS headers, so the
 * browser refuses it.
 */
export function cors(): RequestHandler {
  return (req, res, next) => {
    const { origins } = generationOf(res).config.gateway.http.cors;
    if (origins.length === 0) return next();
    res.vary('Origin');
    const origin = req.headers.origin;
    if (!origin || !(origins.includes('*') || origins.includes(origin))) return next();
    res.setHeader('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    res.vary('Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_SECONDS);
    res.status(204).end();
  };
}
