import type { Response } from 'express';

/**
 * A server-sent-events response: one `data:` event per write, and a `: keep-alive` comment
 * whenever the stream has been silent for `keepAliveMs`, so proxies do not cut a run whose model
 * is slow. `needsDrain` says the client is not keeping up: the writer should wait for `drained()`
 * before producing more, so a slow reader never makes the gateway hold a whole reply.
 */
/** A burst held for the end of its tick beyond this many characters counts as a full buffer. */
const HELD_BURST_LIMIT = 64 * 1024;

export class SseStream {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Events written in the current tick, sent together at its end: one socket write per burst
   * (the events parsed from one upstream read) instead of one per event. On loopback each write
   * is a system call costing tens of microseconds, the largest single cost of a stream in the
   * profile; holding a burst to the end of its tick delays its first event by microseconds.
   */
  private pending: string | undefined;

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
    return this.res.writableNeedDrain || (this.pending !== undefined && this.pending.length > HELD_BURST_LIMIT);
  }

  /** Resolves when the client has taken what was written (or has gone away). */
  drained(): Promise<void> {
    this.flush();
    if (!this.res.writableNeedDrain || this.res.destroyed) return Promise.resolve();
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
    // What is still held leaves with the end of the response, in the same write.
    const last = this.pending;
    this.pending = undefined;
    if (this.res.writableEnded) return;
    if (last === undefined) this.res.end();
    else this.res.end(last);
  }

  /** Stops the keep-alive without writing (the client went away). */
  abandon(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.pending = undefined;
  }

  private write(text: string): void {
    if (this.closed || this.res.writableEnded) return;
    if (this.pending === undefined) {
      this.pending = text;
      process.nextTick(this.flushLater);
    } else {
      this.pending += text;
    }
    this.arm();
  }

  private readonly flushLater = () => this.flush();

  private flush(): void {
    const text = this.pending;
    if (text === undefined) return;
    this.pending = undefined;
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(text);
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
