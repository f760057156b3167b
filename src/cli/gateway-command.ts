import { loadCliConfig } from './load-config.ts';
import type { Command } from 'commander';
import { resolveStateDir } from '../config/load.ts';
import { createGateway, isLoopbackBind } from '../gateway.ts';
import { createLogger } from '../log.ts';
import { openDefaultSessionStore } from '../sessions/open.ts';

interface GatewayOptions {
  port?: string;
  bind?: string;
  config?: string;
  verbose?: boolean;
}

export function registerGatewayCommand(program: Command, env: Record<string, string | undefined>, setExit: (code: number) => void): void {
  program
    .command('gateway')
    .description('Run the gateway in the foreground (HTTP + WebSocket on one port). Ctrl-C stops it gracefully.')
    .option('-p, --port <port>', 'port to listen on (default: OPENCLAW_GATEWAY_PORT, then gateway.port, then 18789)')
    .option('-b, --bind <bind>', 'loopback (127.0.0.1 and ::1), lan (0.0.0.0) or an address (default: gateway.bind, then loopback)')
    .option('-c, --config <file>', 'JSON5 config file (default: OPENCLAW_CONFIG_PATH, then ~/.openclaw/openclaw.json)')
    .option('-v, --verbose', 'debug-level logs')
    .addHelpText(
      'after',
      `
Environment:
  OPENCLAW_CONFIG_PATH      config file when --config is not given
  OPENCLAW_STATE_DIR        state folder: session store, generated token (default ~/.openclaw)
  OPENCLAW_GATEWAY_PORT     port when --port is not given
  OPENCLAW_GATEWAY_TOKEN    gateway token when gateway.auth.token is not set
  OPENCLAW_GATEWAY_PASSWORD gateway password in auth mode "password"

Example:
  openclaw gateway --config examples/demo.json5 --port 18789`,
    )
    .action(async (options: GatewayOptions) => {
      setExit(await runGateway(options, env));
    });
}

async function runGateway(options: GatewayOptions, env: Record<string, string | undefined>): Promise<number> {
  const logger = createLogger({ level: options.verbose ? 'debug' : 'info' });
  const loaded = loadCliConfig(options.config, env);
  if (!loaded) return 2;
  const { config, configPath } = loaded;
  const port = parsePort(options.port ?? env.OPENCLAW_GATEWAY_PORT, config.gateway.port);
  if (port === undefined) {
    process.stderr.write(`openclaw: --port / OPENCLAW_GATEWAY_PORT must be an integer from 0 to 65535\n`);
    return 2;
  }
  const bind = options.bind ?? config.gateway.bind;
  if (config.gateway.auth.mode === 'none' && !isLoopbackBind(bind)) {
    process.stderr.write(`openclaw: refusing to bind ${bind} with gateway.auth.mode "none"; use a token or bind loopback\n`);
    return 2;
  }
  const stateDir = resolveStateDir(env);
  let gateway;
  try {
    const sessionStore = openDefaultSessionStore(stateDir);
    gateway = createGateway(config, { logger, env, stateDir, configPath, sessionStore });
    const { url } = await gateway.listen({ port, bind });
    const { chatCompletions, responses } = config.gateway.http.endpoints;
    if (!chatCompletions.enabled) logger.info({ event: 'endpoint.disabled' }, 'POST /v1/chat/completions is disabled; set gateway.http.endpoints.chatCompletions.enabled to true');
    if (!responses.enabled) logger.info({ event: 'endpoint.disabled' }, 'POST /v1/responses is disabled; set gateway.http.endpoints.responses.enabled to true');
    process.stderr.write(`openclaw gateway listening on ${url} (config: ${configPath})\n`);
  } catch (error) {
    process.stderr.write(`openclaw: cannot start the gateway: ${(error as Error).message}\n`);
    return 1;
  }
  const running = gateway;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write('openclaw: second signal, exiting now\n');
        process.exit(130);
      }
      stopping = true;
      logger.info({ event: 'gateway.stopping', signal }, 'stopping: finishing in-flight requests');
      running.close().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ event: 'gateway.stop_failed', reason: (error as Error).message }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

function parsePort(raw: string | undefined, fallback: number): number | undefined {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return undefined;
  const port = Number(raw);
  return port <= 65535 ? port : undefined;
}
