import { BUILTIN_ECHO_PROVIDER } from '../config/load.ts';
import type { GatewayConfig, ProviderConfig } from '../config/types.ts';
import { NotFoundError } from '../errors.ts';
import { EchoProvider } from './echo.ts';
import { OpenAICompatibleProvider } from './openai-compatible.ts';
import type { Provider } from './types.ts';

export interface ResolvedModel {
  ref: string;
  providerName: string;
  model: string;
  provider: Provider;
  config?: ProviderConfig;
}

/** Provider clients for one config generation; a reload builds a new registry. */
export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();
  private readonly config: GatewayConfig;

  constructor(config: GatewayConfig) {
    this.config = config;
  }

  resolve(ref: string): ResolvedModel {
    const slash = ref.indexOf('/');
    const providerName = slash > 0 ? ref.slice(0, slash) : '';
    const model = slash > 0 ? ref.slice(slash + 1) : '';
    const config = this.config.models.providers[providerName];
    if (!model || (!config && providerName !== BUILTIN_ECHO_PROVIDER)) {
      throw new NotFoundError(`The model \`${ref}\` is not served by any configured provider (use <provider>/<model>).`, { param: null, code: 'model_not_found' });
    }
    if (config?.models && !config.models.includes(model)) {
      throw new NotFoundError(`Provider ${providerName} does not list model \`${model}\`; it lists: ${config.models.join(', ')}.`, { param: null, code: 'model_not_found' });
    }
    return { ref, providerName, model, provider: this.providerFor(providerName, config), config };
  }

  private providerFor(name: string, config: ProviderConfig | undefined): Provider {
    let provider = this.providers.get(name);
    if (!provider) {
      provider = !config || config.api === 'echo' ? new EchoProvider() : new OpenAICompatibleProvider(name, config);
      this.providers.set(name, provider);
    }
    return provider;
  }

  /** Loads the clients of every configured provider ahead of the first run. */
  async warmUp(): Promise<void> {
    for (const [name, config] of Object.entries(this.config.models.providers)) await this.providerFor(name, config).warmUp?.();
  }

  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((provider) => provider.close?.()));
  }
}
