import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import JSON5 from 'json5';
import type { ErrorObject } from 'ajv';
import { validate as validateConfigSchema } from '../../generated/config-validator.ts';
import { ConfigError } from '../errors.ts';
import type { AgentConfig, GatewayConfig, ModelChoice, ProviderConfig } from './types.ts';

export const DEFAULT_PORT = 18789;
export const BUILTIN_ECHO_PROVIDER = 'echo';

type Env = Record<string, string | undefined>;

export function resolveStateDir(env: Env): string {
  return resolve(env.OPENCLAW_STATE_DIR || join(homedir(), '.openclaw'));
}

/** `--config` > `OPENCLAW_CONFIG_PATH` > `<stateDir>/openclaw.json`. */
export function resolveConfigPath(flag: string | undefined, env: Env): { path: string; explicit: boolean } {
  if (flag) return { path: resolve(flag), explicit: true };
  if (env.OPENCLAW_CONFIG_PATH) return { path: resolve(env.OPENCLAW_CONFIG_PATH), explicit: true };
  return { path: join(resolveStateDir(env), 'openclaw.json'), explicit: false };
}

/**
 * Reads and validates the config file. A missing file is an empty config (the endpoint stays
 * disabled) unless the operator named the file explicitly, where missing is an error.
 */
export function loadConfigFile(path: string, env: Env, { mustExist = false } = {}): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !mustExist) return parseConfig({}, env);
    throw new ConfigError(`Cannot read config file ${path}: ${code ?? String(error)}`);
  }
  let raw: unknown;
  try {
    raw = JSON5.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON5: ${(error as Error).message}`);
  }
  try {
    return parseConfig(raw, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`Invalid config ${path}`, error.problems.length ? error.problems : [error.message]);
    throw error;
  }
}

/** Validates a raw config object (as parsed from JSON5), substitutes `${ENV}` and applies defaults. */
export function parseConfig(raw: unknown, env: Env): GatewayConfig {
  const validate = compiledValidator();
  if (!validate(raw)) {
    throw new ConfigError('Invalid config', describeSchemaErrors(validate.errors ?? []));
  }
  const substituted = substituteEnv(raw, env, []) as RawConfig;
  return applyDefaults(substituted);
}

/** The config schema compiled ahead of time by `npm run generate` (ajv standalone; check:generated keeps it in step). */
function compiledValidator(): ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } {
  return validateConfigSchema as never;
}

function describeSchemaErrors(errors: ErrorObject[]): string[] {
  const byPath = new Map<string, string>();
  for (const error of errors) {
    const path = pointerToKeyPath(error.instancePath);
    if (error.keyword === 'additionalProperties') {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      byPath.set(`${path ? `${path}.` : ''}${key}`, 'unknown key');
      continue;
    }
    if (error.keyword === 'oneOf' || byPath.has(path || '(root)')) continue;
    let expected = error.message ?? 'is invalid';
    if (error.keyword === 'enum') expected = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    if (error.keyword === 'pattern' && /model/.test(path)) expected = 'must be "<provider>/<model>" or {primary, fallbacks}';
    if (error.keyword === 'pattern' && path.endsWith('.id')) expected = 'must match [a-z0-9][a-z0-9_-]{0,63}';
    byPath.set(path || '(root)', expected);
  }
  return [...byPath].map(([path, problem]) => `${path}: ${problem}`);
}

function pointerToKeyPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
    .join('')
    .replace(/^\./, '');
}

function substituteEnv(value: unknown, env: Env, path: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const resolved = env[name];
      if (resolved === undefined || resolved === '') {
        throw new ConfigError('Invalid config', [`${path.join('.') || '(root)'}: environment variable ${name} is not set`]);
      }
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, [...path.slice(0, -1), `${path.at(-1) ?? ''}[${index}]`]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, [...path, key])]));
  }
  return value;
}

// The raw shape mirrors the schema; fields are optional until defaults are applied.
interface RawConfig {
  gateway?: {
    port?: number;
    bind?: string;
    trustProxy?: boolean;
    auth?: { mode?: 'token' | 'password' | 'none'; token?: string; password?: string; rateLimit?: Partial<GatewayConfig['gateway']['auth']['rateLimit']> };
    http?: Partial<Omit<GatewayConfig['gateway']['http'], 'cors' | 'endpoints'>> & {
      cors?: { origins?: string[] };
      endpoints?: { chatCompletions?: { enabled?: boolean } };
    };
    ws?: Partial<GatewayConfig['gateway']['ws']>;
    metrics?: Partial<GatewayConfig['gateway']['metrics']>;
  };
  models?: { providers?: Record<string, Partial<ProviderConfig> & { api: ProviderConfig['api'] }> };
  agents?: {
    defaults?: { model?: RawModelChoice; timeoutSeconds?: number; systemPrompt?: string; images?: { allowUrl?: boolean } };
    list?: Array<{ id: string; default?: boolean; name?: string; model?: RawModelChoice; systemPrompt?: string; timeoutSeconds?: number; images?: { allowUrl?: boolean } }>;
  };
  sessions?: { maxHistoryMessages?: number };
}
type RawModelChoice = string | { primary: string; fallbacks?: string[] };

function toModelChoice(raw: RawModelChoice): ModelChoice {
  return typeof raw === 'string' ? { primary: raw, fallbacks: [] } : { primary: raw.primary, fallbacks: raw.fallbacks ?? [] };
}

function applyDefaults(raw: RawConfig): GatewayConfig {
  const gateway = raw.gateway ?? {};
  const http = gateway.http ?? {};
  const defaults = raw.agents?.defaults ?? {};
  const agentDefaults = {
    model: toModelChoice(defaults.model ?? `${BUILTIN_ECHO_PROVIDER}/echo`),
    timeoutSeconds: defaults.timeoutSeconds ?? 600,
    systemPrompt: defaults.systemPrompt,
    images: { allowUrl: defaults.images?.allowUrl ?? false },
  };
  const list: AgentConfig[] = (raw.agents?.list ?? [{ id: 'main' }]).map((agent) => ({
    id: agent.id,
    default: agent.default ?? false,
    name: agent.name,
    model: agent.model ? toModelChoice(agent.model) : agentDefaults.model,
    systemPrompt: agent.systemPrompt ?? agentDefaults.systemPrompt,
    timeoutSeconds: agent.timeoutSeconds ?? agentDefaults.timeoutSeconds,
    images: { allowUrl: agent.images?.allowUrl ?? agentDefaults.images.allowUrl },
  }));
  const providers: Record<string, ProviderConfig> = {};
  for (const [name, provider] of Object.entries(raw.models?.providers ?? {})) {
    providers[name] = {
      api: provider.api,
      baseUrl: provider.baseUrl,
      apiKey: provider.apiKey,
      headers: provider.headers ?? {},
      timeoutMs: provider.timeoutMs ?? 600_000,
      maxRetries: provider.maxRetries ?? 2,
      retryBaseDelayMs: provider.retryBaseDelayMs ?? 250,
      models: provider.models,
    };
  }
  const config: GatewayConfig = {
    gateway: {
      port: gateway.port ?? DEFAULT_PORT,
      bind: gateway.bind ?? 'loopback',
      trustProxy: gateway.trustProxy ?? false,
      auth: {
        mode: gateway.auth?.mode ?? 'token',
        token: gateway.auth?.token,
        password: gateway.auth?.password,
        rateLimit: {
          enabled: gateway.auth?.rateLimit?.enabled ?? true,
          maxAttempts: gateway.auth?.rateLimit?.maxAttempts ?? 10,
          windowMs: gateway.auth?.rateLimit?.windowMs ?? 60_000,
          lockoutMs: gateway.auth?.rateLimit?.lockoutMs ?? 300_000,
          exemptLoopback: gateway.auth?.rateLimit?.exemptLoopback ?? true,
        },
      },
      http: {
        maxBodyBytes: http.maxBodyBytes ?? 20 * 1024 * 1024,
        keepAliveIntervalMs: http.keepAliveIntervalMs ?? 15_000,
        headersTimeoutMs: http.headersTimeoutMs ?? 30_000,
        requestTimeoutMs: http.requestTimeoutMs ?? 120_000,
        shutdownGraceMs: http.shutdownGraceMs ?? 10_000,
        cors: { origins: http.cors?.origins ?? [] },
        endpoints: { chatCompletions: { enabled: http.endpoints?.chatCompletions?.enabled ?? false } },
      },
      ws: {
        maxPayloadBytes: gateway.ws?.maxPayloadBytes ?? 1024 * 1024,
        heartbeatIntervalMs: gateway.ws?.heartbeatIntervalMs ?? 30_000,
      },
      metrics: { enabled: gateway.metrics?.enabled ?? false, loopbackOnly: gateway.metrics?.loopbackOnly ?? true },
    },
    models: { providers },
    agents: { defaults: agentDefaults, list },
    sessions: { maxHistoryMessages: raw.sessions?.maxHistoryMessages ?? 200 },
  };
  checkSemantics(config);
  return config;
}

/** Rules a JSON Schema cannot say: references between sections, and the default-agent rule. */
function checkSemantics(config: GatewayConfig): void {
  const problems: string[] = [];
  const ids = new Set<string>();
  config.agents.list.forEach((agent, index) => {
    if (ids.has(agent.id)) problems.push(`agents.list[${index}].id: duplicate agent id "${agent.id}"`);
    ids.add(agent.id);
  });
  const marked = config.agents.list.filter((agent) => agent.default);
  if (marked.length > 1) problems.push(`agents.list: only one agent may be marked default (found ${marked.map((a) => a.id).join(', ')})`);
  if (marked.length === 0 && config.agents.list.length > 1 && !ids.has('main')) {
    problems.push('agents.list: several agents are configured but none is marked `default: true` and none is named "main"; mark one as the default');
  }
  if (config.agents.list.length === 0) problems.push('agents.list: at least one agent is required');
  const checkModel = (ref: string, where: string) => {
    const provider = ref.slice(0, ref.indexOf('/'));
    if (provider !== BUILTIN_ECHO_PROVIDER && !config.models.providers[provider]) {
      problems.push(`${where}: provider "${provider}" is not configured in models.providers`);
    }
  };
  const checkChoice = (choice: ModelChoice, where: string) => {
    checkModel(choice.primary, `${where}.primary`);
    choice.fallbacks.forEach((ref, index) => checkModel(ref, `${where}.fallbacks[${index}]`));
  };
  checkChoice(config.agents.defaults.model, 'agents.defaults.model');
  config.agents.list.forEach((agent, index) => checkChoice(agent.model, `agents.list[${index}].model`));
  for (const [name, provider] of Object.entries(config.models.providers)) {
    if (provider.api === 'openai-completions' && !provider.baseUrl) problems.push(`models.providers.${name}.baseUrl: required for api "openai-completions"`);
  }
  const { headersTimeoutMs, requestTimeoutMs } = config.gateway.http;
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    problems.push(`gateway.http.headersTimeoutMs: must not exceed gateway.http.requestTimeoutMs (${requestTimeoutMs})`);
  }
  if (problems.length > 0) throw new ConfigError('Invalid config', problems);
}
