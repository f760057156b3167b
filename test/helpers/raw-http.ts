// HTTP/1.1 at the byte level, for what no HTTP client will send: malformed framing, pipelined
// requests, unknown `Expect`s. A raw connection collects everything the server writes.
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  socket: Socket;
  connected: Promise<void>;
  /** Resolves when the server (or the test) closed the connection. */
  closed: Promise<void>;
  received(): string;
  /** Resolves once what was received matches `pattern` (or satisfies it, given as a function). */
  waitFor(pattern: RegExp | ((received: string) => boolean)): Promise<void>;
}

export function rawConnection(port: number, host = '127.0.0.1'): RawConnection {
  const socket = connect({ host, port });
  let received = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  void closed.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    socket,
    connected,
    closed,
    received: () => received,
    async waitFor(pattern) {
      const matches = typeof pattern === 'function' ? pattern : (text: string) => pattern.test(text);
      while (!matches(received)) {
        if (socket.destroyed) throw new Error(`connection closed before ${pattern} arrived; got ${JSON.stringify(received.slice(0, 500))}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

/** True when `text` begins with one whole response with a Content-Length body. */
export function hasWholeResponse(text: string): boolean {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return false;
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd))?.[1];
  return length !== undefined && text.length >= headEnd + 4 + Number(length);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits what a connection received into its responses, in order (Content-Length and chunked
 * bodies; a response without either runs to the end).
 */
export function parseResponses(raw: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) throw new Error(`incomplete response head: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(headEnd + 4);
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else if (status !== 100) {
      body = rest;
      rest = '';
    }
    responses.push({ status, headers, body: Buffer.from(body, 'latin1').toString('utf8') });
  }
  return responses;
}
