import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from './agent-command.ts';
import { registerGatewayCommand } from './gateway-command.ts';
import { registerMcpCommand } from './mcp-command.ts';
import { registerSessionsCommand } from './sessions-command.ts';

/** Parses argv and runs one command; resolves with the process exit code. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const program = new Command()
    .name('openclaw')
    .description('OpenAI-compatible agent gateway: serves POST /v1/chat/completions in front of configured agents.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  registerGatewayCommand(program, env, setExit);
  registerAgentCommand(program, env, setExit);
  registerSessionsCommand(program, env, setExit);
  registerMcpCommand(program, env, setExit);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  return exitCode;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
