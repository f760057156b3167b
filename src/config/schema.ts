// JSON Schema of the config file as an operator writes it (before defaults). Unknown keys are
// errors everywhere: a typo must never be silently ignored.

const positiveInt = { type: 'integer', minimum: 1 } as const;
const nonNegativeInt = { type: 'integer', minimum: 0 } as const;
const modelRef = { type: 'string', pattern: '^[^/\\s]+/\\S+$' } as const;
const modelChoice = {
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
const images = {
  type: 'object',
  additionalProperties: false,
  properties: { allowUrl: { type: 'boolean' } },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    gateway: {
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        bind: { type: 'string', minLength: 1 },
        trustProxy: { type: 'boolean' },
        auth: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mode: { enum: ['token', 'password', 'none'] },
            token: { type: 'string', minLength: 1 },
            password: { type: 'string', minLength: 1 },
            rateLimit: {
              type: 'object',
              additionalProperties: false,
              properties: {
                enabled: { type: 'boolean' },
                maxAttempts: positiveInt,
                windowMs: positiveInt,
                lockoutMs: positiveInt,
                exemptLoopback: { type: 'boolean' },
              },
            },
          },
        },
        http: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxBodyBytes: positiveInt,
            keepAliveIntervalMs: positiveInt,
            headersTimeoutMs: positiveInt,
            requestTimeoutMs: nonNegativeInt,
            shutdownGraceMs: nonNegativeInt,
            cors: {
              type: 'object',
              additionalProperties: false,
              properties: { origins: { type: 'array', items: { type: 'string', minLength: 1 } } },
            },
            endpoints: {
              type: 'object',
              additionalProperties: false,
              properties: {
                chatCompletions: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { enabled: { type: 'boolean' } },
                },
              },
            },
          },
        },
        ws: {
          type: 'object',
          additionalProperties: false,
          properties: { maxPayloadBytes: positiveInt, heartbeatIntervalMs: positiveInt },
        },
        metrics: {
          type: 'object',
          additionalProperties: false,
          properties: { enabled: { type: 'boolean' }, loopbackOnly: { type: 'boolean' } },
        },
      },
    },
    models: {
      type: 'object',
      additionalProperties: false,
      properties: {
        providers: {
          type: 'object',
          propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['api'],
            properties: {
              api: { enum: ['openai-completions', 'echo'] },
              baseUrl: { type: 'string', pattern: '^https?://' },
              apiKey: { type: 'string' },
              headers: { type: 'object', additionalProperties: { type: 'string' } },
              timeoutMs: positiveInt,
              maxRetries: nonNegativeInt,
              retryBaseDelayMs: nonNegativeInt,
              models: { type: 'array', items: { type: 'string', minLength: 1 } },
            },
          },
        },
      },
    },
    agents: {
      type: 'object',
      additionalProperties: false,
      properties: {
        defaults: {
          type: 'object',
          additionalProperties: false,
          properties: {
            model: modelChoice,
            timeoutSeconds: positiveInt,
            systemPrompt: { type: 'string' },
            images,
          },
        },
        list: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['id'],
            properties: {
              id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
              default: { type: 'boolean' },
              name: { type: 'string' },
              model: modelChoice,
              systemPrompt: { type: 'string' },
              timeoutSeconds: positiveInt,
              images,
            },
          },
        },
      },
    },
    sessions: {
      type: 'object',
      additionalProperties: false,
      properties: { maxHistoryMessages: positiveInt },
    },
  },
} as const;
