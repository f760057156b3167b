// The session store drivers the store conformance suite runs against. Each makes a fresh, empty
// store per test (and a second store on the same data, as another process would open it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSessionStore } from '../../src/sessions/sqlite-store.ts';
import type { SessionStore } from '../../src/sessions/store.ts';

export interface StoreDriver {
  name: string;
  /** A fresh, empty store; `peer()` opens the same data again (another process sharing it). */
  create(options?: { lockLeaseMs?: number }): Promise<{ store: SessionStore; peer(): Promise<SessionStore>; cleanup(): Promise<void> }>;
}

export const sqliteDriver: StoreDriver = {
  name: 'sqlite',
  async create(options = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'openclaw-store-'));
    const file = join(dir, 'sessions.sqlite');
    const opened: SessionStore[] = [];
    const open = () => {
      const store = new SqliteSessionStore(file, { lockLeaseMs: options.lockLeaseMs });
      opened.push(store);
      return store;
    };
    return {
      store: open(),
      peer: async () => open(),
      async cleanup() {
        for (const store of opened) await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const storeDrivers: StoreDriver[] = [sqliteDriver];
