import { loadConfigFile, resolveConfigPath } from '../config/load.ts';
import type { GatewayConfig } from '../config/types.ts';

/**
 * The config a CLI command runs with (`--config` > `OPENCLAW_CONFIG_PATH` > state dir), or
 * undefined after printing why it could not be loaded (the caller exits 2).
 */
export function loadCliConfig(flag: string | undefined, env: Record<string, string | undefined>): { config: GatewayConfig; configPath: string } | undefined {
  const { path: configPath, explicit } = resolveConfigPath(flag, env);
  try {
    return { config: loadConfigFile(configPath, env, { mustExist: explicit }), configPath };
  } catch (error) {
    process.stderr.write(`openclaw: ${(error as Error).message}\n`);
    return undefined;
  }
}
