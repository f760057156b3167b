import type { Logger } from 'pino';
import { parseDuration } from '../config/duration.ts';
import type { SessionStore } from './store.ts';

const HOURLY_MS = 3_600_000;

/**
 * Applies `sessions.retention`: deletes the sessions not updated for that long, at start, when
 * asked (the setting changed), and hourly. The setting is read at each pass, so a config reload
 * applies without a restart; unset, nothing is deleted.
 */
export class SessionRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  private readonly store: SessionStore;
  private readonly setting: () => string | undefined;
  private readonly logger: Logger;

  constructor(options: { store: SessionStore; setting: () => string | undefined; logger: Logger }) {
    this.store = options.store;
    this.setting = options.setting;
    this.logger = options.logger;
  }

  start(): void {
    void this.runNow();
    this.timer = setInterval(() => void this.runNow(), HOURLY_MS);
    this.timer.unref();
  }

  /** One pass with the current setting; resolves with how many sessions it deleted. */
  runNow(): Promise<number> {
    this.running ??= this.prune().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the schedule and waits for a pass in progress (the store closes after it). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async prune(): Promise<number> {
    const retention = this.setting();
    const maxAgeMs = retention === undefined ? undefined : parseDuration(retention);
    if (this.stopped || maxAgeMs === undefined) return 0;
    const updatedBefore = Date.now() - maxAgeMs;
    try {
      const deleted = await this.store.pruneSessions(updatedBefore);
      if (deleted > 0) {
        this.logger.info({ event: 'sessions.pruned', deleted, retention, updatedBefore: new Date(updatedBefore).toISOString() }, `deleted ${deleted} sessions older than ${retention}`);
      }
      return deleted;
    } catch (error) {
      this.logger.warn({ event: 'sessions.prune_failed', retention, reason: (error as Error).message }, 'pruning old sessions failed; trying again at the next pass');
      return 0;
    }
  }
}
