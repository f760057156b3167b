import type { Command } from 'commander';
import { createLogger } from '../log.ts';
import { ToolManager } from '../tools/manager.ts';
import { AgentToolIndex } from '../tools/policy.ts';
import { loadCliConfig } from './load-config.ts';

type Env = Record<string, string | undefined>;

interface ListOptions {
  config?: string;
  json?: boolean;
  timeout?: string;
  verbose?: boolean;
}

/** `openclaw mcp list`: connects to every configured MCP server as the gateway would, and says what each offers and who may use it. */
export function registerMcpCommand(program: Command, env: Env, setExit: (code: number) => void): void {
  const mcp = program.command('mcp').description('MCP tool servers (mcp.servers in the config).');
  mcp
    .command('list')
    .description("Connect to each configured MCP server as the gateway does; print its state and tools, and per agent the tools its policy allows. Exit 1 when a server is not ready.")
    .option('-c, --config <file>', 'JSON5 config file (default: OPENCLAW_CONFIG_PATH, then ~/.openclaw/openclaw.json)')
    .option('--json', 'print JSON')
    .option('-t, --timeout <seconds>', 'how long to wait for the servers to connect', '15')
    .option('-v, --verbose', 'the connection logs on stderr')
    .action(async (options: ListOptions) => {
      setExit(await listServers(options, env));
    });
}

async function listServers(options: ListOptions, env: Env): Promise<number> {
  const loaded = loadCliConfig(options.config, env);
  if (!loaded) return 2;
  const { config } = loaded;
  const timeoutSeconds = Number(options.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    process.stderr.write('openclaw: --timeout must be a positive number of seconds\n');
    return 2;
  }
  const logger = createLogger({ level: options.verbose ? 'debug' : 'silent', destination: process.stderr });
  const manager = new ToolManager({ logger, env, clientName: 'openclaw-cli' });
  try {
    manager.apply(config.mcp.servers);
    await manager.settled(timeoutSeconds * 1000);
    const servers = manager.status();
    const index = new AgentToolIndex(manager, config.agents.list);
    const catalogue = manager.catalogue();
    const agents = config.agents.list.map((agent) => ({ id: agent.id, allow: agent.tools.allow, deny: agent.tools.deny, tools: index.allowedNames(agent, catalogue) }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ servers, agents }, null, 2)}\n`);
    } else if (servers.length === 0) {
      process.stdout.write('No MCP servers configured (mcp.servers).\n');
    } else {
      for (const server of servers) {
        process.stdout.write(`${server.name} (${server.transport}): ${server.state}${server.error ? ` — ${server.error}` : ''}\n`);
        for (const tool of catalogue.values()) if (tool.server === server.name) process.stdout.write(`  ${tool.name}${tool.description ? `  ${firstLine(tool.description)}` : ''}\n`);
        for (const problem of server.problems) process.stdout.write(`  ! ${problem}\n`);
      }
      process.stdout.write('\nAgents:\n');
      for (const agent of agents) {
        process.stdout.write(`  ${agent.id}: ${agent.tools.length > 0 ? agent.tools.join(', ') : agent.allow.length === 0 ? '(no server tools: tools.allow is empty)' : '(no server tool matches its policy)'}\n`);
      }
    }
    return servers.every((server) => server.state === 'ready') ? 0 : 1;
  } finally {
    await manager.close();
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0].trim();
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}
