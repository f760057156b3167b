import express, { type Request, type RequestHandler, type Response } from 'express';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BadRequestError, UnsupportedMediaTypeError } from '../errors.ts';
import type { BodyCheckPool } from './body-pool.ts';
import { BODY_SCHEMAS } from './errors.ts';
import { JsonDepthScanner } from './json-depth.ts';
import { parseValidJsonInSlices } from './json-sliced.ts';
import { generationOf } from './request-context.ts';

/**
 * From this size on, a body's nesting, syntax and validation are checked on a worker thread; a
 * smaller one is checked here, where it costs less than the hop (≈1 ms to parse and validate).
 */
export const OFF_THREAD_BYTES = 256 * 1024;

/** A slice of a large body scanned in one go, between which other requests get the event loop (≈1–3 ms each). */
const SCAN_SLICE_BYTES = 512 * 1024;

/**
 * JSON bodies only, within `gateway.http.maxBodyBytes` and nested at most `gateway.http.maxJsonDepth`
 * levels (both read per request, so a reload applies). The body is read whole (express.raw: the
 * size limit and Content-Encoding), its nesting checked before anything parses it, then parsed. A
 * large body's depth scan yields the event loop between slices.
 */
export function jsonBody(pool?: BodyCheckPool): RequestHandler {
  const readers = new Map<number, RequestHandler>();
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const type = req.headers['content-type'];
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !(type && /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type))) {
      throw new UnsupportedMediaTypeError(`Request body must be JSON sent as Content-Type: application/json (got ${type ? JSON.stringify(type.slice(0, 100)) : 'none'}).`, {
        code: 'unsupported_media_type',
      });
    }
    const charset = type ? /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1] : undefined;
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      throw new UnsupportedMediaTypeError(`Request body must be UTF-8 JSON (got charset ${JSON.stringify(charset.slice(0, 40))}).`, { code: 'unsupported_media_type' });
    }
    const { maxBodyBytes, maxJsonDepth } = generationOf(res).config.gateway.http;
    let reader = readers.get(maxBodyBytes);
    if (!reader) {
      reader = express.raw({ limit: maxBodyBytes, type: () => true });
      readers.set(maxBodyBytes, reader);
    }
    reader(req, res, (error?: unknown) => {
      if (error) return next(error);
      const raw = req.body as Buffer | undefined;
      if (!Buffer.isBuffer(raw) || raw.length === 0) {
        req.body = {};
        return next();
      }
      const checked = pool && raw.length >= OFF_THREAD_BYTES ? checkOffThread(pool, req, res, raw, maxJsonDepth) : parseJson(raw, maxJsonDepth);
      checked.then((body) => {
        req.body = body;
        next();
      }, next);
    });
  };
}

/**
 * A large body checked by the worker: refused as the request path would refuse it, or parsed here
 * and marked as validated (`res.locals.bodyValidated`), so the validator does not walk it again.
 * When the worker could not check it, it is checked here like a small one.
 */
async function checkOffThread(pool: BodyCheckPool, req: Request, res: Response, raw: Buffer, maxDepth: number): Promise<unknown> {
  // The rule parseJson applies to a small body, before the worker sees this one.
  if (!topLevelIsContainer(raw)) throw notAnObject();
  const verdict = await pool.check({ method: req.method, url: req.originalUrl, headers: req.headers, body: raw, maxDepth, schema: BODY_SCHEMAS[req.baseUrl + req.path] });
  switch (verdict.kind) {
    case 'too_deep':
      throw tooDeep(maxDepth);
    case 'not_json':
      throw new BadRequestError(`Request body is not valid JSON: ${syntaxProblem(new Error(verdict.problem))}.`, { code: 'invalid_json' });
    case 'invalid':
      throw Object.assign(new Error('request validation failed'), { status: verdict.status, errors: verdict.errors, explained: verdict.explained, checkedOffThread: true });
    case 'failed':
      return parseJson(raw, maxDepth);
    case 'ok': {
      // Known valid: parsed in slices, so the event loop serves others meanwhile.
      const body = await parseValidJsonInSlices(raw);
      res.locals.bodyValidated = true;
      return body;
    }
  }
}

/** The body's value, refused when it nests deeper than `maxDepth` or is not a JSON object or array. */
export async function parseJson(raw: Buffer, maxDepth: number): Promise<unknown> {
  const scanner = new JsonDepthScanner(maxDepth);
  for (let offset = 0; offset < raw.length; offset += SCAN_SLICE_BYTES) {
    if (offset > 0) await nextTurn();
    if (!scanner.push(raw.subarray(offset, offset + SCAN_SLICE_BYTES))) throw tooDeep(maxDepth);
  }
  const text = raw.toString('utf8');
  // Like express.json's strict mode: a body is an object or an array, not a bare string or number.
  const first = /^[\s\uFEFF]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw notAnObject();
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new BadRequestError(`Request body is not valid JSON: ${syntaxProblem(error)}.`, { code: 'invalid_json' });
  }
}

function notAnObject(): BadRequestError {
  return new BadRequestError('Request body is not valid JSON: it must be a JSON object.', { code: 'invalid_json' });
}

/** Whether the text's first character (after a byte-order mark and whitespace) opens an object or an array. */
function topLevelIsContainer(raw: Buffer): boolean {
  let at = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  while (raw[at] === 0x20 || raw[at] === 0x0a || raw[at] === 0x0d || raw[at] === 0x09) at++;
  return raw[at] === 0x7b || raw[at] === 0x5b;
}

export function tooDeep(maxDepth: number): BadRequestError {
  return new BadRequestError(`Request body nests objects and arrays deeper than ${maxDepth} levels (gateway.http.maxJsonDepth).`, { code: 'json_too_deep' });
}

/**
 * What V8 found wrong, without the excerpt of the body it quotes (`"sk-…" is not valid JSON`):
 * the body may hold a credential, and an error message is logged and relayed.
 */
function syntaxProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/,\s*".*" is not valid JSON$/s, '').replace(/\.$/, '') || 'unexpected input';
}
