import { existsSync } from 'node:fs';
import { loadCliConfig } from './load-config.ts';
import type { Command } from 'commander';
import { resolveStateDir } from '../config/load.ts';
import { prepareStateDir } from '../config/state-dir.ts';
import { ConfigError } from '../errors.ts';
import { createGateway, isLoopbackBind } from '../gateway.ts';
import type { AuthFailureLimiter } from '../auth/limiter.ts';
import { openAuthLimiter } from '../auth/open-limiter.ts';
import { bindRefusal } from '../auth/policy.ts';
import { resolveAuth } from '../auth/secret.ts';
import { createLogger, logLevel } from '../log.ts';
import { createProcessMetrics } from '../metrics/process.ts';
import { announceGeneratedToken } from '../runtime.ts';
import { openSessionStore } from '../sessions/open.ts';
import type { SessionStore } from '../sessions/store.ts';
import { ignoreInterrupts, isWorkerProcess, leaveCluster, onStopRequest, parseWorkers, reportListening, superviseWorkers, workerId } from './gateway-supervisor.ts';

interface GatewayOptions {
  port?: string;
  bind?: string;
  config?: string;
  verbose?: boolean;
  workers?: string;
}

export function registerGatewayCommand(program: Command, env: Record<string, string | undefined>, setExit: (code: number) => void): void {
  program
    .command('gateway')
    .description('Run the gateway in the foreground (HTTP + WebSocket on one port). Ctrl-C stops it gracefully.')
    .option('-p, --port <port>', 'port to listen on (default: OPENCLAW_GATEWAY_PORT, then gateway.port, then 18789)')
    .option('-b, --bind <bind>', 'loopback (127.0.0.1 and ::1), lan (0.0.0.0) or an address (default: gateway.bind, then loopback)')
    .option('-c, --config <file>', 'JSON5 config file (default: OPENCLAW_CONFIG_PATH, then ~/.openclaw/openclaw.json)')
    .option('-v, --verbose', 'debug-level logs (else LOG_LEVEL, else info)')
    .option('-w, --workers <n>', 'worker processes serving the one port: a number, or "auto" for one per core (default: 1, no supervisor)')
    .addHelpText(
      'after',
      `
Environment:
  OPENCLAW_CONFIG_PATH      config file when --config is not given
  OPENCLAW_STATE_DIR        state folder: session store, generated token (default ~/.openclaw)
  OPENCLAW_GATEWAY_PORT     port when --port is not given
  OPENCLAW_GATEWAY_TOKEN    gateway token when gateway.auth.token is not set
  OPENCLAW_GATEWAY_PASSWORD gateway password in auth mode "password"
  DATABASE_URL, REDIS_URL   conventional names for sessions.store.url / gateway.auth.rateLimit.store.url ("\${DATABASE_URL}" in the config)
  LOG_LEVEL                 fatal, error, warn, info (default), debug, trace or silent
  OPENCLAW_GATEWAY_NODE_FLAGS node flags the gateway restarts itself with (default
                            "--max-semi-space-size=16 --heap-growing-percent=100"; empty: none)

Examples:
  openclaw gateway --config examples/demo.json5 --port 18789
  openclaw gateway --config examples/demo.json5 --workers auto`,
    )
    .action(async (options: GatewayOptions) => {
      setExit(await runGateway(options, env));
    });
}

