import type { Logger } from 'pino';

/**
 * Work a run owes that nothing in the run waits for (a tool call's log line and metrics), done
 * once the run's next model call is on its way instead of before it. After a tool step the next
 * thing the run does is call the model again, and the upstream connection writes that request in
 * the event loop's check phase (undici first lets a reused keep-alive socket report what it may
 * have received while idle); work queued for the check phase after that one runs while the
 * upstream is answering, rather than in front of the request. `flush()` does what is still
 * pending at once: the run calls it once the transport has written the run's end (the upstream
 * may answer before the check phase comes round), in the same turn of the event loop, so whatever
 * reads the log or the metrics after it has its answer sees all of it.
 */
export class AfterDispatch {
  private pending: Array<() => void> = [];
  private scheduled = false;
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  add(work: () => void): void {
    this.pending.push(work);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() =>
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      }),
    );
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const work = this.pending;
    this.pending = [];
    for (const item of work) {
      try {
        item();
      } catch (error) {
        // Out of the run's own flow now: a failure here must not take the process down.
        this.logger.error({ event: 'run.deferred_failed', err: error }, 'could not record a tool call');
      }
    }
  }
}
