import type { Response } from 'express';

/**
 * A server-sent-events response: headers flushed at once, one `data:` event per write, and a
 * `: keep-alive` comment whenever the stream has been silent for `keepAliveMs`, so proxies do not
 * cut a run whose model is slow to start.
 */
export class SseStream {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Inside a burst: events relayed in the same tick after its first one, held for one write. */
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

  end(): void {
    if (this.closed) return;
    this.write('data: [DONE]\n\n');
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
    this.timer = setTimeout(() => this.write(': keep-alive\n\n'), this.keepAliveMs);
    this.timer.unref();
  }
}
