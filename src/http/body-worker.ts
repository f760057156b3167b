// The body checker's worker thread: a large request body's nesting, syntax and validation against
// the published spec, off the gateway's event loop. It runs the same express-openapi-validator, on
// the same copy of the spec with the same options, as the request path does (src/http/app.ts), on
// a request made of the real one's method, URL, headers and body; it answers only a verdict (the
// parsed body is not sent back: copying it to the main thread costs as much as parsing it there).
import express from 'express';
import { parentPort } from 'node:worker_threads';
import { createBodyExplainer } from './explain.ts';
import { JsonDepthScanner } from './json-depth.ts';
import { loadSpec, validatorOptions } from './spec.ts';

export interface BodyCheck {
  id: number;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  maxDepth: number;
  /** The spec schema of the route's body, for the explainer (`CreateChatCompletionRequest`…). */
  schema?: string;
}

export type BodyVerdict =
  | { id: number; kind: 'ok' }
  | { id: number; kind: 'too_deep' }
  | { id: number; kind: 'not_json'; problem: string }
  | { id: number; kind: 'invalid'; status: number; errors: Array<{ path: string; message: string; errorCode?: string }>; explained?: { path: string; message: string } }
  /** The check itself broke: the request path checks the body as it would a small one. */
  | { id: number; kind: 'failed'; reason: string };

const spec = loadSpec();
const explain = createBodyExplainer(spec.document);
const app = express();
let validator: express.RequestHandler | undefined;

async function check(request: BodyCheck): Promise<BodyVerdict> {
  const { id } = request;
  const scanner = new JsonDepthScanner(request.maxDepth);
  if (!scanner.push(request.body)) return { id, kind: 'too_deep' };
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    return { id, kind: 'not_json', problem: (error as Error).message };
  }
  validator ??= (await import('express-openapi-validator')).middleware(validatorOptions(spec.document)) as unknown as express.RequestHandler;
  const failure = await new Promise<unknown>((done) => {
    const req = Object.assign(Object.create(app.request), { method: request.method, url: request.url, originalUrl: request.url, headers: request.headers, body, app });
    const res = Object.assign(Object.create(app.response), { app, req, locals: {} });
    req.res = res;
    // The validator is a chain of middlewares; it ends by calling next, with an error or without.
    const chain = Array.isArray(validator) ? (validator as express.RequestHandler[]) : [validator!];
    const step = (index: number, error?: unknown) => {
      if (error || index === chain.length) return done(error);
      try {
        chain[index](req, res, (next?: unknown) => step(index + 1, next));
      } catch (thrown) {
        done(thrown);
      }
    };
    step(0);
  });
  if (!failure) return { id, kind: 'ok' };
  const e = failure as { status?: number; errors?: Array<{ path: string; message: string; errorCode?: string }>; message?: string };
  const errors = Array.isArray(e.errors) ? e.errors.map(({ path, message, errorCode }) => ({ path, message, errorCode })) : [{ path: '/body', message: String(e.message ?? 'is invalid') }];
  const status = typeof e.status === 'number' ? e.status : 400;
  const explained = status === 400 && request.schema && errors.some((issue) => issue.path?.startsWith('/body')) ? explain(request.schema, body) : undefined;
  return { id, kind: 'invalid', status, errors, explained };
}

parentPort!.on('message', (request: BodyCheck) => {
  check(request).then(
    (verdict) => parentPort!.postMessage(verdict),
    (error: unknown) => parentPort!.postMessage({ id: request.id, kind: 'failed', reason: String((error as Error)?.message ?? error) } satisfies BodyVerdict),
  );
});
