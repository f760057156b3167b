// The config after validation and defaults: every field the gateway reads is present here, so no
// module has to know a default.

export type AuthMode = 'token' | 'password' | 'none';

export interface RateLimitConfig {
  enabled: boolean;
  maxAttempts: number;
  windowMs: number;
  lockoutMs: number;
  exemptLoopback: boolean;
}

export interface GatewayConfig {
  gateway: {
    port: number;
    bind: string;
    trustProxy: boolean;
    auth: {
      mode: AuthMode;
      token?: string;
      password?: string;
      rateLimit: RateLimitConfig;
    };
    http: {
      maxBodyBytes: number;
      keepAliveIntervalMs: number;
      headersTimeoutMs: number;
      requestTimeoutMs: number;
      shutdownGraceMs: number;
      cors: { origins: string[] };
      endpoints: { chatCompletions: { enabled: boolean } };
    };
    ws: { maxPayloadBytes: number; heartbeatIntervalMs: number };
    metrics: { enabled: boolean; loopbackOnly: boolean };
  };
  models: { providers: Record<string, ProviderConfig> };
  agents: {
    defaults: AgentDefaults;
    list: AgentConfig[];
  };
  sessions: { maxHistoryMessages: number };
}

export interface ProviderConfig {
  api: 'openai-completions' | 'echo';
  baseUrl?: string;
  apiKey?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxRetries: number;
  /** First retry delay; each further retry doubles it (with jitter). */
  retryBaseDelayMs: number;
  /** When listed, `x-openclaw-model` may only name these. */
  models?: string[];
}

export interface ModelChoice {
  primary: string;
  fallbacks: string[];
}

export interface AgentDefaults {
  model: ModelChoice;
  timeoutSeconds: number;
  systemPrompt?: string;
  images: { allowUrl: boolean };
}

export interface AgentConfig {
  id: string;
  default: boolean;
  name?: string;
  model: ModelChoice;
  systemPrompt?: string;
  timeoutSeconds: number;
  images: { allowUrl: boolean };
}
