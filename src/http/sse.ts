import type { Response } from 'express';

/**
 * A server-sent-events response: headers flushed at once, one `data:` event per write, and a
 * `: keep-alive` comment whenever the stream has been silent for `keepAliveMs`, so proxies do not
 * cut a run whose model is slow to start.
 */
export class SseStream {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

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
    this.res.end();
  }

  /** Stops the keep-alive without writing (the client went away). */
  abandon(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private write(text: string): void {
    if (this.closed || this.res.writableEnded) return;
    this.res.write(text);
    this.arm();
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
