// What only the PostgreSQL store has: its migrations (applied once when many processes start
// together, refused when the database is newer than the gateway) and how it fails at start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_SCHEMA_VERSION } from '../src/sessions/postgres-migrations.ts';
import { PostgresSessionStore } from '../src/sessions/postgres-store.ts';
import { checkPostgres, createTestDatabase, runSql, type TestDatabase } from './helpers/services.ts';

const postgres = await checkPostgres();

describe.skipIf(postgres.skip)('PostgresSessionStore', () => {
  const databases: TestDatabase[] = [];
  const fresh = async () => {
    const database = await createTestDatabase('migrate');
    databases.push(database);
    return database;
  };

  beforeAll(() => {
    if (postgres.problem) throw new Error(postgres.problem);
  });

  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it('eight stores opened at the same moment on an empty database apply each migration once, and all of them work', async () => {
    const { url } = await fresh();
    const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresSessionStore.open({ url, poolSize: 1 })));
    try {
      expect(await runSql(url, 'SELECT version, description FROM openclaw_migrations ORDER BY version')).toEqual([
        { version: 1, description: 'sessions, messages, turns with meta, session leases, stored responses' },
      ]);
      expect(await stores[0].schemaVersion()).toBe(PG_SCHEMA_VERSION);
      await Promise.all(stores.map((store, i) => store.appendTurn(`agent:main:s${i}`, { messages: [{ role: 'user', content: [{ type: 'text', text: `${i}` }] }], meta: {} }, { expectedPosition: 0 })));
      expect((await stores[7].listSessions()).length).toBe(8);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('refuses a database migrated by a newer gateway, naming both versions', async () => {
    const { url } = await fresh();
    await (await PostgresSessionStore.open({ url, poolSize: 1 })).close();
    await runSql(url, 'INSERT INTO openclaw_migrations (version, description, applied_at) VALUES (99, $1, 0)', ['from the future']);
    await expect(PostgresSessionStore.open({ url, poolSize: 1 })).rejects.toThrow(/schema version 99 is newer than this gateway understands \(1\); upgrade the gateway/);
  });

  it('a database that cannot be reached at start is an error naming it, without its password', async () => {
    const opening = PostgresSessionStore.open({ url: 'postgres://gw:top-secret@127.0.0.1:1/openclaw', poolSize: 1, connectTimeoutMs: 2_000 });
    await expect(opening).rejects.toThrow(/^Cannot open the session store postgres:\/\/gw:\*\*\*@127\.0\.0\.1:1\/openclaw: cannot reach the database \(ECONNREFUSED/);
    await expect(opening).rejects.not.toThrow(/top-secret/);
  });
});
