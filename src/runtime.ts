import type { Logger } from 'pino';
import { resolveAuth, type ResolvedAuth } from './auth/secret.ts';
import { buildRoster, type Roster } from './agents/roster.ts';
import type { RunContext } from './agents/run.ts';
import type { GatewayConfig } from './config/types.ts';
import { ProviderRegistry } from './providers/registry.ts';
import { SessionQueue } from './sessions/queue.ts';
import type { SessionStore } from './sessions/store.ts';

/** Everything derived from one version of the config; a reload swaps the whole generation at once. */
export interface Generation {
  config: GatewayConfig;
  roster: Roster;
  providers: ProviderRegistry;
  auth: ResolvedAuth;
}

/** The gateway's live state: the current config generation plus what outlives reloads. */
export class Runtime {
  private generation: Generation;
  readonly queue = new SessionQueue();
  activeRuns = 0;

  readonly logger: Logger;
  readonly env: Record<string, string | undefined>;
  readonly stateDir: string;
  readonly store: SessionStore | undefined;

  constructor(config: GatewayConfig, logger: Logger, env: Record<string, string | undefined>, stateDir: string, store: SessionStore | undefined) {
    this.logger = logger;
    this.env = env;
    this.stateDir = stateDir;
    this.store = store;
    this.generation = this.build(config);
  }

  get current(): Generation {
    return this.generation;
  }

  /** Builds the next generation first, so a config that cannot be applied leaves the old one running. */
  apply(config: GatewayConfig): void {
    const previous = this.generation;
    this.generation = this.build(config);
    // In-flight runs still hold the old clients; let them finish before closing.
    setTimeout(() => void previous.providers.close(), 60_000).unref();
  }

  runContext(): RunContext {
    const { config, roster, providers } = this.generation;
    return { config, roster, providers, store: this.store, queue: this.queue, logger: this.logger };
  }

  private build(config: GatewayConfig): Generation {
    const auth = resolveAuth(config, this.env, this.stateDir, this.logger);
    if ('generated' in auth && auth.generated) {
      this.logger.warn({ event: 'auth.token_generated', file: auth.source }, 'no gateway token configured; generated one and stored it');
      process.stderr.write(`\nGenerated a gateway token (stored in ${auth.source}, printed only this once):\n\n  ${auth.secret}\n\nSend it as "Authorization: Bearer <token>".\n\n`);
    }
    return { config, roster: buildRoster(config), providers: new ProviderRegistry(config), auth };
  }
}
