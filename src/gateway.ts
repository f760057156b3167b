import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AddressCounter } from './auth/address-limits.ts';
import { AuthGuard } from './auth/guard.ts';
import { MemoryAuthLimiter, type AuthFailureLimiter } from './auth/limiter.ts';
import { bindRefusal, warnDeprecatedAuthSource } from './auth/policy.ts';
import { resolveAuth } from './auth/secret.ts';
import { watchConfigFile, type ConfigWatcher } from './config/watch.ts';
import { resolveStateDir } from './config/load.ts';
import type { GatewayConfig } from './config/types.ts';
import { createHttpApp } from './http/app.ts';
import { ServerGuard } from './http/server-guard.ts';
import { loadSpec, type PublishedSpec } from './http/spec.ts';
import { metricsObserver } from './metrics/instrument.ts';
import { GatewayMetrics } from './metrics/metrics.ts';
import { silentLogger } from './log.ts';
import { Runtime } from './runtime.ts';
import { SessionRetention } from './sessions/retention.ts';
import type { SessionStore } from './sessions/store.ts';
import { ToolManager } from './tools/manager.ts';
import { WsGateway } from './ws/server.ts';

// node:http taken as CommonJS, not as an ES module import: building the ES module namespace of
// node:http reads every export, its lazy WebSocket, MessageEvent and CloseEvent among them, which
// loads Node's bundled undici (web streams, fetch, WebSocket): 75 internal modules, ≈2.3 MB of heap
// that nothing here uses.
const { createServer } = process.getBuiltinModule('node:http');

export interface GatewayDeps {
  logger?: Logger;
  env?: Record<string, string | undefined>;
  /** Where the session store and the generated token live; default from OPENCLAW_STATE_DIR or ~/.openclaw. */
  stateDir?: string;
  /** When given, the file is watched and valid edits apply without a restart. */
  configPath?: string;
  sessionStore?: SessionStore;
  /** Failed-auth counts and lockouts; shared state (a Redis limiter) makes them hold across replicas. Default: this process's memory. */
  authLimiter?: AuthFailureLimiter;
  spec?: PublishedSpec;
  /** The process's own metrics (memory, CPU, event-loop delay, GC), one registry per process: src/metrics/process.ts. */
  processMetrics?: Registry;
}

export interface ListenOptions {
  port?: number;
  /** `loopback` (127.0.0.1 and ::1), `lan` (0.0.0.0) or an address. */
  bind?: string;
}

export interface Gateway {
  readonly runtime: Runtime;
  readonly app: ReturnType<typeof createHttpApp>;
  /** Judges credentials and holds the per-address lockouts; share it with every surface that authenticates. */
  readonly authGuard: AuthGuard;
  /** This gateway's Prometheus registry (served at /metrics when enabled). */
  readonly metrics: GatewayMetrics;
  /** The WebSocket at /ws on the same server(s). */
  readonly ws: WsGateway;
  /** What each client address holds now: open connections, runs in flight (gateway.http.maxConnectionsPerAddress, maxConcurrentRunsPerAddress). */
  readonly perAddress: { readonly connections: AddressCounter; readonly runs: AddressCounter };
  /** Starts listening; resolves with the bound port and addresses. */
  listen(options?: ListenOptions): Promise<{ port: number; hosts: string[]; url: string }>;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then closes everything. */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Applies a new config as a file edit would. */
  applyConfig(config: GatewayConfig): void;
}

export function bindHosts(bind: string): string[] {
  if (bind === 'loopback') return ['127.0.0.1', '::1'];
  if (bind === 'lan') return ['0.0.0.0'];
  return [bind];
}

export function isLoopbackBind(bind: string): boolean {
  return bindHosts(bind).every((host) => host === '::1' || host === 'localhost' || host.startsWith('127.'));
}

