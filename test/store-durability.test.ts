// sessions.durability: what the store's connections actually run with, read back from them (a
// SQLite pragma is per connection, so only the store's own connection can say).
import { mkdtempSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { openSessionStore } from '../src/sessions/open.ts';
import { SESSIONS_DB_FILE } from '../src/sessions/sqlite-store.ts';
import type { SessionStore } from '../src/sessions/store.ts';
import { checkPostgres, createTestDatabase, runSql, type TestDatabase } from './helpers/services.ts';

const turn = (text: string) => ({ messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text }] }], meta: {} });

describe('sessions.durability', () => {
  it('is "normal" unless set, and nothing but normal or full', () => {
    expect(parseConfig({}, {}).sessions.durability).toBe('normal');
    expect(parseConfig({ sessions: { durability: 'full' } }, {}).sessions.durability).toBe('full');
    expect(() => parseConfig({ sessions: { durability: 'fast' } }, {})).toThrow(/durability/);
  });

  for (const [setting, pragma] of [
    ['normal', 'NORMAL'],
    ['full', 'FULL'],
  ] as const) {
    it(`SQLite: "${setting}" runs the store's connection with WAL and synchronous = ${pragma}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'openclaw-durability-'));
      const store = await openSessionStore(parseConfig({ sessions: { durability: setting } }, {}), dir);
      try {
        expect(await store.commitDurability!()).toBe(pragma);
        await store.appendTurn('agent:main:d', turn('kept'), { expectedPosition: 0 });
        // WAL is the file's own mode: another connection sees it (and the committed turn).
        const other = new DatabaseSync(join(dir, SESSIONS_DB_FILE));
        expect(other.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
        expect(other.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 1 });
        other.close();
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

const postgres = await checkPostgres();

describe.skipIf(postgres.skip)('sessions.durability on PostgreSQL', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('"normal" keeps the database\'s synchronous_commit; "full" sets it on for every connection of the store', async () => {
    if (postgres.problem) throw new Error(postgres.problem);
    database = await createTestDatabase('durability');
    // A database set for asynchronous commit: what `full` is there to override.
    await runSql(database.url, `ALTER DATABASE ${database.name} SET synchronous_commit = off`);
    const open = (durability: string, poolSize: number) =>
      openSessionStore(parseConfig({ sessions: { durability, store: { driver: 'postgres', url: database!.url, poolSize } } }, {}), '/nonexistent', { poolSize });
    const stores: SessionStore[] = [];
    try {
      const normal = await open('normal', 1);
      stores.push(normal);
      expect(await normal.commitDurability!()).toBe('off');
      const full = await open('full', 3);
      stores.push(full);
      // Three at once: each on its own connection of the pool, every one of them set.
      expect(await Promise.all([full.commitDurability!(), full.commitDurability!(), full.commitDurability!()])).toEqual(['on', 'on', 'on']);
      await full.appendTurn('agent:main:d', turn('kept'), { expectedPosition: 0 });
      expect((await normal.loadTranscript('agent:main:d')).position).toBe(1);
    } finally {
      for (const store of stores) await store.close();
    }
  });
});
