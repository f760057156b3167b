// The bare express floor: what the gateway's HTTP layer (express 5, a JSON body parser) costs at the
// least. express 5 + express.json() in, undici request() out on a keep-alive pool, the upstream's
// answer piped back unchanged (streaming passed through as it comes). No auth, no validation, no
// session, no SDK, no parsing of the answer. The benchmark measures it beside the gateway and the
// node:http floor (bench/floor-proxy.ts): gateway ÷ this is the cost of the gateway beyond express.
//
//   node bench/express-proxy.ts --upstream http://127.0.0.1:PORT [--validator]
//
// With --validator the body also passes the gateway's request validator (express-openapi-validator
// on the published spec, with the gateway's own options) before it is forwarded: the least a
// gateway that express-openapi-validator guards can cost, so the benchmark can show how much of
// the gateway's cost beyond bare express is that validator's (it is the design's, not optional).
// Prints `{"port":N}` on stdout once listening. With an IPC channel (the runner spawns it with one),
// it answers `{ type: 'loop-delay' }` with its event-loop delay since the previous ask (see loop-delay.ts).
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Agent } from 'undici';
import { answerLoopDelayQueries } from './loop-delay.ts';
import { loadSpec, validatorOptions } from '../src/http/spec.ts';

const at = process.argv.indexOf('--upstream');
const upstream = new URL(at === -1 ? 'http://127.0.0.1:8080' : process.argv[at + 1]);
const pool = new Agent({ keepAliveTimeout: 30_000, connections: null });

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: '20mb' }));
if (process.argv.includes('--validator')) {
  const OpenApiValidator = await import('express-openapi-validator');
  app.use(OpenApiValidator.middleware(validatorOptions(loadSpec().document)));
}
app.post('/v1/chat/completions', (req, res) => {
  pool
    .request({
      origin: upstream.origin,
      path: req.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A gateway reads the body; forwarding it means writing it again.
      body: JSON.stringify(req.body),
    })
    .then(({ statusCode, headers, body }) => {
      res.status(statusCode).set('content-type', String(headers['content-type'] ?? 'application/json'));
      body.pipe(res);
      res.on('close', () => body.destroy());
      // A client gone mid-stream aborts the upstream request; that is no crash.
      body.on('error', () => res.destroy());
    })
    .catch(() => {
      if (!res.headersSent) res.status(502);
      res.end();
    });
});

// A body the validator refused: an error status, as the gateway would answer (without its message).
app.use(((error, _req, res, _next) => void res.status((error as { status?: number }).status ?? 500).json({ error: { message: String((error as Error).message) } })) as express.ErrorRequestHandler);

const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
server.keepAliveTimeout = 30_000;
answerLoopDelayQueries();
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => process.exit(0));
});
