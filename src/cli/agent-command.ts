import { loadCliConfig } from './load-config.ts';
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { resolveStateDir } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { createLogger, logLevel } from '../log.ts';
import { prepareRun } from '../runs/prepare.ts';
import { runAgent } from '../runs/run.ts';
import type { RunEvent, RunResult } from '../runs/events.ts';
import { Runtime } from '../runtime.ts';
import { ToolManager } from '../tools/manager.ts';
import { openSessionStore } from '../sessions/open.ts';
import type { SessionStore } from '../sessions/store.ts';
import { completionUsage } from '../wire/chat-completions/render.ts';

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
    .option('--stream', 'print the reply as it arrives, and each tool step the agent runs (on stderr)')
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
  let level: string;
  try {
    level = logLevel(env, options.verbose, 'warn');
  } catch (error) {
    process.stderr.write(`openclaw: ${(error as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({ level, destination: process.stderr });
  const stateDir = resolveStateDir(env);
  const aborter = new AbortController();
  const onSigint = () => aborter.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  let store: SessionStore | undefined;
  let runtime: Runtime | undefined;
  let tools: ToolManager | undefined;
  try {
    const stateful = options.sessionKey !== undefined || options.user !== undefined;
    // The same store as the gateway (the config's): its session lock serializes this run with the gateway's.
    if (stateful) store = await openSessionStore(config, stateDir, { logger, poolSize: 2 });
    // The agent's MCP servers run for this one turn (connected first, as the gateway would have them).
    if (Object.keys(config.mcp.servers).length > 0) {
      tools = new ToolManager({ logger, env, clientName: 'openclaw-cli' });
    }
    runtime = new Runtime({ config, logger, env, stateDir, store, serves: false, tools });
    await tools?.settled(15_000);
    const prepared = prepareRun(runtime.current, {
      requestId: randomUUID(),
      transport: 'cli',
      messages: [{ role: 'user', content: [{ type: 'text', text: options.message }] }],
      messagesParam: '--message',
      params: {},
      remoteImages: [],
      agent: options.agent !== undefined ? { value: options.agent, name: { label: '--agent', param: null } } : undefined,
      sessionKey: options.sessionKey !== undefined ? { value: options.sessionKey, name: { label: '--session-key', param: null } } : undefined,
      user: options.user,
    });
    let streamed = false;
    let result: RunResult | undefined;
    for await (const event of runAgent(prepared, runtime.runDeps(), aborter.signal)) {
      if (event.type === 'content' && options.stream && !options.json) {
        streamed = true;
        process.stdout.write(event.text);
      } else if ((event.type === 'tool.started' || event.type === 'tool.finished') && options.stream && !options.json) {
        // On stderr: stdout stays the reply alone, for a pipe.
        process.stderr.write(toolStepLine(event));
      } else if (event.type === 'run.finished') result = event.result;
      else if (event.type === 'run.failed') throw event.error;
    }
    if (!result) throw new Error('the run ended without a result');
    if (options.json) {
      const toolCalls = result.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
      const out = { agentId: result.agentId, sessionKey: result.sessionKey, model: result.model, content: result.content, toolCalls, finishReason: result.finishReason, usage: completionUsage(result.usage) };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      if (!streamed && result.content) process.stdout.write(result.content);
      process.stdout.write('\n');
      for (const call of result.toolCalls) process.stdout.write(`[tool call ${call.id}] ${call.name}(${call.arguments})\n`);
    }
    return 0;
  } catch (error) {
    if (aborter.signal.aborted) {
      process.stderr.write('\nopenclaw: interrupted\n');
      return 130;
    }
    const code = error instanceof GatewayError ? ` (${error.code})` : '';
    process.stderr.write(`openclaw: ${(error as Error).message}${code}\n`);
    const clientSide = error instanceof GatewayError && ['invalid_request', 'not_found', 'conflict'].includes(error.kind);
    return clientSide ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await runtime?.current.close();
    await tools?.close();
    await store?.close();
  }
}

/** One line per tool step while `--stream` shows a run: the call as it starts, its outcome as it ends. */
function toolStepLine(event: Extract<RunEvent, { type: 'tool.started' | 'tool.finished' }>): string {
  if (event.type === 'tool.started') {
    const args = event.arguments.length > 200 ? `${event.arguments.slice(0, 200)}…` : event.arguments;
    return `[tool] ${event.name}(${args})\n`;
  }
  return `[tool] ${event.name}: ${event.outcome} (${Math.round(event.durationMs)} ms)\n`;
}
