// The config file's JSON Schema (its sections but `gateway` in schema-*.ts): the one place that
// says what each key is, what it defaults to and what it means. Validation (ajv, compiled ahead of
// time with `useDefaults`), the TypeScript types (src/config/types.ts, derived from this object)
// and the configuration reference (docs/configuration.md, generated) all come from it. Unknown keys
// are errors everywhere: a typo must never be silently ignored. `x-expect` is the wording of an
// error for a value that fails a pattern, in the operator's terms.

import { agentsSchema } from './schema-agents.ts';
import { nonNegativeInt, positiveInt } from './schema-integers.ts';
import { mcpSchema } from './schema-mcp.ts';
import { modelsSchema } from './schema-models.ts';
import { sessionsSchema } from './schema-sessions.ts';

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    $schema: { type: 'string', description: 'Ignored; lets editors find a schema.' },
    // Written out here rather than in a module of its own: bench/ab.ts and bench/instructions.ts read
    // this file to tell whether a checkout has the per-address limits (`maxConnectionsPerAddress`).
    gateway: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 18789, description: 'Port for HTTP and the WebSocket (`--port` and `OPENCLAW_GATEWAY_PORT` win). Applies at the next restart.' },
        bind: {
          type: 'string',
          minLength: 1,
          default: 'loopback',
          description: '`loopback` (127.0.0.1 and ::1), `lan` (0.0.0.0) or an address (`--bind` wins). Applies at the next restart.',
        },
        trustProxy: {
          type: 'boolean',
          default: false,
          description: 'Behind one reverse proxy: the client is the address it appended to `X-Forwarded-For` (the last entry).',
        },
        auth: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'How clients authenticate: `Authorization: Bearer <secret>` on every `/v1` route and the WebSocket.',
          properties: {
            mode: { enum: ['token', 'password', 'none'], default: 'token', description: '`none` is refused on any bind beyond loopback.' },
            token: { type: 'string', minLength: 1, description: 'The bearer token (mode `token`); else `OPENCLAW_GATEWAY_TOKEN`, else one generated once into the state dir.' },
            password: { type: 'string', minLength: 1, description: 'The bearer password (mode `password`); else `OPENCLAW_GATEWAY_PASSWORD`.' },
            rateLimit: {
              type: 'object',
              additionalProperties: false,
              default: {},
              description: 'Lockout after repeated wrong secrets, per client address (IPv6 per /64).',
              properties: {
                enabled: { type: 'boolean', default: true, description: 'Count failed authentications at all.' },
                maxAttempts: { ...positiveInt, default: 10, description: 'Wrong secrets allowed within `windowMs` before the lockout.' },
                windowMs: { ...positiveInt, default: 60_000, description: 'Window the failures are counted in.' },
                lockoutMs: { ...positiveInt, default: 300_000, description: 'How long a locked-out address gets 429.' },
                exemptLoopback: { type: 'boolean', default: true, description: 'Loopback clients are never locked out.' },
                store: {
                  type: 'object',
                  additionalProperties: false,
                  default: {},
                  description: 'Where failure counts and lockouts are kept. Applies at the next restart.',
                  properties: {
                    driver: {
                      enum: ['memory', 'redis'],
                      default: 'memory',
                      description:
                        '`memory`: this process only (with `--workers`, all the workers of the gateway: the supervisor keeps the counts). `redis`: shared by every replica, so a client locked out on one is locked out on all; while Redis is unreachable each process counts on its own (logged, and shown in `/ready`).',
                    },
                    url: { type: 'string', minLength: 1, description: 'Redis URL (`redis://host:6379`, `rediss://` for TLS); required with driver `redis`. `"${REDIS_URL}"` reads it from the environment.' },
                  },
                },
              },
            },
          },
        },
        http: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'HTTP limits, timeouts and endpoints.',
          properties: {
            maxBodyBytes: { ...positiveInt, default: 20 * 1024 * 1024, description: 'Largest request body; larger is 413.' },
            maxJsonDepth: {
              type: 'integer',
              minimum: 8,
              maximum: 512,
              default: 64,
              description: 'Deepest nesting of objects and arrays a JSON request body (or WebSocket frame) may have; deeper is 400 `json_too_deep`, refused before it is parsed.',
            },
            keepAliveIntervalMs: { ...positiveInt, default: 15_000, description: 'A `: keep-alive` comment is sent when a stream has been silent this long.' },
            headersTimeoutMs: { ...positiveInt, default: 30_000, description: 'Time a client has to send its request headers.' },
            requestTimeoutMs: { ...nonNegativeInt, default: 120_000, description: 'Time a client has to send its whole request (0: no limit). Never limits a streamed reply.' },
            keepAliveTimeoutMs: {
              ...positiveInt,
              default: 5_000,
              description:
                'How long an idle keep-alive connection is kept open for the client’s next request (announced in `Keep-Alive: timeout=…`). Behind a load balancer or reverse proxy that reuses connections, set it above that proxy’s idle timeout, so that the proxy, not the gateway, closes idle connections (otherwise a request the proxy sends just as the gateway closes fails with a reset).',
            },
            maxConnectionsPerAddress: {
              ...nonNegativeInt,
              default: 256,
              description:
                'Open connections (HTTP keep-alive and WebSocket) one client address may hold (an IPv6 client counts as its /64; loopback too); a connection beyond is answered 429 `too_many_connections` at its first request, then closed. Counts socket peers, so it is not applied while `gateway.trustProxy` (every connection then comes from the proxy). 0: no limit. Per process.',
            },
            maxConcurrentRunsPerAddress: {
              ...nonNegativeInt,
              default: 64,
              description:
                'Runs in flight one client address may have at once, over `/v1/chat/completions`, `/v1/responses` and the WebSocket\'s `agent.run` together (the address as `gateway.trustProxy` decides it; an IPv6 client counts as its /64; loopback too); a run beyond is refused before its first byte with 429 `too_many_concurrent_runs`. 0: no limit. Per process.',
            },
            shutdownGraceMs: { ...nonNegativeInt, default: 10_000, description: 'On SIGINT/SIGTERM, how long in-flight runs may finish before they are cut.' },
            cors: {
              type: 'object',
              additionalProperties: false,
              default: {},
              description: 'Cross-origin requests from browsers.',
              properties: {
                origins: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'Browser origins allowed to call the API (`"*"` for any); empty: CORS off.' },
              },
            },
            endpoints: {
              type: 'object',
              additionalProperties: false,
              default: {},
              description: 'Which OpenAI-compatible endpoints are served.',
              properties: {
                chatCompletions: {
                  type: 'object',
                  additionalProperties: false,
                  default: {},
                  description: 'The chat completions endpoint (off by default: a fresh gateway serves no agent until it is enabled).',
                  properties: { enabled: { type: 'boolean', default: false, description: 'Serve `POST /v1/chat/completions`. `/v1/models` is served while this or `responses` is on.' } },
                },
                responses: {
                  type: 'object',
                  additionalProperties: false,
                  default: {},
                  description: 'The Responses API (off by default).',
                  properties: {
                    enabled: {
                      type: 'boolean',
                      default: false,
                      description: 'Serve the Responses API: `POST /v1/responses`, `GET`/`DELETE /v1/responses/{id}`, `…/input_items`, `…/cancel`. `/v1/models` is served while this or `chatCompletions` is on.',
                    },
                  },
                },
              },
            },
          },
        },
        ws: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'The WebSocket at `/ws` on the same port.',
          properties: {
            maxPayloadBytes: { ...positiveInt, default: 1024 * 1024, description: 'Largest WebSocket frame.' },
            heartbeatIntervalMs: { ...positiveInt, default: 30_000, description: 'Ping interval; a peer that misses one is disconnected.' },
          },
        },
        metrics: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Prometheus metrics at `GET /metrics`.',
          properties: {
            enabled: { type: 'boolean', default: false, description: 'Serve Prometheus metrics at `GET /metrics`.' },
            loopbackOnly: { type: 'boolean', default: true, description: 'Only loopback clients get `/metrics`.' },
          },
        },
      },
    },
    models: modelsSchema,
    agents: agentsSchema,
    mcp: mcpSchema,
    sessions: sessionsSchema,
  },
} as const;
