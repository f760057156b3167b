// The session store drivers the store conformance suite runs against. Each makes a fresh, empty
// store per test (and a second store on the same data, as another process would open it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresSessionStore } from '../../src/sessions/postgres-store.ts';
import { SqliteSessionStore } from '../../src/sessions/sqlite-store.ts';
import type { SessionStore } from '../../src/sessions/store.ts';
import { checkPostgres, createTestDatabase, runSql, type TestDatabase } from './services.ts';

export interface StoreDriver {
  name: string;
  /** A fresh, empty store; `peer()` opens the same data again (another process sharing it). */
  create(options?: { lockLeaseMs?: number }): Promise<{ store: SessionStore; peer(): Promise<SessionStore>; cleanup(): Promise<void> }>;
  /** After the last test of a file: drops what `create` set up once for the file. */
  teardown?(): Promise<void>;
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

/** One database per test file (created on first use, dropped in teardown), emptied for each test. */
export function postgresDriver(): StoreDriver {
  let database: Promise<TestDatabase> | undefined;
  return {
    name: 'postgres',
    async create(options = {}) {
      const postgres = await checkPostgres();
      if (postgres.problem) throw new Error(postgres.problem);
      database ??= createTestDatabase('store');
      const { url } = await database;
      const opened: SessionStore[] = [];
      const open = async () => {
        const store = await PostgresSessionStore.open({ url, poolSize: 4, lockLeaseMs: options.lockLeaseMs });
        opened.push(store);
        return store;
      };
      const store = await open();
      // DELETE rather than TRUNCATE: on tables this small it is several times faster.
      await runSql(url, 'DELETE FROM sessions; DELETE FROM messages; DELETE FROM turns; DELETE FROM session_locks; DELETE FROM responses');
      return {
        store,
        peer: open,
        async cleanup() {
          for (const each of opened) await each.close();
        },
      };
    },
    async teardown() {
      if (database) await (await database).drop();
    },
  };
}

const postgres = await checkPostgres();
export const storeDrivers: StoreDriver[] = postgres.skip ? [sqliteDriver] : [sqliteDriver, postgresDriver()];
