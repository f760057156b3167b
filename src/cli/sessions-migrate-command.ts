// `openclaw sessions migrate`: where to copy from and to (flags, else the state dir and the
// config), checked before either store is opened, then the copy (src/sessions/migrate.ts) and its
// report in the operator's terms.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCliConfig } from './load-config.ts';
import { resolveStateDir } from '../config/load.ts';
import { migrateSqliteToPostgres } from '../sessions/migrate.ts';
import { PostgresSessionStore } from '../sessions/postgres-store.ts';
import { SESSIONS_DB_FILE, SqliteSessionStore } from '../sessions/sqlite-store.ts';

/** `openclaw sessions migrate`: its exit code, after printing what was copied or why nothing was. */
export async function runSessionsMigrate(options: { from?: string; to?: string }, env: Record<string, string | undefined>): Promise<number> {
  let file: string;
  let url: string | undefined;
  if (options.from !== undefined) {
    if (!options.from.startsWith('sqlite:') || options.from.length === 'sqlite:'.length) {
      process.stderr.write('openclaw: --from must be sqlite:<file>\n');
      return 2;
    }
    file = resolve(options.from.slice('sqlite:'.length));
  } else {
    file = join(resolveStateDir(env), SESSIONS_DB_FILE);
  }
  if (options.to !== undefined) {
    url = /^postgres(?:ql)?:\/\//.test(options.to) ? options.to : options.to.startsWith('postgres:') ? options.to.slice('postgres:'.length) : undefined;
    if (!url || !/^postgres(?:ql)?:\/\//.test(url)) {
      process.stderr.write('openclaw: --to must be postgres:<url>, the URL as postgres://user:password@host:5432/database\n');
      return 2;
    }
  } else {
    const loaded = loadCliConfig(undefined, env);
    if (!loaded) return 2;
    if (loaded.config.sessions.store.driver !== 'postgres') {
      process.stderr.write('openclaw: say where to copy to: --to postgres:<url>, or a config whose sessions.store.driver is "postgres"\n');
      return 2;
    }
    url = loaded.config.sessions.store.url!;
  }
  if (!existsSync(file)) {
    process.stderr.write(`openclaw: no SQLite session store at ${file}\n`);
    return 1;
  }
  let from: SqliteSessionStore | undefined;
  let to: PostgresSessionStore | undefined;
  try {
    from = new SqliteSessionStore(file);
    to = await PostgresSessionStore.open({ url, poolSize: 2 });
    process.stdout.write(`Copying ${file} into ${to.location}\n`);
    const report = await migrateSqliteToPostgres(from, to);
    process.stdout.write(
      `Copied ${report.sessionsCopied} sessions (${report.messagesCopied} messages) and ${report.responsesCopied} stored responses; ` +
        `${report.sessionsAlreadyThere} sessions and ${report.responsesAlreadyThere} responses were there already.\n`,
    );
    for (const differing of report.sessionsDiffering) {
      process.stdout.write(`Kept ${differing.key} as PostgreSQL has it (${differing.target} messages there, ${differing.source} in SQLite): it was used after an earlier migration.\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`openclaw: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await from?.close();
    await to?.close();
  }
}
