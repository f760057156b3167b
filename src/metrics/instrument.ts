import type { RunContext } from '../agents/run.ts';
import type { ProviderRegistry, ResolvedModel } from '../providers/registry.ts';
import { ProviderError, type Provider, type ProviderEvent, type ProviderRequest } from '../providers/types.ts';
import type { Runtime } from '../runtime.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * Observes every provider call from the outside: the run contexts the runtime hands out (to HTTP,
 * WebSocket and CLI runs alike) get a registry whose providers time the first delta and count
 * failures. The run code itself is untouched.
 */
export function instrumentRuntime(runtime: Runtime, metrics: GatewayMetrics): void {
  const base = runtime.runContext.bind(runtime);
  const wrapped = new WeakMap<ProviderRegistry, ProviderRegistry>();
  runtime.runContext = (): RunContext => {
    const ctx = base();
    let providers = wrapped.get(ctx.providers);
    if (!providers) {
      providers = instrumentRegistry(ctx.providers, metrics);
      wrapped.set(ctx.providers, providers);
    }
    return { ...ctx, providers };
  };
}

function instrumentRegistry(registry: ProviderRegistry, metrics: GatewayMetrics): ProviderRegistry {
  const providers = new WeakMap<Provider, Provider>();
  const observed = Object.create(registry) as ProviderRegistry;
  observed.resolve = (ref: string): ResolvedModel => {
    const model = registry.resolve(ref);
    let provider = providers.get(model.provider);
    if (!provider) {
      provider = instrumentProvider(model.provider, model.providerName, metrics);
      providers.set(model.provider, provider);
    }
    return { ...model, provider };
  };
  return observed;
}

function instrumentProvider(provider: Provider, providerName: string, metrics: GatewayMetrics): Provider {
  return {
    name: provider.name,
    close: provider.close?.bind(provider),
    async *stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
      const started = process.hrtime.bigint();
      let first = true;
      try {
        for await (const event of provider.stream(request)) {
          if (first && event.type !== 'finish') {
            first = false;
            metrics.timeToFirstToken.observe({ provider: providerName }, Number(process.hrtime.bigint() - started) / 1e9);
          }
          yield event;
        }
      } catch (error) {
        if (!request.signal.aborted) metrics.upstreamErrors.inc({ provider: providerName, kind: error instanceof ProviderError ? error.kind : 'other' });
        throw error;
      }
    },
  };
}
