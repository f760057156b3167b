import type { RunObserver } from '../runs/observer.ts';
import type { GatewayMetrics } from './metrics.ts';

/** The run core's observations as Prometheus metrics, for every transport alike. */
export function metricsObserver(metrics: GatewayMetrics): RunObserver {
  return {
    firstToken(provider, seconds) {
      metrics.timeToFirstToken.observe({ provider }, seconds);
    },
    modelCallFailed(provider, kind) {
      metrics.upstreamErrors.inc({ provider, kind });
    },
    toolCalled({ server, tool, outcome, seconds }) {
      const labels = { server: server || '-', tool: tool || '-' };
      metrics.toolCalls.inc({ ...labels, outcome });
      metrics.toolDuration.observe(labels, seconds);
    },
    runEnded({ transport, outcome, seconds }) {
      metrics.runDuration.observe({ transport, outcome }, seconds);
    },
  };
}