async function runGateway(options: GatewayOptions, env: Record<string, string | undefined>): Promise<number> {
  const workers = parseWorkers(options.workers);
  if (workers === undefined) {
    process.stderr.write(`openclaw: --workers must be a positive integer or "auto"\n`);
    return 2;
  }
  const role = workers === 1 ? 'single' : isWorkerProcess() ? 'worker' : 'supervisor';
  if (role === 'worker') ignoreInterrupts();
  let level: string;
  try {
    level = logLevel(env, options.verbose, 'info');
  } catch (error) {
    process.stderr.write(`openclaw: ${(error as Error).message}\n`);
    return 2;
  }
  const rootLogger = createLogger({ level });
  const logger = role === 'single' ? rootLogger : rootLogger.child(role === 'worker' ? { worker: workerId(), pid: process.pid } : { supervisor: process.pid });
  // The state dir first: the default config file lives in it.
  const stateDir = resolveStateDir(env);
  try {
    prepareStateDir(stateDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`openclaw: ${error.message}\n`);
    return 2;
  }
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
  if (role === 'supervisor') {
    // What every worker would find wrong, found once; a token generated once, before the workers
    // race to create it; the store's migrations applied once, before they all wait for them.
    try {
      const auth = resolveAuth(config, env, stateDir);
      announceGeneratedToken(auth, logger);
      const refusal = bindRefusal(auth, bind, isLoopbackBind(bind));
      if (refusal) throw new Error(refusal);
      await (await openSessionStore(config, stateDir, { logger })).close();
    } catch (error) {
      process.stderr.write(`openclaw: cannot start the gateway: ${(error as Error).message}\n`);
      return 1;
    }
    return superviseWorkers({ workers, logger, graceMs: config.gateway.http.shutdownGraceMs, configPath });
  }
  let gateway;
  let sessionStore: SessionStore | undefined;
  let authLimiter: AuthFailureLimiter | undefined;
  let announcement: string;
  let listeningUrl: string;
  try {
    sessionStore = await openSessionStore(config, stateDir, { logger, backgroundCheckpoints: true });
    // Workers count failures together in the supervisor, unless a shared store (Redis) does it.
    authLimiter = role === 'worker' && config.gateway.auth.rateLimit.store.driver === 'memory' ? new (await import('../auth/cluster-limiter.ts')).ClusterAuthLimiter() : await openAuthLimiter(config, logger);
    gateway = createGateway(config, { logger, env, stateDir, configPath, sessionStore, authLimiter, processMetrics: createProcessMetrics() });
    const { url } = await gateway.listen({ port, bind });
    listeningUrl = url;
    const { chatCompletions, responses } = config.gateway.http.endpoints;
    if (!chatCompletions.enabled) logger.info({ event: 'endpoint.disabled' }, 'POST /v1/chat/completions is disabled; set gateway.http.endpoints.chatCompletions.enabled to true');
    if (!responses.enabled) logger.info({ event: 'endpoint.disabled' }, 'POST /v1/responses is disabled; set gateway.http.endpoints.responses.enabled to true');
    // Name a config file only when there is one: a default path that does not exist is where one would go.
    const configNote = existsSync(configPath) ? `config: ${configPath}` : `no config file, built-in defaults; create ${configPath} or pass --config to configure`;
    announcement = `openclaw gateway listening on ${url} (${configNote})\n`;
  } catch (error) {
    process.stderr.write(`openclaw: cannot start the gateway: ${(error as Error).message}\n`);
    if (gateway) await gateway.close({ graceMs: 0 }).catch(() => undefined);
    else await Promise.all([sessionStore?.close(), authLimiter?.close?.()]).catch(() => undefined);
    if (role === 'worker') leaveCluster(1);
    return 1;
  }
  const running = gateway;
  const stopped = new Promise<number>((resolve) => {
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
    if (role === 'worker') onStopRequest(stop);
    else {
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    }
  });
  // Announced only once the signal handlers are in place: whoever waits for this line may stop the
  // gateway at once, and must get a graceful stop rather than the default (immediate) death. A
  // worker tells its supervisor instead, which announces the gateway once all workers listen.
  if (role === 'worker') reportListening(listeningUrl);
  else process.stderr.write(announcement);
  if (role !== 'worker') return stopped;
  const code = await stopped;
  leaveCluster(code);
  return code;
}

function parsePort(raw: string | undefined, fallback: number): number | undefined {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return undefined;
  const port = Number(raw);
  return port <= 65535 ? port : undefined;
}
