import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../sessions/store.ts';

export type { Transport } from '../runs/request.ts';

/**
 * The gateway's Prometheus metrics, in a Registry of its own: never prom-client's global default,
 * so several gateways in one process (the tests start many) each count only their own traffic.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly runDuration: Histogram<'transport' | 'outcome'>;
  readonly timeToFirstToken: Histogram<'provider'>;
  readonly activeStreams: Gauge<'transport'>;
  readonly wsConnections: Gauge;
  readonly authFailures: Counter<'transport' | 'reason'>;
  readonly lockouts: Counter<'transport'>;
  readonly addressLimitRefusals: Counter<'limit' | 'transport'>;
  readonly upstreamErrors: Counter<'provider' | 'kind'>;
  readonly toolCalls: Counter<'server' | 'tool' | 'outcome'>;
  readonly toolDuration: Histogram<'server' | 'tool'>;
  readonly sessionLockWait: Histogram<'outcome'>;
  readonly tokens: Counter<'agent' | 'model' | 'type'>;
  private readonly processMetrics: Registry | undefined;

  /** `processMetrics`: the process's own metrics (src/metrics/process.ts), served along with the gateway's. */
  constructor(options: { activeRuns?: () => number; sessionStorePool?: () => PoolStats | undefined; processMetrics?: Registry } = {}) {
    this.processMetrics = options.processMetrics;
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'openclaw_http_requests_total',
      help: 'HTTP requests answered, by route template, method and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'openclaw_agent_run_duration_seconds',
      help: 'Duration of agent runs, from accepting the request to the last byte of the reply.',
      labelNames: ['transport', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'openclaw_agent_time_to_first_token_seconds',
      help: 'Time from calling a provider to its first content or tool-call delta.',
      labelNames: ['provider'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.activeStreams = new Gauge({
      name: 'openclaw_active_streams',
      help: 'Replies being streamed right now (SSE responses and WebSocket agent runs).',
      labelNames: ['transport'],
      registers,
    });
    this.activeStreams.set({ transport: 'http' }, 0);
    this.activeStreams.set({ transport: 'ws' }, 0);
    this.wsConnections = new Gauge({ name: 'openclaw_ws_connections', help: 'Open WebSocket connections.', registers });
    const activeRuns = options.activeRuns;
    if (activeRuns) {
      new Gauge({
        name: 'openclaw_active_runs',
        help: 'Agent runs in flight, all transports.',
        registers,
        collect() {
          this.set(activeRuns());
        },
      });
    }
    this.authFailures = new Counter({
      name: 'openclaw_auth_failures_total',
      help: 'Requests refused for missing or wrong credentials.',
      labelNames: ['transport', 'reason'],
      registers,
    });
    this.lockouts = new Counter({
      name: 'openclaw_auth_lockouts_total',
      help: 'Requests refused because their address is locked out after failed attempts.',
      labelNames: ['transport'],
      registers,
    });
    this.addressLimitRefusals = new Counter({
      name: 'openclaw_address_limit_refusals_total',
      help: 'Connections and runs refused because their client address was at its limit (gateway.http.maxConnectionsPerAddress, maxConcurrentRunsPerAddress), by limit (connections, runs) and transport.',
      labelNames: ['limit', 'transport'],
      registers,
    });
    this.sessionLockWait = new Histogram({
      name: 'openclaw_session_lock_wait_seconds',
      help: 'Time a run waited for its session lock (held by an earlier run on this or another replica), by outcome (acquired, gave_up).',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const pool = options.sessionStorePool;
    if (pool) {
      new Gauge({
        name: 'openclaw_session_store_pool_connections',
        help: 'Session store connections (PostgreSQL): busy, idle, waiting (callers queued for a connection) and max (the pool size).',
        labelNames: ['state'],
        registers,
        collect() {
          const stats = pool();
          if (!stats) return;
          this.set({ state: 'busy' }, stats.total - stats.idle);
          this.set({ state: 'idle' }, stats.idle);
          this.set({ state: 'waiting' }, stats.waiting);
          this.set({ state: 'max' }, stats.max);
        },
      });
    }
    this.upstreamErrors = new Counter({
      name: 'openclaw_upstream_errors_total',
      help: 'Failed provider calls (each attempt), by provider and kind of failure.',
      labelNames: ['provider', 'kind'],
      registers,
    });
    this.toolCalls = new Counter({
      name: 'openclaw_tool_calls_total',
      help: 'Server (MCP) tool calls the gateway answered, by server, tool and outcome (calls never executed, to a tool no server has, count as server and tool "-").',
      labelNames: ['server', 'tool', 'outcome'],
      registers,
    });
    this.toolDuration = new Histogram({
      name: 'openclaw_tool_call_duration_seconds',
      help: 'Duration of server (MCP) tool calls, from the gateway sending the call to its answer.',
      labelNames: ['server', 'tool'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.tokens = new Counter({
      name: 'openclaw_tokens_total',
      help: 'Tokens the providers reported for finished model calls, by agent, model ("<provider>/<model>") and type (input, output, cached_input, reasoning).',
      labelNames: ['agent', 'model', 'type'],
      registers,
    });
  }

  render(): Promise<string> {
    return this.processMetrics ? Registry.merge([this.registry, this.processMetrics]).metrics() : this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
