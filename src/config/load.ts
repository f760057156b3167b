import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import JSON5 from 'json5';
import type { ErrorObject } from 'ajv';
import { validate as validateConfigSchema } from '../../generated/config-validator.ts';
import { ConfigError } from '../errors.ts';
import type { AgentConfig, ConfigFile, GatewayConfig, ModelChoice } from './types.ts';

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

/** Why a config file could not be read as a config at all (as opposed to one that does not validate). */
export class ConfigFileMissingError extends ConfigError {}
export class ConfigFileEmptyError extends ConfigError {}

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
    if (code === 'ENOENT') {
      if (!mustExist) return parseConfig({}, env);
      throw new ConfigFileMissingError(`Config file ${path} does not exist; create it, or point --config / OPENCLAW_CONFIG_PATH at an existing file.`);
    }
    if (code === 'EACCES') throw new ConfigError(`Config file ${path} is not readable by this user (EACCES); fix its permissions.`);
    if (code === 'EISDIR') throw new ConfigError(`Config file ${path} is a folder; name a JSON5 file instead.`);
    if (code === 'ENOTDIR') {
      throw new ConfigError(`Config file ${path} cannot be read: part of its path is a file, not a folder. ${mustExist ? 'Point --config / OPENCLAW_CONFIG_PATH at a JSON5 file.' : 'Point OPENCLAW_STATE_DIR at a folder.'}`);
    }
    throw new ConfigError(`Cannot read config file ${path}: ${code ?? String(error)}`);
  }
  if (text.trim() === '') throw new ConfigFileEmptyError(`Config file ${path} is empty; write at least {} in it.`);
  let raw: unknown;
  try {
    raw = JSON5.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON5: ${describeSyntaxError(error as Error & { lineNumber?: number; columnNumber?: number }, text)}`);
  }
  try {
    return parseConfig(raw, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`Invalid config ${path}`, error.problems.length ? error.problems : [error.message]);
    throw error;
  }
}

/** JSON5's message, its line and column, and the usual reason for it. */
function describeSyntaxError(error: Error & { lineNumber?: number; columnNumber?: number }, text: string): string {
  // JSON5 ends its message with "at <line>:<column>"; the position is given once, in words, below.
  const message = error.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
  if (error.lineNumber === undefined || error.columnNumber === undefined) return message;
  const lines = text.split('\n');
  const line = lines[error.lineNumber - 1] ?? '';
  const startsTheLine = line.slice(0, error.columnNumber - 1).trim() === '';
  const previous = lines
    .slice(0, error.lineNumber - 1)
    .map((l) => l.replace(/\/\/.*$/, '').trim())
    .filter((l) => l !== '')
    .pop();
  let hint = '';
  if (/invalid end of input/.test(message)) hint = ' (a bracket or brace is not closed)';
  else if (startsTheLine && previous !== undefined && !/[,{[]$/.test(previous)) hint = ` (a comma may be missing at the end of line ${lastLineOf(lines, previous, error.lineNumber)})`;
  else if (/invalid character '"'/.test(message) || /invalid identifier character/.test(message)) hint = ' (a comma may be missing after the previous value)';
  else if (/invalid character/.test(message)) hint = ' (check quotes and commas around it)';
  return `${message} at line ${error.lineNumber}, column ${error.columnNumber}${hint}\n    ${line.trim().slice(0, 120)}`;
}

/** The number of the last line before `before` whose content (comments stripped) is `content`. */
function lastLineOf(lines: string[], content: string, before: number): number {
  for (let index = before - 2; index >= 0; index--) if (lines[index].replace(/\/\/.*$/, '').trim() === content) return index + 1;
  return before - 1;
}

/**
 * A raw config object (as parsed from JSON5) as the config the gateway runs with: `${ENV}`
 * references substituted first (all missing variables reported at once), then validated against
 * the schema (which fills in defaults), then agents resolved against `agents.defaults`.
 */
export function parseConfig(raw: unknown, env: Env): GatewayConfig {
  const missing: string[] = [];
  const substituted = substituteEnv(raw, env, '', missing);
  if (missing.length > 0) {
    throw new ConfigError('Invalid config', [`environment variables not set: ${missing.join(', ')}; set them, or write the values into the config`]);
  }
  const validate = validateConfigSchema as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
  if (!validate(substituted)) throw new ConfigError('Invalid config', describeSchemaErrors(validate.errors ?? []));
  const file = substituted as ConfigFile;
  const config: GatewayConfig = { ...file, agents: resolveAgents(file.agents) };
  checkSemantics(config);
  return config;
}

function resolveAgents(agents: ConfigFile['agents']): GatewayConfig['agents'] {
  const { model, images, tools, ...rest } = agents.defaults;
  const defaults = { ...rest, model: toModelChoice(model), images: { allowUrl: images.allowUrl }, tools: { allow: [...tools.allow], deny: [...tools.deny] } };
  const list = agents.list.map((agent): AgentConfig => ({
    ...defaults,
    ...agent,
    default: agent.default ?? false,
    model: agent.model ? toModelChoice(agent.model) : defaults.model,
    images: { allowUrl: agent.images?.allowUrl ?? defaults.images.allowUrl },
    // A default deny cannot be escaped by an agent; its allow list is its own when it has one.
    tools: { allow: [...(agent.tools?.allow ?? defaults.tools.allow)], deny: [...defaults.tools.deny, ...(agent.tools?.deny ?? [])] },
  }));
  return { defaults, list };
}

function toModelChoice(raw: string | { primary: string; fallbacks?: readonly string[] }): ModelChoice {
  return typeof raw === 'string' ? { primary: raw, fallbacks: [] } : { primary: raw.primary, fallbacks: [...(raw.fallbacks ?? [])] };
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
    const stated = (error.parentSchema as { 'x-expect'?: string } | undefined)?.['x-expect'];
    if (stated && (error.keyword === 'pattern' || error.keyword === 'type')) expected = stated;
    if (error.keyword === 'enum') expected = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    if (error.keyword === 'propertyNames' || (error.keyword === 'pattern' && error.propertyName !== undefined)) {
      const name = (error.params as { propertyName?: string }).propertyName ?? error.propertyName;
      const key = `${path ? `${path}.` : ''}${name}`;
      // The pattern's own error (with its x-expect wording) comes before the propertyNames summary.
      if (!byPath.has(key)) byPath.set(key, stated ?? 'is not an allowed name');
      continue;
    }
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

/** Every `${NAME}` in a string value replaced from the environment; names that are unset are collected in `missing`. */
function substituteEnv(value: unknown, env: Env, path: string, missing: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
      const resolved = env[name];
      if (resolved === undefined || resolved === '') {
        missing.push(`${name} (${path || '(root)'})`);
        return match;
      }
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, `${path}[${index}]`, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, path ? `${path}.${key}` : key, missing)]));
  }
  return value;
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
  for (const [name, server] of Object.entries(config.mcp.servers)) {
    const where = `mcp.servers.${name}`;
    if (server.command !== undefined && server.url !== undefined) problems.push(`${where}: set either command (a stdio server) or url (a streamable HTTP server), not both`);
    else if (server.command === undefined && server.url === undefined) problems.push(`${where}: needs command (a stdio server) or url (a streamable HTTP server)`);
    else if (server.url !== undefined) {
      for (const key of ['args', 'env', 'cwd'] as const) {
        if (server[key] !== undefined) problems.push(`${where}.${key}: only for a stdio server (command)`);
      }
    } else if (server.headers !== undefined) problems.push(`${where}.headers: only for a streamable HTTP server (url)`);
  }
  const sessionStore = config.sessions.store;
  if (sessionStore.driver === 'postgres' && !sessionStore.url) problems.push('sessions.store.url: required with driver "postgres"');
  if (sessionStore.url && !/^postgres(?:ql)?:\/\//.test(sessionStore.url)) problems.push('sessions.store.url: must be a postgres:// or postgresql:// URL');
  const limiterStore = config.gateway.auth.rateLimit.store;
  if (limiterStore.driver === 'redis' && !limiterStore.url) problems.push('gateway.auth.rateLimit.store.url: required with driver "redis"');
  if (limiterStore.url && !/^rediss?:\/\//.test(limiterStore.url)) problems.push('gateway.auth.rateLimit.store.url: must be a redis:// or rediss:// URL');
  const { headersTimeoutMs, requestTimeoutMs } = config.gateway.http;
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    problems.push(`gateway.http.headersTimeoutMs: must not exceed gateway.http.requestTimeoutMs (${requestTimeoutMs})`);
  }
  if (problems.length > 0) throw new ConfigError('Invalid config', problems);
}
