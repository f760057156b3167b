import { randomUUID } from 'node:crypto';
import { SessionBusyError } from './errors.ts';
import type { LockOptions, SessionLock } from './store.ts';

/** How a store keeps a lease row: taken when free or lapsed, renewed by its owner, dropped on release. */
export interface LeaseBackend {
  /** Takes the lease for `owner` until `expiresAt` if nobody else holds a live one; true when taken. */
  tryAcquire(key: string, owner: string, now: number, expiresAt: number): Promise<boolean>;
  /** Extends the owner's lease; false when it is no longer the owner's (lapsed and taken over). */
  renew(key: string, owner: string, expiresAt: number): Promise<boolean>;
  release(key: string, owner: string): Promise<void>;
}

export interface LeaseSettings {
  /** How long a lease lives without renewal: the longest a dead holder can block a session. */
  leaseMs: number;
  /** Longest pause between two attempts while another process holds the lease. */
  maxPollMs: number;
  now?: () => number;
}

/**
 * Session locks for a store shared between processes: one FIFO queue per key inside this process
 * (local waiters never poll), and a lease row in the store between processes, polled with backoff,
 * renewed at a third of its life while held.
 */
export class SessionLeases {
  private readonly tails = new Map<string, Promise<void>>();
  /** Locks still held, with their lease row's owner and what ends their renewal. */
  private readonly live = new WeakMap<SessionLock, { owner: string; dropLease: () => void }>();
  private readonly backend: LeaseBackend;
  private readonly settings: LeaseSettings;
  private readonly now: () => number;

  constructor(backend: LeaseBackend, settings: LeaseSettings) {
    this.backend = backend;
    this.settings = settings;
    this.now = settings.now ?? Date.now;
  }

  async lock(key: string, options: LockOptions): Promise<SessionLock> {
    const started = this.now();
    const deadline = started + options.timeoutMs;
    const previous = this.tails.get(key);
    let releaseLocal!: () => void;
    const done = new Promise<void>((resolve) => (releaseLocal = resolve));
    const tail = previous ? previous.then(() => done) : done;
    this.tails.set(key, tail);
    const dropLocal = () => {
      releaseLocal();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    try {
      if (previous) await waitTurn(previous, deadline - this.now(), options.signal, () => new SessionBusyError(key, options.timeoutMs));
      const owner = `${process.pid}:${randomUUID()}`;
      let pause = 2;
      while (!(await this.backend.tryAcquire(key, owner, this.now(), this.now() + this.settings.leaseMs))) {
        const left = deadline - this.now();
        if (left <= 0) throw new SessionBusyError(key, options.timeoutMs);
        await sleep(Math.min(pause, left), options.signal);
        pause = Math.min(pause * 2, this.settings.maxPollMs);
      }
      return this.held(key, owner, dropLocal);
    } catch (error) {
      dropLocal();
      throw error;
    }
  }

  private held(key: string, owner: string, dropLocal: () => void): SessionLock {
    const lost = new AbortController();
    const renewEvery = Math.max(50, Math.floor(this.settings.leaseMs / 3));
    let renewedAt = this.now();
    const timer = setInterval(() => {
      const expiresAt = this.now() + this.settings.leaseMs;
      this.backend.renew(key, owner, expiresAt).then(
        (kept) => {
          if (!kept) lost.abort(new Error(`lost the lease on session ${key}`));
          else renewedAt = expiresAt - this.settings.leaseMs;
        },
        // A store that cannot be reached for a moment keeps the lease until it lapses.
        () => undefined,
      );
    }, renewEvery);
    timer.unref();
    let released = false;
    let leaseDropped = false;
    const lock: SessionLock = {
      key,
      lost: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        this.live.delete(lock);
        try {
          if (!leaseDropped) await this.backend.release(key, owner);
        } catch (error) {
          this.retryRelease(key, owner, renewedAt + this.settings.leaseMs);
          throw error;
        } finally {
          dropLocal();
        }
      },
    };
    this.live.set(lock, {
      owner,
      dropLease: () => {
        leaseDropped = true;
        clearInterval(timer);
      },
    });
    return lock;
  }

  /**
   * The lease row's owner of a lock this process holds, for a store that deletes the row in the
   * same write as the run's last append (one write fewer per run); undefined for a lock that is
   * not ours or no longer held.
   */
  ownerOf(lock: SessionLock): string | undefined {
    return this.live.get(lock)?.owner;
  }

  /**
   * Says the store deleted the lock's lease row in a write that committed: renewal stops, and the
   * lock's `release()` only lets the next run of this process in.
   */
  leaseDropped(lock: SessionLock): void {
    this.live.get(lock)?.dropLease();
    this.live.delete(lock);
  }

  /**
   * A release the store could not take (it was unreachable) is tried again in the background until
   * the lease would have lapsed anyway: once the store is back, the session frees up at once
   * instead of at the end of the lease.
   */
  private retryRelease(key: string, owner: string, lapsesAt: number): void {
    const pause = Math.max(50, Math.floor(this.settings.leaseMs / 20));
    const attempt = () => {
      if (this.now() + pause >= lapsesAt) return;
      const timer = setTimeout(() => {
        this.backend.release(key, owner).then(() => undefined, attempt);
      }, pause);
      timer.unref();
    };
    attempt();
  }
}

function waitTurn(previous: Promise<void>, timeoutMs: number, signal: AbortSignal | undefined, busy: () => Error): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(busy()), Math.max(0, timeoutMs));
    const onAbort = () => finish(signal?.reason ?? new Error('aborted'));
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    previous.then(() => finish());
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
