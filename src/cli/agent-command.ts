import { loadCliConfig } from './load-config.ts';
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { buildRoster } from '../agents/roster.ts';
import { runAgent, type RunContext, type RunResult } from '../agents/run.ts';
import { resolveAgentTarget } from '../agents/target.ts';
import { resolveStateDir } from '../config/load.ts';
import { ApiError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { ProviderRegistry } from '../providers/registry.ts';
import { resolveSessionKey } from '../sessions/keys.ts';
import { openDefaultSessionStore } from '../sessions/open.ts';
import { SessionQueue } from '../sessions/queue.ts';
import type { SessionStore } from '../sessions/store.ts';

type Env = Record<string, string | undefined>;

interface AgentOptions {
  agent?: string;
  message: string;
  sessionKey?: string;
  user?: string;
  stream?: boolean;
  json?: boolean;
  config?: string;
  verbose?: boolean;
}

/** `openclaw agent`: one turn of an agent, run in-process against the same config and session store as the gateway. */
export function registerAgentCommand(program: Command, env: Env, setExit: (code: number) => void): void {
  program
    .command('agent')
    .description('Run one turn of an agent in-process (same config, providers and session store as the gateway) and print the reply.')
    .option('-a, --agent <id>', 'agent id (default: the default agent)')
    .requiredOption('-m, --message <text>', 'the user message')
    .option('-s, --session-key <key>', 'continue / store the session <key> (as the x-openclaw-session-key header); without it or --user the run is stateless')
    .option('-u, --user <user>', 'session of an OpenAI `user` (as the request field)')
    .option('--stream', 'print the reply as it arrives')
    .option('--json', 'print the full result as JSON')
    .option('-c, --config <file>', 'JSON5 config file (default: OPENCLAW_CONFIG_PATH, then ~/.openclaw/openclaw.json)')
    .option('-v, --verbose', 'debug-level logs on stderr')
    .addHelpText(
      'after',
      `
Example:
  openclaw agent --agent main --message "hello" --session-key demo --stream`,
    )
    .action(async (options: AgentOptions) => {
      setExit(await runAgentCommand(options, env));
    });
}

async function runAgentCommand(options: AgentOptions, env: Env): Promise<number> {
  const loaded = loadCliConfig(options.config, env);
  if (!loaded) return 2;
  const { config } = loaded;
  const logger = createLogger({ level: options.verbose ? 'debug' : 'warn', destination: process.stderr });
  const roster = buildRoster(config);
  const providers = new ProviderRegistry(config);
  let store: SessionStore | undefined;
  const aborter = new AbortController();
  const onSigint = () => aborter.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    const target = resolveAgentTarget({ model: options.agent ? `openclaw/${options.agent}` : undefined, headers: {} }, roster);
    const headers = options.sessionKey !== undefined ? { 'x-openclaw-session-key': options.sessionKey } : {};
    const session = resolveSessionKey({ user: options.user, headers }, target.agentId);
    if (session.key) store = openDefaultSessionStore(resolveStateDir(env));
    const ctx: RunContext = { config, roster, providers, store, queue: new SessionQueue(), logger };
    let streamed = false;
    const result: RunResult = await runAgent(
      ctx,
      { agentId: target.agentId, sessionKey: session.key, messages: [{ role: 'user', content: options.message }], params: {}, requestId: randomUUID(), signal: aborter.signal },
      (delta) => {
        if (!options.stream || options.json || delta.type !== 'content') return;
        streamed = true;
        process.stdout.write(delta.text);
      },
    );
    if (options.json) {
      const out = { agentId: target.agentId, sessionKey: session.key, model: result.modelRef, content: result.content, toolCalls: result.toolCalls, finishReason: result.finishReason, usage: result.usage };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      if (!streamed && result.content) process.stdout.write(result.content);
      process.stdout.write('\n');
      for (const call of result.toolCalls) process.stdout.write(`[tool call ${call.id}] ${call.function.name}(${call.function.arguments})\n`);
    }
    return 0;
  } catch (error) {
    if (aborter.signal.aborted) {
      process.stderr.write('\nopenclaw: interrupted\n');
      return 130;
    }
    const status = error instanceof ApiError ? ` (${error.status}${error.code ? ` ${error.code}` : ''})` : '';
    process.stderr.write(`openclaw: ${(error as Error).message}${status}\n`);
    return error instanceof ApiError && error.status < 500 ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await providers.close();
    await store?.close();
  }
}
