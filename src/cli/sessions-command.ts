import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { contentText, type MessageRecord, type TurnMeta } from '../records/record.ts';
import { resolveStateDir } from '../config/load.ts';
import { migrateSqliteToPostgres } from '../sessions/migrate.ts';
import { describeSessionStore, openSessionStore } from '../sessions/open.ts';
import { PostgresSessionStore } from '../sessions/postgres-store.ts';
import { SESSIONS_DB_FILE, SqliteSessionStore } from '../sessions/sqlite-store.ts';
import type { SessionStore } from '../sessions/store.ts';
import { loadCliConfig } from './load-config.ts';

type Env = Record<string, string | undefined>;

const CONFIG_HELP = 'JSON5 config file whose sessions.store is used (default: OPENCLAW_CONFIG_PATH, then ~/.openclaw/openclaw.json)';

/**
 * `openclaw sessions list|show|delete|migrate`: the store the config names (`sessions.store`), as
 * the gateway opens it; safe while gateways run (SQLite WAL, PostgreSQL transactions).
 */
export function registerSessionsCommand(program: Command, env: Env, setExit: (code: number) => void): void {
  const sessions = program
    .command('sessions')
    .description('List, show, delete or migrate stored sessions (the store sessions.store names: SQLite under OPENCLAW_STATE_DIR by default, or PostgreSQL).');

  sessions
    .command('list')
    .description('List sessions, most recently updated first.')
    .option('-a, --agent <id>', 'only sessions of this agent')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (options: { agent?: string; json?: boolean; config?: string }) => {
      setExit(
        await withStore(env, options.config, async (store) => {
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
          process.stdout.write(table(['KEY', 'AGENT', 'TURNS', 'MESSAGES', 'UPDATED'], rows));
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
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (key: string, options: { json?: boolean; last?: string; config?: string }) => {
      setExit(
        await withStore(env, options.config, async (store) => {
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
          let messages = turns.flatMap((turn) => turn.messages.map((message) => ({ turn, message })));
          if (lastMessages !== undefined) messages = lastMessages === 0 ? [] : messages.slice(-lastMessages);
          if (options.json) {
            const shown = new Set(messages.map((entry) => entry.turn));
            const out = { ...summary, turns: [...shown].map((turn) => ({ turn: turn.turn, meta: turn.meta, messages: messages.filter((entry) => entry.turn === turn).map((entry) => entry.message) })) };
            process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
            return 0;
          }
          process.stdout.write(`Session ${key} (agent ${summary.agentId}, ${summary.turnCount} turns, ${summary.messageCount} messages)\n\n`);
          let current: unknown;
          for (const { turn, message } of messages) {
            if (turn !== current) {
              current = turn;
              process.stdout.write(`── turn ${turn.turn}${describeMeta(turn.meta)}\n\n`);
            }
            process.stdout.write(`${render(message)}\n\n`);
          }
          return 0;
        }),
      );
    });

  sessions
    .command('delete')
    .description('Delete a session and its transcript.')
    .argument('<key>', 'full session key')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (key: string, options: { config?: string }) => {
      setExit(
        await withStore(env, options.config, async (store) => {
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
    .command('migrate')
    .description('Copy an embedded SQLite session store into PostgreSQL (sessions with their turns and meta, stored responses). Safe to run again: what PostgreSQL has already is left as it is.')
    .option('--from <store>', 'sqlite:<file> (default: the SQLite store under the state dir)')
    .option('--to <store>', 'postgres:<url> (default: sessions.store.url from the config)')
    .option('-c, --config <file>', CONFIG_HELP)
    .addHelpText(
      'after',
      `
Example:
  openclaw sessions migrate --from sqlite:$HOME/.openclaw/sessions.sqlite --to postgres:postgres://openclaw@db:5432/openclaw`,
    )
    .action(async (options: { from?: string; to?: string; config?: string }) => {
      setExit(await runMigrate(options, env));
    });
}

async function runMigrate(options: { from?: string; to?: string; config?: string }, env: Env): Promise<number> {
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
    const loaded = loadCliConfig(options.config, env);
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

async function withStore(env: Env, configFlag: string | undefined, work: (store: SessionStore) => Promise<number>, opts: { missingOk?: boolean; json?: boolean } = {}): Promise<number> {
  const loaded = loadCliConfig(configFlag, env);
  if (!loaded) return 2;
  const { config } = loaded;
  const stateDir = resolveStateDir(env);
  if (config.sessions.store.driver === 'sqlite' && !existsSync(join(stateDir, SESSIONS_DB_FILE))) {
    // Reading must not create a store where there is none.
    if (opts.missingOk) {
      process.stdout.write(opts.json ? '[]\n' : 'No sessions.\n');
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

function describeMeta(meta: TurnMeta): string {
  const parts: string[] = [];
  if (meta.finishedAt) parts.push(new Date(meta.finishedAt).toISOString());
  if (meta.model) parts.push(meta.model);
  if (meta.outcome && meta.outcome !== 'completed') parts.push(meta.errorCode ? `${meta.outcome}: ${meta.errorCode}` : meta.outcome);
  if (meta.usage?.totalTokens !== undefined) parts.push(`${meta.usage.totalTokens} tokens`);
  if (meta.requestId) parts.push(`request ${meta.requestId}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function render(message: MessageRecord): string {
  const lines: string[] = [];
  const name = 'name' in message && message.name ? ` (${message.name})` : '';
  if (message.role === 'tool') lines.push(`[tool ${message.toolCallId}]${message.toolName ? ` ${message.toolName}` : ''}${message.isError ? ' (error)' : ''}`);
  else lines.push(`[${message.role}]${name}`);
  if (message.role === 'assistant' && message.reasoning?.text) lines.push(indent(`(reasoning) ${message.reasoning.text}`));
  const text = contentText(message.content);
  if (text) lines.push(indent(text));
  for (const part of message.content) if (part.type === 'image') lines.push(indent('<image>'));
  if (message.role === 'assistant' && message.toolCalls) {
    for (const call of message.toolCalls) lines.push(indent(`→ ${call.name}(${call.arguments}) [${call.id}${call.executor === 'server' ? ', run by the gateway' : ''}]`));
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
