// The config file's JSON Schema: the one place that says what each key is, what it defaults to
// and what it means. Validation (ajv, compiled ahead of time with `useDefaults`), the TypeScript
// types (src/config/types.ts, derived from this object) and the configuration reference
// (docs/configuration.md, generated) all come from it. Unknown keys are errors everywhere: a typo
// must never be silently ignored. `x-expect` is the wording of an error for a value that fails a
// pattern, in the operator's terms.

import { DURATION_EXPECT, DURATION_PATTERN } from './duration.ts';

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;
const modelRef = {
  type: 'string',
  pattern: '^[^/\\s]+/\\S+$',
  'x-expect': 'must be "<provider>/<model>"',
} as const;
const modelChoice = {
  description: 'A model as `"<provider>/<model>"`, or `{ primary, fallbacks }` to try other models in order when the primary fails.',
  oneOf: [
    modelRef,
    {
      type: 'object',
      additionalProperties: false,
      required: ['primary'],
      properties: { primary: modelRef, fallbacks: { type: 'array', items: modelRef } },
    },
  ],
} as const;
const toolPolicy = {
  type: 'object',
  additionalProperties: false,
  description:
    'Which MCP server tools (named `<server>__<tool>`) the agent may use: glob patterns (`*` any run of characters, `?` one), e.g. `"notes__*"`. Deny by default: a tool is offered only when an `allow` pattern matches it and no `deny` pattern does. An agent\'s own `allow` replaces the defaults\' `allow`; the defaults\' `deny` always applies besides the agent\'s own.',
  properties: {
    allow: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Patterns of the tools the agent may use.' },
    deny: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Patterns of tools the agent may never use; wins over `allow`.' },
  },
} as const;
const maxToolSteps = { type: 'integer', minimum: 1, maximum: 100, description: 'Most model calls that may run server tools in one run; then one last call without them asks for the answer.' } as const;
const toolTimeoutSeconds = { type: 'number', exclusiveMinimum: 0, description: 'Longest one server tool call may take; then it is cancelled and the model is told it timed out.' } as const;
const maxToolResultBytes = { type: 'integer', minimum: 256, description: 'Largest tool result (UTF-8 bytes of text, bytes of images) given to the model; more is cut, with a marker saying so.' } as const;
const mcpServerName = {
  pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*(?<!_)$',
  maxLength: 48,
  'x-expect': 'must be an MCP server name (letters, digits, `-`, single `_` not at either end; at most 48 characters)',
} as const;
const imagesPolicy = {
  type: 'object',
  additionalProperties: false,
  description: 'Which images a message may carry.',
  properties: {
    allowUrl: { type: 'boolean', description: 'Accept remote `http(s)` image URLs in messages (otherwise only `data:` URIs).' },
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    $schema: { type: 'string', description: 'Ignored; lets editors find a schema.' },
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
    models: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        providers: {
          type: 'object',
          default: {},
          description: 'Model providers by name; a model is then named `"<provider>/<model>"`. `echo` is built in.',
          propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', 'x-expect': 'must be a provider name (letters, digits, `_`, `.`, `-`)' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['api'],
            description: 'One provider.',
            properties: {
              api: { enum: ['openai-completions', 'echo'], description: '`openai-completions`: any upstream speaking the OpenAI Chat Completions protocol; `echo`: the offline test provider.' },
              baseUrl: {
                type: 'string',
                pattern: '^https?://',
                'x-expect': 'must be an http:// or https:// URL',
                description: 'The API root, including `/v1` for most servers (`http://127.0.0.1:11434/v1` for Ollama).',
              },
              apiKey: { type: 'string', description: 'Sent as `Authorization: Bearer`; use `${ENV_VAR}` rather than the key itself.' },
              headers: { type: 'object', additionalProperties: { type: 'string' }, default: {}, description: 'Extra headers on every upstream request.' },
              timeoutMs: { ...positiveInt, default: 600_000, description: 'Upstream headers and body timeout.' },
              maxRetries: { ...nonNegativeInt, default: 2, description: 'Retries of a failed call (5xx, network) before the next fallback model.' },
              retryBaseDelayMs: { ...nonNegativeInt, default: 250, description: 'First retry delay; each further retry doubles it (with jitter).' },
              models: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'When listed, the only models `x-openclaw-model` may name on this provider.' },
              extraBody: {
                oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string', minLength: 1 } }],
                default: false,
                description:
                  "Request fields beyond OpenAI's Chat Completions that this provider accepts (a server's own, such as vLLM's or llama.cpp's `top_k`, `min_p`, `repetition_penalty`, `chat_template_kwargs`): `true` for any, or their names. A client field beyond OpenAI's is forwarded when every provider the run may call accepts it, and otherwise refused (400 `unsupported_parameter`).",
              },
              replayReasoning: {
                enum: [false, true, 'reasoning_content', 'reasoning'],
                default: false,
                description:
                  'Send the reasoning stored with earlier assistant turns back to this provider: `true` under the field it arrived in, `reasoning_content` or `reasoning` always under that one. Off by default, as most reasoning models ask.',
              },
            },
          },
        },
      },
    },
    agents: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        defaults: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Settings every agent inherits unless it sets its own.',
          properties: {
            model: { ...modelChoice, default: 'echo/echo' },
            timeoutSeconds: { ...positiveInt, default: 600, description: 'Longest a run may take (including waiting for its session); then 504.' },
            systemPrompt: { type: 'string', description: 'Prepended to every prompt as a system message.' },
            images: { ...imagesPolicy, default: {}, properties: { allowUrl: { ...imagesPolicy.properties.allowUrl, default: false } } },
            forwardUser: {
              type: 'boolean',
              default: false,
              description: "Forward the request's OpenAI `user` to the model (it identifies the end user to the provider). Off by default: `user` selects the session and stays with the gateway.",
            },
            tools: {
              ...toolPolicy,
              default: {},
              properties: { allow: { ...toolPolicy.properties.allow, default: [] }, deny: { ...toolPolicy.properties.deny, default: [] } },
            },
            maxToolSteps: { ...maxToolSteps, default: 8 },
            toolTimeoutSeconds: { ...toolTimeoutSeconds, default: 60 },
            maxToolResultBytes: { ...maxToolResultBytes, default: 64 * 1024 },
          },
        },
        list: {
          type: 'array',
          default: [{ id: 'main' }],
          description: 'The agents. The default agent is the one marked `default: true`, else `main`, else the only one.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id'],
            properties: {
              id: {
                type: 'string',
                pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
                'x-expect': 'must match [a-z0-9][a-z0-9_-]{0,63}',
                description: 'The agent id clients name as `openclaw/<id>`; unique.',
              },
              default: { type: 'boolean', description: 'This is the default agent.' },
              name: { type: 'string', description: 'Display name.' },
              model: { ...modelChoice, description: `${modelChoice.description} Default: \`agents.defaults.model\`.` },
              systemPrompt: { type: 'string', description: 'Prepended to every prompt as a system message. Default: `agents.defaults.systemPrompt`.' },
              timeoutSeconds: { ...positiveInt, description: 'Longest a run may take (including waiting for its session); then 504. Default: `agents.defaults.timeoutSeconds`.' },
              images: { ...imagesPolicy, description: 'Which images a message may carry. Default: `agents.defaults.images`.' },
              forwardUser: { type: 'boolean', description: 'Send the request\'s `user` to the upstream for this agent. Default: `agents.defaults.forwardUser`.' },
              tools: toolPolicy,
              maxToolSteps,
              toolTimeoutSeconds,
              maxToolResultBytes,
            },
          },
        },
      },
    },
    mcp: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Tool servers the gateway connects to over the Model Context Protocol; agents use their tools as `tools` policy allows.',
      properties: {
        servers: {
          type: 'object',
          default: {},
          description:
            'MCP servers by name. Connected at start (one that fails is logged and retried with backoff; the gateway starts anyway), restarted when they exit, closed at shutdown. A reload restarts only the servers whose entry changed.',
          propertyNames: mcpServerName,
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            description: 'Either `command` (a child process speaking MCP on its stdin/stdout) or `url` (streamable HTTP).',
            properties: {
              command: { type: 'string', minLength: 1, description: 'stdio: the program (looked up on `PATH`).' },
              args: { type: 'array', items: { type: 'string' }, description: 'stdio: its arguments.' },
              env: {
                type: 'object',
                additionalProperties: { type: 'string' },
                description: "stdio: the child's whole environment, besides `PATH` (the gateway's, unless set here): nothing else of the gateway's environment is passed on. Use `${NAME}` to hand over a variable.",
              },
              cwd: { type: 'string', minLength: 1, description: "stdio: working directory (default: the gateway's)." },
              url: { type: 'string', pattern: '^https?://', 'x-expect': 'must be an http:// or https:// URL', description: 'streamable HTTP: the MCP endpoint.' },
              headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'streamable HTTP: sent with every request (`Authorization: "Bearer ${TOKEN}"`).' },
            },
          },
        },
      },
    },
    sessions: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxHistoryMessages: { ...positiveInt, default: 200, description: 'How many stored messages (the most recent) a run replays to the model.' },
        lockLeaseMs: {
          type: 'integer',
          minimum: 1000,
          default: 30_000,
          description: 'Session lock lease: runs on one session are serialized across processes, and a killed holder blocks its session at most this long.',
        },
        durability: {
          enum: ['normal', 'full'],
          default: 'normal',
          description:
            'What a committed turn survives. Either way a crash of the gateway process loses nothing committed and the store is never left corrupt. SQLite: `normal` (WAL, `synchronous = NORMAL`): an OS crash or power loss can lose the last turns committed before it; `full` (`synchronous = FULL`): those survive too, at the cost of an fsync per commit. PostgreSQL: `normal` keeps the database\'s own `synchronous_commit`; `full` sets it `on` for the store\'s connections. See the operations guide. Applies at the next restart.',
        },
        store: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Where transcripts live. Applies at the next restart.',
          properties: {
            driver: {
              enum: ['sqlite', 'postgres'],
              default: 'sqlite',
              description: '`sqlite`: a file under the state dir, nothing to install (one machine). `postgres`: one database shared by every replica behind a load balancer.',
            },
            url: {
              type: 'string',
              minLength: 1,
              description: 'PostgreSQL URL (`postgres://user:password@host:5432/database`); required with driver `postgres`. `"${DATABASE_URL}"` reads it from the environment.',
            },
            poolSize: { ...positiveInt, default: 10, description: 'Most PostgreSQL connections one gateway process opens.' },
          },
        },
        retention: {
          type: 'string',
          pattern: DURATION_PATTERN,
          'x-expect': DURATION_EXPECT,
          description:
            'Delete sessions (and their stored responses) not updated for this long, e.g. `"30d"`: the gateway prunes at start, when this setting changes, and hourly. Unset: sessions are kept until deleted (`openclaw sessions prune`).',
        },
      },
    },
  },
} as const;
