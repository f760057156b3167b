import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  readonly upstreamErrors: Counter<'provider' | 'kind'>;
  readonly toolCalls: Counter<'server' | 'tool' | 'outcome'>;
  readonly toolDuration: Histogram<'server' | 'tool'>;

  constructor(options: { activeRuns?: () => number } = {}) {
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
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
