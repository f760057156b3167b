import express, { type RequestHandler } from 'express';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BadRequestError, UnsupportedMediaTypeError } from '../errors.ts';
import { JsonDepthScanner } from './json-depth.ts';
import { generationOf } from './request-context.ts';

/** A slice of a large body scanned in one go, between which other requests get the event loop (≈1–3 ms each). */
const SCAN_SLICE_BYTES = 512 * 1024;

/**
 * JSON bodies only, within `gateway.http.maxBodyBytes` and nested at most `gateway.http.maxJsonDepth`
 * levels (both read per request, so a reload applies). The body is read whole (express.raw: the
 * size limit and Content-Encoding), its nesting checked before anything parses it, then parsed. A
 * large body's depth scan yields the event loop between slices.
 */
export function jsonBody(): RequestHandler {
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
      parseJson(raw, maxJsonDepth).then((body) => {
        req.body = body;
        next();
      }, next);
    });
  };
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
  if (first !== '{' && first !== '[') {
    throw new BadRequestError('Request body is not valid JSON: it must be a JSON object.', { code: 'invalid_json' });
  }
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new BadRequestError(`Request body is not valid JSON: ${syntaxProblem(error)}.`, { code: 'invalid_json' });
  }
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
