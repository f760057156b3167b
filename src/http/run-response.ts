import type { Response } from 'express';
import type { GatewayError } from '../errors.ts';
import type { RunEvent, RunResult } from '../runs/events.ts';
import { sendError } from './errors.ts';
import { SseStream } from './sse.ts';

/** How one wire format writes a run over SSE; the commitment rules and backpressure are `streamRun`'s. */
export interface SseRenderer {
  /** The stream was committed to (200 sent): write the opening events. */
  open(sse: SseStream): void;
  event(sse: SseStream, event: RunEvent): void;
  finished(sse: SseStream, result: RunResult): void;
  /** The run failed after the stream was committed: tell the client in the stream, then end it. */
  failed(sse: SseStream, error: GatewayError): void;
}

/**
 * Renders a run as server-sent events. Nothing is sent until the run has been accepted by its
 * first model (or the first keep-alive falls due, whichever comes first): a run that fails before
 * (unreachable or refusing provider, a busy session that times out) gets a real error status, as
 * OpenAI gives it, rather than a 200 followed by an error event. After that the events stream as
 * they come, and the next one is pulled only once the client has taken the last (backpressure).
 */
export async function streamRun(res: Response, events: AsyncGenerator<RunEvent>, renderer: SseRenderer, keepAliveMs: number): Promise<void> {
  // One async frame for the whole stream, not a wrapper awaiting a second one: every open stream
  // holds its suspended frames (register file, promise, context) for as long as it is open.
  const sse = new SseStream(res, keepAliveMs);
  let next = events.next();
  let opened = false;
  const open = () => {
    opened = true;
    sse.open();
    renderer.open(sse);
  };
  try {
    while (!opened) {
      let timer: NodeJS.Timeout | undefined;
      const silence = new Promise<'silent'>((resolve) => (timer = setTimeout(resolve, keepAliveMs, 'silent')));
      const first = await Promise.race([next, silence]);
      clearTimeout(timer);
      if (first === 'silent') {
        // Waiting (a busy session, a slow provider) counts as silence: the stream opens to keep
        // proxies from cutting it.
        open();
        sse.comment('keep-alive');
        break;
      }
      if (first.done) return void res.end();
      const event = first.value;
      if (event.type === 'run.failed') {
        if (!res.destroyed) sendError(res, event.error);
        return;
      }
      open();
      next = events.next();
      if (deliver(sse, renderer, event, res)) return;
    }
    for (;;) {
      const { value: event, done } = await next;
      if (done) break;
      if (deliver(sse, renderer, event, res)) return;
      if (sse.needsDrain) await sse.drained();
      next = events.next();
    }
  } finally {
    // Lets the run finish its bookkeeping (lock release, counters) once the last event is written.
    await events.return(undefined);
  }
}

/** Writes one event; true when it ended the stream. */
function deliver(sse: SseStream, renderer: SseRenderer, event: RunEvent, res: Response): boolean {
  if (event.type === 'run.finished') {
    renderer.finished(sse, event.result);
    return true;
  }
  if (event.type === 'run.failed') {
    if (res.destroyed || event.error.kind === 'aborted') sse.abandon();
    else {
      res.locals.errorCode = event.error.code;
      res.locals.streamError = true;
      renderer.failed(sse, event.error);
    }
    return true;
  }
  renderer.event(sse, event);
  return false;
}

/** Waits for the run's end and answers with one JSON body (or the error). */
export async function respondWhenDone(res: Response, events: AsyncGenerator<RunEvent>, body: (result: RunResult) => unknown): Promise<void> {
  for await (const event of events) {
    if (event.type === 'run.finished') {
      sendJson(res, body(event.result));
      return;
    }
    if (event.type === 'run.failed') {
      if (!res.destroyed) sendError(res, event.error);
      return;
    }
  }
}

/**
 * What `res.json` sends, written directly: express's version also looks the type up, parses it
 * back to set its charset and checks freshness for an ETag this app never sets, a few
 * microseconds per answer on the hot path for the same bytes.
 */
function sendJson(res: Response, value: unknown): void {
  const text = JSON.stringify(value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
