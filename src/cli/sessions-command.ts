import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { contentText, type MessageRecord, type TurnMeta } from '../records/record.ts';
import { resolveStateDir } from '../config/load.ts';
import { SESSIONS_DB_FILE, SqliteSessionStore } from '../sessions/sqlite-store.ts';
import type { SessionStore, StoredTurn } from '../sessions/store.ts';

type Env = Record<string, string | undefined>;

/** `openclaw sessions list|show|delete`: reads the embedded store under the state dir (safe while the gateway runs: WAL). */
export function registerSessionsCommand(program: Command, env: Env, setExit: (code: number) => void): void {
  const sessions = program
    .command('sessions')
    .description('List, show or delete stored sessions (the SQLite store under OPENCLAW_STATE_DIR, default ~/.openclaw).');

  sessions
    .command('list')
    .description('List sessions, most recently updated first.')
    .option('-a, --agent <id>', 'only sessions of this agent')
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; json?: boolean }) => {
      setExit(
        await withStore(env, async (store) => {
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
    .action(async (key: string, options: { json?: boolean; last?: string }) => {
      setExit(
        await withStore(env, async (store) => {
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
              process.stdout.write(`── turn ${turn.turn}${describeMeta(turn.meta)}\n`);
              const response = turn.meta.responseId ? responses.get(turn.meta.responseId) : undefined;
              if (response) process.stdout.write(`   ${describeResponse(response)}\n`);
              process.stdout.write('\n');
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
    .action(async (key: string) => {
      setExit(
        await withStore(env, async (store) => {
          if (await store.deleteSession(key)) {
            process.stdout.write(`Deleted session ${key}\n`);
            return 0;
          }
          process.stderr.write(`openclaw: no session ${key}\n`);
          return 1;
        }),
      );
    });
}

async function withStore(env: Env, work: (store: SessionStore) => Promise<number>, opts: { missingOk?: boolean; json?: boolean } = {}): Promise<number> {
  const file = join(resolveStateDir(env), SESSIONS_DB_FILE);
  if (!existsSync(file)) {
    // Reading must not create a store where there is none.
    if (opts.missingOk) {
      process.stdout.write(opts.json ? '[]\n' : 'No sessions.\n');
      return 0;
    }
    process.stderr.write(`openclaw: no session store at ${file}\n`);
    return 1;
  }
  let store: SqliteSessionStore;
  try {
    store = new SqliteSessionStore(file);
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

interface ResponseMark {
  id: string;
  /** False once deleted (DELETE /v1/responses/{id}); the turn stays in the transcript. */
  stored: boolean;
  previousResponseId?: string | null;
}

/** The Responses API responses the turns produced, and whether each is still stored. */
async function storedResponses(store: SessionStore, turns: StoredTurn[]): Promise<Map<string, ResponseMark>> {
  const marks = new Map<string, ResponseMark>();
  for (const turn of turns) {
    const id = turn.meta.responseId;
    if (!id) continue;
    const stored = await store.getResponse(id);
    marks.set(id, stored ? { id, stored: true, previousResponseId: stored.previousResponseId } : { id, stored: false });
  }
  return marks;
}

function describeResponse(mark: ResponseMark): string {
  if (!mark.stored) return `response ${mark.id} (deleted)`;
  return mark.previousResponseId ? `response ${mark.id}, continuing ${mark.previousResponseId}` : `response ${mark.id}`;
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
