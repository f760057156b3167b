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
    sessionLockWaited(seconds, acquired) {
      metrics.sessionLockWait.observe({ outcome: acquired ? 'acquired' : 'gave_up' }, seconds);
    },
    runEnded({ transport, outcome, seconds, agentId, model, usage }) {
      metrics.runDuration.observe({ transport, outcome }, seconds);
      if (!usage) return;
      const labels = { agent: agentId, model: model ?? 'unknown' };
      if (usage.inputTokens) metrics.tokens.inc({ ...labels, type: 'input' }, usage.inputTokens);
      if (usage.outputTokens) metrics.tokens.inc({ ...labels, type: 'output' }, usage.outputTokens);
      if (usage.cachedInputTokens) metrics.tokens.inc({ ...labels, type: 'cached_input' }, usage.cachedInputTokens);
      if (usage.reasoningTokens) metrics.tokens.inc({ ...labels, type: 'reasoning' }, usage.reasoningTokens);
    },
  };
}