/** Wires config, auth, agents, sessions, providers and HTTP into one gateway. Holds no module-level state. */
export function createGateway(config: GatewayConfig, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? silentLogger();
  const env = deps.env ?? process.env;
  const stateDir = deps.stateDir ?? resolveStateDir(env);
  const metrics: GatewayMetrics = new GatewayMetrics({ activeRuns: (): number => runtime.activeRuns, processMetrics: deps.processMetrics, sessionStorePool: deps.sessionStore?.poolStats ? () => deps.sessionStore?.poolStats?.() : undefined });
  const tools = new ToolManager({ logger, env });
  const runtime: Runtime = new Runtime({ config, logger, env, stateDir, store: deps.sessionStore, observer: metricsObserver(metrics), tools });
  warnDeprecatedAuthSource(runtime.current.auth, logger);
  const authGuard = new AuthGuard(() => runtime.current, deps.authLimiter ?? new MemoryAuthLimiter());
  const app = createHttpApp(runtime, deps.spec ?? loadSpec(), authGuard, metrics);
  const ws = new WsGateway({ runtime, authGuard, metrics });
  const connections = new AddressCounter();
  const serverGuard = new ServerGuard(runtime, connections, metrics);
  const retention = runtime.store ? new SessionRetention({ store: runtime.store, setting: () => runtime.current.config.sessions.retention, logger }) : undefined;
  const servers: Server[] = [];
  let watcher: ConfigWatcher | undefined;
  let boundBind: string | undefined;

  const applyConfig = (next: GatewayConfig) => {
    const before = runtime.current.config;
    if (boundBind !== undefined) {
      const refusal = bindRefusal(resolveAuth(next, env, stateDir), boundBind, isLoopbackBind(boundBind));
      if (refusal) throw new Error(refusal);
    }
    runtime.apply(next);
    if (next.sessions.retention !== before.sessions.retention && boundBind !== undefined) void retention?.runNow();
    for (const server of servers) {
      server.headersTimeout = next.gateway.http.headersTimeoutMs;
      server.requestTimeout = next.gateway.http.requestTimeoutMs;
      server.keepAliveTimeout = next.gateway.http.keepAliveTimeoutMs;
    }
    if (next.gateway.port !== before.gateway.port || next.gateway.bind !== before.gateway.bind) {
      logger.warn({ event: 'config.restart_needed', keys: ['gateway.port', 'gateway.bind'] }, 'port and bind changes apply at the next restart');
    }
    // The stores were opened at start; each replica keeps its own until it restarts.
    const storeKeys = restartOnlyStoreKeys(before.gateway, next.gateway, before.sessions, next.sessions);
    if (storeKeys.length > 0) logger.warn({ event: 'config.restart_needed', keys: storeKeys }, 'session store and lockout store changes apply at the next restart');
  };

  /**
   * Listening comes first (probes answer at once). What the first API request needs (request
   * validator, provider SDK) then loads in the background, as background work should: once no
   * request has arrived for WARM_UP_QUIET_MS (at the latest WARM_UP_LATEST_MS after listening),
   * one piece at a time with turns for requests in between. A request that needs a piece before
   * then loads it itself.
   */
  let warmUpTimer: NodeJS.Timeout | undefined;
  const warmUpWhenQuiet = () => {
    const latest = Date.now() + WARM_UP_LATEST_MS;
    const onRequest = () => schedule();
    const schedule = () => {
      clearTimeout(warmUpTimer);
      warmUpTimer = setTimeout(start, Math.max(0, Math.min(WARM_UP_QUIET_MS, latest - Date.now())));
      warmUpTimer.unref();
    };
    const start = () => {
      for (const server of servers) server.off('request', onRequest);
      const started = performance.now();
      const yieldToRequests = () => new Promise((resolve) => setImmediate(resolve));
      void (async () => {
        await runtime.current.providers.warmUp();
        await yieldToRequests();
        await app.warmUp();
      })().then(
        () => logger.debug({ event: 'gateway.warm', ms: Math.round(performance.now() - started) }, 'validator and provider clients loaded'),
        (error: unknown) => logger.error({ event: 'gateway.warm_failed', err: error }, 'warm-up failed; the first requests will retry it'),
      );
    };
    for (const server of servers) server.on('request', onRequest);
    schedule();
  };

  const startServer = (host: string, port: number) =>
    new Promise<Server>((resolve, reject) => {
      // requestTimeout bounds receiving the request only (slow clients), never a long streamed response.
      const { requestTimeoutMs, headersTimeoutMs } = runtime.current.config.gateway.http;
      const server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: headersTimeoutMs, connectionsCheckingInterval: checkingInterval(headersTimeoutMs, requestTimeoutMs) }, (req, res) => {
        if (!serverGuard.refuseRequest(req, res)) app(req, res);
      });
      server.keepAliveTimeout = runtime.current.config.gateway.http.keepAliveTimeoutMs;
      serverGuard.attach(server);
      server.on('upgrade', (req, socket, head) => {
        if (!serverGuard.refuseUpgrade(req, socket)) ws.handleUpgrade(req, socket, head);
      });
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host === '::1' || undefined }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });

  return {
    runtime,
    app,
    authGuard,
    metrics,
    ws,
    perAddress: { connections, runs: runtime.runsByAddress },
    applyConfig,
    async listen(options = {}) {
      const bind = options.bind ?? config.gateway.bind;
      const refusal = bindRefusal(runtime.current.auth, bind, isLoopbackBind(bind));
      if (refusal) throw new Error(refusal);
      const hosts = bindHosts(bind);
      let port = options.port ?? config.gateway.port;
      const bound: string[] = [];
      for (const host of hosts) {
        try {
          const server = await startServer(host, port);
          servers.push(server);
          port = (server.address() as AddressInfo).port;
          bound.push(host);
        } catch (error) {
          // A machine without IPv6 still serves loopback on 127.0.0.1.
          if (host === '::1' && bound.length > 0 && ['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes((error as NodeJS.ErrnoException).code ?? '')) {
            logger.warn({ event: 'listen.skipped', host, reason: (error as Error).message }, 'IPv6 loopback unavailable');
            continue;
          }
          await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
          throw error;
        }
      }
      boundBind = bind;
      if (deps.configPath) watcher = watchConfigFile(deps.configPath, env, logger, applyConfig);
      const first = bound[0].includes(':') ? `[${bound[0]}]` : bound[0];
      const url = `http://${first === '0.0.0.0' ? '127.0.0.1' : first}:${port}`;
      logger.info({ event: 'gateway.listening', hosts: bound, port, auth: runtime.current.auth.mode, authSource: runtime.current.auth.source }, `listening on ${bound.join(', ')} port ${port}`);
      warmUpWhenQuiet();
      retention?.start();
      return { port, hosts: bound, url };
    },
    async close({ graceMs = config.gateway.http.shutdownGraceMs } = {}) {
      watcher?.close();
      clearTimeout(warmUpTimer);
      // Draining: still listening, so /ready answers 503 (not a refused connection) while the runs
      // in flight finish; other requests are turned away, idle keep-alive connections closed.
      runtime.beginDrain();
      // WebSockets: idle ones close now with 1001, busy ones when their runs end (within the grace).
      ws.beginShutdown();
      for (const server of servers) server.closeIdleConnections();
      if (!(await settlesWithin(runtime.whenIdle(), graceMs))) {
        // Out of grace: the runs still going end now with an error their clients see (an SSE error
        // event and [DONE]); a moment to write it, then the connections go whatever their state.
        logger.warn({ event: 'gateway.runs_cut', runs: runtime.activeRuns, graceMs }, 'shutdown grace ran out; ending the runs still in flight');
        runtime.cutRuns();
        await settlesWithin(runtime.whenIdle(), CUT_FLUSH_MS);
      }
      const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      await retention?.stop();
      await ws.close();
      for (const server of servers) server.closeAllConnections();
      await closed;
      await app.close();
      await runtime.current.close();
      await tools.close();
      await runtime.store?.close();
      await authGuard.limiter.close?.();
      logger.info({ event: 'gateway.closed' }, 'gateway closed');
    },
  };
}

