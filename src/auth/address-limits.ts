import { RateLimitError } from '../errors.ts';
import { lockoutKey } from './client-address.ts';

/**
 * Counts what each client address holds at once (open connections, runs in flight) against a
 * limit. Keys are lockout keys (an IPv6 client counts as its /64, see `lockoutKey`). A key whose
 * count falls to zero is forgotten, so the map holds only the addresses holding something now.
 */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  /**
   * Takes one slot for `key` unless `limit` are taken already (`limit` 0: no limit). Returns the
   * release (idempotent), or undefined when the address is at its limit.
   */
  tryAcquire(key: string, limit: number): (() => void) | undefined {
    const held = this.counts.get(key) ?? 0;
    if (limit > 0 && held >= limit) return undefined;
    this.counts.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }

  /** What `key` holds now. */
  held(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Everything held, over all addresses. */
  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  /** How many addresses hold anything. */
  get addresses(): number {
    return this.counts.size;
  }
}

/**
 * One run slot of `address` (an IPv6 client's /64), or a 429 `too_many_concurrent_runs` naming the
 * limit when it has `limit` runs in flight already. Taken before the run's first byte; the caller
 * releases it when the run has ended.
 */
export function takeRunSlot(runs: AddressCounter, address: string, limit: number, refused?: () => void): () => void {
  const release = runs.tryAcquire(lockoutKey(address), limit);
  if (release) return release;
  refused?.();
  throw new RateLimitError(`This client address already has ${limit} runs in flight, its limit (gateway.http.maxConcurrentRunsPerAddress); send this one again when one of them has ended.`, {
    code: 'too_many_concurrent_runs',
    retryAfterSeconds: 1,
  });
}
