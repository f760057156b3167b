import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCliConfig } from './load-config.ts';
import { runSessionsMigrate } from './sessions-migrate-command.ts';
import { describeResponse, describeTurnMeta, formatTable, renderMessage, storedResponses } from './sessions-print.ts';
import { parseDuration } from '../config/duration.ts';
import { backupSqliteStore } from '../sessions/sqlite-backup.ts';
import type { Command } from 'commander';
import { resolveStateDir } from '../config/load.ts';
import { describeSessionStore, openSessionStore } from '../sessions/open.ts';
import { SESSIONS_DB_FILE } from '../sessions/sqlite-store.ts';
import type { SessionStore } from '../sessions/store.ts';

type Env = Record<string, string | undefined>;

/**
 * `openclaw sessions list|show|delete|prune|backup|migrate`: the store the config names
 * (`sessions.store`), as the gateway opens it; safe while gateways run (SQLite WAL, PostgreSQL
 * transactions).
 */
export function registerSessionsCommand(program: Command, env: Env, setExit: (code: number) => void): void {
  const sessions = program
    .command('sessions')
    .description('List, show, delete, prune, back up or migrate stored sessions (the store sessions.store names: SQLite under OPENCLAW_STATE_DIR by default, or PostgreSQL).')
    .option('-c, --config <file>', 'JSON5 config file (default: OPENCLAW_CONFIG_PATH, then <state dir>/openclaw.json)')
    .option('--state-dir <dir>', 'state folder holding the session store (default: OPENCLAW_STATE_DIR, then ~/.openclaw)');
  /** The environment a sessions subcommand runs in: --state-dir and --config stand in for their variables. */
  const envOf = (command: Command): Env => {
    const { stateDir, config } = command.optsWithGlobals<{ stateDir?: string; config?: string }>();
    return { ...env, ...(stateDir ? { OPENCLAW_STATE_DIR: stateDir } : {}), ...(config ? { OPENCLAW_CONFIG_PATH: config } : {}) };
  };

  sessions
    .command('list')
    .description('List sessions, most recently updated first.')
    .option('-a, --agent <id>', 'only sessions of this agent')
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; json?: boolean }, command: Command) => {
      setExit(
        await withStore(envOf(command), async (store) => {
          const list = await store.listSessions(options.agent ? { agentId: options.agent.toLowerCase() } : {});
          if (options.json) {
            process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
            return 0;
          }
          if (list.length === 0) {
            process.stdout.write('No sessions.\n');
            return 0;
          }
          const rows = list.map((s) => [s.key, s.agentId, String(s.turnCount), String(s.messageCount), new Date(s.updatedAt).toISOString()]);
          process.stdout.write(formatTable(['KEY', 'AGENT', 'TURNS', 'MESSAGES', 'UPDATED'], rows));
          return 0;
        }, { missingOk: true, json: options.json }),
      );
    });

  sessions
    .command('show')
    .description('Print a session transcript.')
    .argument('<key>', 'full session key, e.g. agent:main:openai-user:alice')
    .option('--json', 'print the messages as JSON')
    .option('-n, --last <count>', 'only the last <count> messages')
    .action(async (key: string, options: { json?: boolean; last?: string }, command: Command) => {
      setExit(
        await withStore(envOf(command), async (store) => {
          const summary = (await store.listSessions({ agentId: agentOf(key) })).find((s) => s.key === key);
          if (!summary) {
            process.stderr.write(`openclaw: no session ${key}\n`);
            return 1;
          }
          let lastMessages: number | undefined;
          if (options.last !== undefined) {
            if (!/^\d+$/.test(options.last)) {
              process.stderr.write('openclaw: --last must be a non-negative integer\n');
              return 2;
            }
            lastMessages = Number(options.last);
          }
          const turns = await store.listTurns(key);
          const responses = await storedResponses(store, turns);
          let messages = turns.flatMap((turn) => turn.messages.map((message) => ({ turn, message })));
          if (lastMessages !== undefined) messages = lastMessages === 0 ? [] : messages.slice(-lastMessages);
          if (options.json) {
            const shown = new Set(messages.map((entry) => entry.turn));
            const out = {
              ...summary,
              turns: [...shown].map((turn) => ({
                turn: turn.turn,
                meta: turn.meta,
                ...(turn.meta.responseId ? { response: responses.get(turn.meta.responseId) } : {}),
                messages: messages.filter((entry) => entry.turn === turn).map((entry) => entry.message),
              })),
            };
            process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
            return 0;
          }
          process.stdout.write(`Session ${key} (agent ${summary.agentId}, ${summary.turnCount} turns, ${summary.messageCount} messages)\n\n`);
          let current: unknown;
          for (const { turn, message } of messages) {
            if (turn !== current) {
              current = turn;
              process.stdout.write(`── turn ${turn.turn}${describeTurnMeta(turn.meta)}\n`);
              const response = turn.meta.responseId ? responses.get(turn.meta.responseId) : undefined;
              if (response) process.stdout.write(`   ${describeResponse(response)}\n`);
              process.stdout.write('\n');
            }
            process.stdout.write(`${renderMessage(message)}\n\n`);
          }
          return 0;
        }),
      );
    });

  sessions
    .command('delete')
    .description('Delete a session and its transcript.')
    .argument('<key>', 'full session key')
    .action(async (key: string, _options: unknown, command: Command) => {
      setExit(
        await withStore(envOf(command), async (store) => {
          if (await store.deleteSession(key)) {
            process.stdout.write(`Deleted session ${key}\n`);
            return 0;
          }
          process.stderr.write(`openclaw: no session ${key}\n`);
          return 1;
        }),
      );
    });

  sessions
    .command('prune')
    .description('Delete sessions not updated for a while (and their stored responses).')
    .option('--older-than <age>', 'age such as 30d, 12h, 2w (s, m = minutes, h, d, w); default: sessions.retention from the config')
    .option('--dry-run', 'only count what would be deleted')
    .addHelpText('after', '\nExample:\n  openclaw sessions prune --older-than 30d')
    .action(async (options: { olderThan?: string; dryRun?: boolean }, command: Command) => {
      const scoped = envOf(command);
      let age = options.olderThan;
      if (age === undefined) {
        const loaded = loadCliConfig(undefined, scoped);
        if (!loaded) return setExit(2);
        age = loaded.config.sessions.retention;
        if (age === undefined) {
          process.stderr.write('openclaw: give --older-than (e.g. 30d), or set sessions.retention in the config\n');
          return setExit(2);
        }
      }
      const maxAgeMs = parseDuration(age);
      if (maxAgeMs === undefined) {
        process.stderr.write(`openclaw: --older-than ${JSON.stringify(age)}: must be a whole number and a unit: s, m (minutes), h, d or w (e.g. 30d)\n`);
        return setExit(2);
      }
      const updatedBefore = Date.now() - maxAgeMs;
      const since = new Date(updatedBefore).toISOString();
      setExit(
        await withStore(scoped, async (store) => {
          if (options.dryRun) {
            const stale = (await store.listSessions()).filter((session) => session.updatedAt < updatedBefore);
            process.stdout.write(`Would delete ${stale.length} sessions not updated since ${since} (older than ${age}).\n`);
            return 0;
          }
          const deleted = await store.pruneSessions(updatedBefore);
          process.stdout.write(`Deleted ${deleted} sessions not updated since ${since} (older than ${age}).\n`);
          return 0;
        }, { missingOk: true, emptyMessage: 'No session store yet; nothing to prune.\n' }),
      );
    });

  sessions
    .command('backup')
    .description('Copy the session store to <file>, consistently, while the gateway keeps running (SQLite online backup).')
    .argument('<file>', 'the copy to write (must not exist unless --force)')
    .option('-f, --force', 'replace <file> if it exists')
    .addHelpText(
      'after',
      `
The copy is the store as of one moment, in one file. To restore: stop the gateway, move
sessions.sqlite, sessions.sqlite-wal and sessions.sqlite-shm out of the state dir, copy the backup
in as sessions.sqlite, start the gateway.

Example:
  openclaw sessions backup /var/backups/openclaw/sessions-$(date +%F).sqlite`,
    )
    .action(async (file: string, options: { force?: boolean }, command: Command) => {
      const loaded = loadCliConfig(undefined, envOf(command));
      if (!loaded) return setExit(2);
      if (loaded.config.sessions.store.driver === 'postgres') {
        process.stderr.write('openclaw: the session store is PostgreSQL: back it up with pg_dump (see docs/operations.md); this command copies the embedded SQLite store\n');
        return setExit(2);
      }
      const source = join(resolveStateDir(envOf(command)), SESSIONS_DB_FILE);
      try {
        const result = await backupSqliteStore(source, resolve(file), { overwrite: options.force });
        process.stdout.write(`Backed up ${source} to ${result.destination}: ${result.sessions} sessions, schema version ${result.schemaVersion}, ${Math.ceil(result.bytes / 1024)} KiB.\n`);
        setExit(0);
      } catch (error) {
        process.stderr.write(`openclaw: backup failed: ${(error as Error).message}\n`);
        setExit(1);
      }
    });

  sessions
    .command('migrate')
    .description('Copy an embedded SQLite session store into PostgreSQL (sessions with their turns and meta, stored responses). Safe to run again: what PostgreSQL has already is left as it is.')
    .option('--from <store>', 'sqlite:<file> (default: the SQLite store under the state dir)')
    .option('--to <store>', 'postgres:<url> (default: sessions.store.url from the config)')
    .addHelpText(
      'after',
      `
Example:
  openclaw sessions migrate --from sqlite:$HOME/.openclaw/sessions.sqlite --to postgres:postgres://openclaw@db:5432/openclaw`,
    )
    .action(async (options: { from?: string; to?: string }, command: Command) => {
      setExit(await runSessionsMigrate(options, envOf(command)));
    });
}

async function withStore(
  env: Env,
  work: (store: SessionStore) => Promise<number>,
  opts: { missingOk?: boolean; json?: boolean; emptyMessage?: string } = {},
): Promise<number> {
  const loaded = loadCliConfig(undefined, env);
  if (!loaded) return 2;
  const { config } = loaded;
  const stateDir = resolveStateDir(env);
  if (config.sessions.store.driver === 'sqlite' && !existsSync(join(stateDir, SESSIONS_DB_FILE))) {
    // Reading must not create a store where there is none.
    if (opts.missingOk) {
      process.stdout.write(opts.json ? '[]\n' : (opts.emptyMessage ?? 'No sessions.\n'));
      return 0;
    }
    process.stderr.write(`openclaw: no session store at ${describeSessionStore(config, stateDir)}\n`);
    return 1;
  }
  let store: SessionStore;
  try {
    store = await openSessionStore(config, stateDir, { poolSize: 2 });
  } catch (error) {
    process.stderr.write(`openclaw: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    return await work(store);
  } catch (error) {
    process.stderr.write(`openclaw: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

function agentOf(key: string): string | undefined {
  return /^agent:([^:]+):/.exec(key)?.[1];
}
