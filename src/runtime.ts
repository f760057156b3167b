import type { Logger } from 'pino';
import { plainLinesLogger } from './log.ts';
import { AddressCounter } from './auth/address-limits.ts';
import { resolveAuth, type ResolvedAuth } from './auth/secret.ts';
import { buildRoster, type Roster } from './agents/roster.ts';
import type { GatewayConfig } from './config/types.ts';
import { ProviderRegistry } from './providers/registry.ts';
import type { RunObserver } from './runs/observer.ts';
import type { RunSetup } from './runs/prepare.ts';
import type { RunDeps } from './runs/run.ts';
import type { SessionStore } from './sessions/store.ts';
import type { ToolManager, ToolSource } from './tools/manager.ts';
import { AgentToolIndex } from './tools/policy.ts';

/**
 * Everything derived from one version of the config. A request holds the generation it started
 * with from its first middleware to its last byte, so a reload never splits it across two; a
 * generation that a reload replaced closes its provider clients when the last holder lets go.
 */
export class Generation implements RunSetup {
  readonly config: GatewayConfig;
  readonly roster: Roster;
  readonly providers: ProviderRegistry;
  readonly auth: ResolvedAuth;
  /** Each agent's MCP tools (read from the gateway's tool manager, which outlives generations). */
  readonly tools: AgentToolIndex | undefined;
  private holds = 0;
  private retired = false;
  private closed = false;

  constructor(config: GatewayConfig, auth: ResolvedAuth, tools?: ToolSource) {
    this.config = config;
    this.roster = buildRoster(config);
    this.providers = new ProviderRegistry(config);
    this.auth = auth;
    this.tools = tools ? new AgentToolIndex(tools, config.agents.list) : undefined;
  }

  /** Keeps the generation's clients open until the returned function is called (once; further calls do nothing). */
  retain(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.retired && this.holds === 0) void this.close();
    };
  }

  /** A newer generation took over: close once nothing holds this one. */
  retire(): void {
    this.retired = true;
    if (this.holds === 0) void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.providers.close();
  }
}

/** The gateway's live state: the current config generation, the session store, and the runs in flight. */
export class Runtime {
  private generation: Generation;
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private drainingNow = false;
  private readonly shutdown = new AbortController();

  readonly logger: Logger;
  /** For the per-request and per-tool-call lines only (see plainLinesLogger). */
  readonly plainLogger: Logger;
  readonly env: Record<string, string | undefined>;
  readonly stateDir: string;
  readonly store: SessionStore | undefined;
  readonly observer: RunObserver | undefined;
  /** The MCP servers; kept across reloads, which only tell it the new `mcp.servers`. */
  readonly tools: ToolManager | undefined;
  /** Runs in flight per client address, over every transport (gateway.http.maxConcurrentRunsPerAddress). */
  readonly runsByAddress = new AddressCounter();
  private readonly serves: boolean;

  constructor(options: {
    config: GatewayConfig;
    logger: Logger;
    env: Record<string, string | undefined>;
    stateDir: string;
    store?: SessionStore;
    observer?: RunObserver;
    tools?: ToolManager;
    /** False for processes that serve nothing (the CLI's own runs): no gateway secret is looked up or generated. */
    serves?: boolean;
  }) {
    this.logger = options.logger;
    this.plainLogger = plainLinesLogger(options.logger);
    this.env = options.env;
    this.stateDir = options.stateDir;
    this.store = options.store;
    this.observer = options.observer;
    this.tools = options.tools;
    this.serves = options.serves ?? true;
    this.generation = this.build(options.config);
    this.tools?.apply(options.config.mcp.servers);
  }

  get current(): Generation {
    return this.generation;
  }

  /** Builds the next generation first, so a config that cannot be applied leaves the old one running. */
  apply(config: GatewayConfig): void {
    const previous = this.generation;
    this.generation = this.build(config);
    this.tools?.apply(config.mcp.servers);
    previous.retire();
  }

  get activeRuns(): number {
    return this.active;
  }

  /** What the run core needs from this gateway. */
  runDeps(): RunDeps {
    return { store: this.store, logger: this.logger, plainLogger: this.plainLogger, observer: this.observer, track: this.track, shutdown: this.shutdown.signal };
  }

  /** Shutting down: readiness fails and new requests are turned away while the runs in flight finish. */
  get draining(): boolean {
    return this.drainingNow;
  }

  beginDrain(): void {
    this.drainingNow = true;
  }

  /** The shutdown grace ran out: every run still in flight ends now, telling its client why. */
  cutRuns(): void {
    this.shutdown.abort(new Error('the shutdown grace ran out'));
  }

  /** Resolves when no run is in flight (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly track = (): (() => void) => {
    this.active++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.active--;
      if (this.active === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    };
  };

  private build(config: GatewayConfig): Generation {
    if (!this.serves) return new Generation(config, { mode: 'none', source: 'none' }, this.tools);
    const auth = resolveAuth(config, this.env, this.stateDir);
    announceGeneratedToken(auth, this.logger);
    return new Generation(config, auth, this.tools);
  }
}

/** A token generated just now is printed once, on stderr (never logged). */
export function announceGeneratedToken(auth: ReturnType<typeof resolveAuth>, logger: Logger): void {
  if (!('generated' in auth && auth.generated)) return;
  logger.warn({ event: 'auth.token_generated', file: auth.source }, 'no gateway token configured; generated one and stored it');
  process.stderr.write(`\nGenerated a gateway token (stored in ${auth.source}, printed only this once):\n\n  ${auth.secret}\n\nSend it as "Authorization: Bearer <token>".\n\n`);
}
