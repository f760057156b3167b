import { Worker } from 'node:worker_threads';
import type { BodyCheck, BodyVerdict } from './body-worker.ts';

/**
 * One worker thread that checks large request bodies (src/http/body-worker.ts), started at the
 * first one and ended with the gateway. One is enough: large bodies are rare, a second would
 * double the validator's memory, and while it works the main thread serves everyone else. A check
 * the worker cannot do (it died, it could not start) answers `failed`, and the body is then
 * checked on the main thread as a small one is.
 */
export class BodyCheckPool {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (verdict: BodyVerdict) => void>();
  private closed = false;
  /** Bodies the worker checked, and those it could not (checked on the main thread instead). */
  readonly stats = { checked: 0, failed: 0 };

  /** Bodies with the worker now. */
  get inFlight(): number {
    return this.pending.size;
  }

  check(request: Omit<BodyCheck, 'id'>): Promise<BodyVerdict> {
    const id = this.nextId++;
    if (this.closed) return Promise.resolve({ id, kind: 'failed', reason: 'closed' });
    const worker = this.start();
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      // A copy of the bytes is handed over (the request keeps its own): transferring costs nothing more.
      const body = new Uint8Array(request.body);
      worker.postMessage({ ...request, id, body } satisfies BodyCheck, [body.buffer]);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./body-worker.ts', import.meta.url));
    // An idle worker does not keep the process alive; a check in flight holds a request that does.
    worker.unref();
    worker.on('message', (verdict: BodyVerdict) => {
      const resolve = this.pending.get(verdict.id);
      this.pending.delete(verdict.id);
      if (verdict.kind === 'failed') this.stats.failed++;
      else this.stats.checked++;
      resolve?.(verdict);
    });
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, resolve] of this.pending) {
        this.stats.failed++;
        resolve({ id, kind: 'failed', reason });
      }
      this.pending.clear();
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exited with ${code}`));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
