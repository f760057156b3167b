import type { Response } from 'express';

/**
 * A server-sent-events response: one `data:` event per write, and a `: keep-alive` comment
 * whenever the stream has been silent for `keepAliveMs`, so proxies do not cut a run whose model
 * is slow. `needsDrain` says the client is not keeping up: the writer should wait for `drained()`
 * before producing more, so a slow reader never makes the gateway hold a whole reply.
 */
export class SseStream {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Inside a burst: events written in the same tick after its first one, held for one write. */
  private corked = false;

  private readonly res: Response;
  private readonly keepAliveMs: number;

  constructor(res: Response, keepAliveMs: number) {
    this.res = res;
    this.keepAliveMs = keepAliveMs;
  }

  open(): void {
    this.res.status(200);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache');
    this.res.setHeader('Connection', 'keep-alive');
    this.res.setHeader('X-Accel-Buffering', 'no');
    // Headers are not flushed on their own: they leave with the first event, in one packet.
    this.res.socket?.setNoDelay(true);
    this.arm();
  }

  send(data: unknown): void {
    this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** A named event (`event: <name>`), as the Responses API streams them. */
  sendEvent(name: string, data: unknown): void {
    this.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  get needsDrain(): boolean {
    return this.res.writableNeedDrain;
  }

  /** Resolves when the client has taken what was written (or has gone away). */
  drained(): Promise<void> {
    if (!this.res.writableNeedDrain || this.res.destroyed) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Ends the stream; `done` writes the final `data: [DONE]` first (chat completions ends with it). */
  end(done = true): void {
    if (this.closed) return;
    if (done) this.write('data: [DONE]\n\n');
    this.closed = true;
    clearTimeout(this.timer);
    // Uncorked before end(): Node drops chunked data still corked in a response when it ends.
    this.flush();
    this.res.end();
  }

  /** Stops the keep-alive without writing (the client went away). */
  abandon(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.flush();
  }

  private write(text: string): void {
    if (this.closed || this.res.writableEnded) return;
    this.res.write(text);
    if (!this.corked) {
      // The first event of a burst leaves at once (time to first token); the rest of the events
      // parsed from the same upstream read go out together at the end of the tick, one write
      // instead of a syscall each (the profile's largest single cost on streams).
      this.corked = true;
      this.res.cork();
      process.nextTick(() => this.flush());
    }
    this.arm();
  }

  private flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.res.uncork();
  }

  private arm(): void {
    // refresh() re-arms the same timer: no allocation per chunk on the hot path.
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => this.comment('keep-alive'), this.keepAliveMs);
    this.timer.unref();
  }
}
