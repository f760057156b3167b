// Upstream answers read through undici's dispatch interface (its handler callbacks) rather than
// `request()`, which makes an async resource, a body stream (a Node Readable) and, to read it, a
// consumer or an async iterator for every answer: measured in the gateway, 10–15 µs of CPU per
// request for a whole answer and more per chunk for a streamed one. They fail as `request()` and
// the read after it did: with the signal's reason once aborted, with undici's own errors for the
// connection, its timeouts and a body cut short of its Content-Length.
import type { Dispatcher } from 'undici';

export type AnswerHeaders = Record<string, string | string[] | undefined>;

export interface WholeAnswer {
  statusCode: number;
  headers: AnswerHeaders;
  body: Buffer;
}

/**
 * One request whose answer is read whole, its chunks gathered as they arrive; an answer larger
 * than `maxBytes` is given up (a SyntaxError) as soon as it says or shows so.
 */
export function requestWhole(pool: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal, maxBytes: number): Promise<WholeAnswer> {
  return new Promise((resolve, reject) => {
    let statusCode = 0;
    let headers: AnswerHeaders = {};
    const parts: Buffer[] = [];
    let length = 0;
    const tooLarge = () => new SyntaxError(`A completion is larger than ${maxBytes} bytes.`);
    dispatchFollowing(pool, options, signal, reject, (settled) => ({
      onResponseStart(controller, status, answered) {
        // 1xx (100 Continue, 103 Early Hints) come before the answer itself.
        if (status < 200) return;
        statusCode = status;
        headers = answered as AnswerHeaders;
        if (Number(answered['content-length']) > maxBytes) controller.abort(tooLarge());
      },
      onResponseData(controller, chunk) {
        length += chunk.length;
        if (length > maxBytes) return controller.abort(tooLarge());
        parts.push(chunk);
      },
      onResponseEnd() {
        settled();
        resolve({ statusCode, headers, body: parts.length === 1 ? parts[0] : Buffer.concat(parts, length) });
      },
      onResponseError(_controller, error) {
        settled();
        reject(error);
      },
    }));
  });
}

export interface StreamedAnswer {
  statusCode: number;
  headers: AnswerHeaders;
  body: StreamedBody;
}

/**
 * One request whose answer is read as it comes: settled once its headers are in, with a body to
 * iterate. A failure before the headers rejects; one after them is thrown by the body's reader.
 */
export function requestStreamed(pool: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let body: StreamedBody | undefined;
    dispatchFollowing(pool, options, signal, reject, (settled) => ({
      onResponseStart(controller, status, answered) {
        if (status < 200) return;
        body = new StreamedBody(controller, settled);
        resolve({ statusCode: status, headers: answered as AnswerHeaders, body });
      },
      onResponseData(_controller, chunk) {
        body!.push(chunk);
      },
      onResponseEnd() {
        settled();
        body!.end();
      },
      onResponseError(_controller, error) {
        settled();
        if (body) body.fail(error);
        else reject(error);
      },
    }));
  });
}

type ResponseCallbacks = Omit<Dispatcher.DispatchHandler, 'onRequestStart'>;

/**
 * Sends the request with `callbacks` for its answer, aborted with the signal's reason when the
 * signal fires (before it is sent too); `settled`, given to the callbacks, stops following the
 * signal once the answer is over. A request that cannot even be dispatched is `reject`ed.
 */
function dispatchFollowing(pool: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal, reject: (error: unknown) => void, callbacks: (settled: () => void) => ResponseCallbacks): void {
  if (signal.aborted) return reject(signal.reason);
  let controller: Dispatcher.DispatchController | undefined;
  const onAbort = () => controller?.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const settled = () => signal.removeEventListener('abort', onAbort);
  const handler: Dispatcher.DispatchHandler = {
    ...callbacks(settled),
    onRequestStart(started) {
      controller = started;
      if (signal.aborted) started.abort(signal.reason);
    },
  };
  try {
    pool.dispatch(options, handler);
  } catch (error) {
    settled();
    reject(error);
  }
}

const EMPTY = Buffer.alloc(0);

/** Past this much read and not yet taken, the connection is not read further until the reader catches up. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * A streamed answer's body for one reader: the chunks undici hands over, queued until taken. A
 * reader that falls behind pauses the connection (backpressure reaches the upstream, as with a
 * stream); one that stops before the end aborts the request. A failure is thrown to the reader
 * after the chunks that came before it.
 */
export class StreamedBody implements AsyncIterableIterator<Uint8Array> {
  private readonly controller: Dispatcher.DispatchController;
  private readonly settled: () => void;
  private queue: Buffer[] = [];
  private head = 0;
  private queuedBytes = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private waiting: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: unknown) => void } | undefined;

  constructor(controller: Dispatcher.DispatchController, settled: () => void) {
    this.controller = controller;
    this.settled = settled;
  }

  push(chunk: Buffer): void {
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      return resolve({ value: chunk, done: false });
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= HIGH_WATER_BYTES) this.controller.pause();
  }

  end(): void {
    this.ended = true;
    if (this.waiting && this.head === this.queue.length) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.failure = { error };
    if (this.waiting && this.head === this.queue.length) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.head < this.queue.length) {
      const chunk = this.queue[this.head];
      // Taken chunks are let go at once, and the list compacted now and then: a reader that never
      // quite catches up must not keep every chunk it has read.
      this.queue[this.head++] = EMPTY;
      this.queuedBytes -= chunk.length;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head >= 64 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.controller.paused && this.queuedBytes < HIGH_WATER_BYTES) this.controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The reader stopped before the end: the rest is not wanted, and the connection is not reused. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.ended && !this.failure) {
      this.failure = { error: new Error('the body was not read to its end') };
      this.settled();
      this.controller.abort(this.failure.error as Error);
    }
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A body already read, as the stream of chunks a reader of streams takes. */
export async function* chunksOf(body: Buffer): AsyncGenerator<Uint8Array> {
  yield body;
}