/** After the grace, how long cut runs get to write their error to their clients. */
const CUT_FLUSH_MS = 1_000;

/** True when `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true as const), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

const WARM_UP_QUIET_MS = 20;
const WARM_UP_LATEST_MS = 500;

/** How often Node looks for connections past headersTimeout/requestTimeout (its default, 30 s, would let short limits slip). */
function checkingInterval(headersTimeoutMs: number, requestTimeoutMs: number): number {
  const shortest = Math.min(headersTimeoutMs, requestTimeoutMs > 0 ? requestTimeoutMs : headersTimeoutMs);
  return Math.min(30_000, Math.max(50, Math.floor(shortest / 4)));
}

/** Store settings that only a restart applies (the stores are opened once, at start). */
function restartOnlyStoreKeys(
  beforeGateway: GatewayConfig['gateway'],
  nextGateway: GatewayConfig['gateway'],
  beforeSessions: GatewayConfig['sessions'],
  nextSessions: GatewayConfig['sessions'],
): string[] {
  const keys: string[] = [];
  if (JSON.stringify(beforeSessions.store) !== JSON.stringify(nextSessions.store)) keys.push('sessions.store');
  if (beforeSessions.lockLeaseMs !== nextSessions.lockLeaseMs) keys.push('sessions.lockLeaseMs');
  if (JSON.stringify(beforeGateway.auth.rateLimit.store) !== JSON.stringify(nextGateway.auth.rateLimit.store)) keys.push('gateway.auth.rateLimit.store');
  return keys;
}
