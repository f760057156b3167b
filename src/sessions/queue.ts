import { GatewayTimeoutError } from '../errors.ts';

/**
 * One run at a time per session key, in arrival order; different keys never wait on each other.
 * A waiter that gives up (timeout or abort) releases its place at once, so the order of the rest
 * is kept.
 */
export class SessionQueue {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, options: { timeoutMs: number; signal?: AbortSignal }, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => done) : done;
    this.tails.set(key, tail);
    try {
      if (previous) await waitFor(previous, options.timeoutMs, options.signal, key);
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a run in progress or waiting. */
  get activeKeys(): number {
    return this.tails.size;
  }
}

function waitFor(previous: Promise<void>, timeoutMs: number, signal: AbortSignal | undefined, key: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new GatewayTimeoutError(`Session ${key} was busy with an earlier run for longer than the agent timeout (${Math.round(timeoutMs / 1000)} s).`, { code: 'session_busy' }));
    }, timeoutMs);
    const onAbort = () => {
      cleanup();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    previous.then(() => {
      cleanup();
      resolve();
    });
  });
}
