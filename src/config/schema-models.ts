// `models` in the config schema (src/config/schema.ts): the upstream providers and how each is called.
import { nonNegativeInt, positiveInt } from './schema-integers.ts';

export const modelsSchema = {
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
} as const;
