// The floor for any Node gateway on this machine: a pass-through HTTP proxy with nothing in it (no
// auth, no validation, no parsing, no session, no SDK): node:http in, undici request() out on a
// keep-alive pool, the upstream's answer piped back unchanged. The benchmark measures it beside the
// gateway, so the gateway's ratios can be read against what one more Node hop costs at all.
//
//   node bench/floor-proxy.ts --upstream http://127.0.0.1:PORT
// Prints `{"port":N}` on stdout once listening. With an IPC channel (the runner spawns it with one),
// it answers `{ type: 'loop-delay' }` with its event-loop delay since the previous ask (see loop-delay.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { answerLoopDelayQueries } from './loop-delay.ts';

const at = process.argv.indexOf('--upstream');
const upstream = new URL(at === -1 ? 'http://127.0.0.1:8080' : process.argv[at + 1]);
const pool = new Agent({ keepAliveTimeout: 30_000, connections: null });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    pool
      .request({
        origin: upstream.origin,
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: Buffer.concat(chunks),
      })
      .then(({ statusCode, headers, body }) => {
        res.writeHead(statusCode, { 'content-type': String(headers['content-type'] ?? 'application/json') });
        body.pipe(res);
        res.on('close', () => body.destroy());
        // A client gone mid-stream aborts the upstream request; that is no crash.
        body.on('error', () => res.destroy());
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  });
});
server.keepAliveTimeout = 30_000;
answerLoopDelayQueries();
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => process.exit(0));
});
