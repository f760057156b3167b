// `agents` in the config schema (src/config/schema.ts). The shapes below serve `agents.defaults`
// and every entry of `agents.list`, and get their defaults only under `agents.defaults`: an agent
// that leaves a key out inherits it instead of taking a default of its own.
import { positiveInt } from './schema-integers.ts';

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
const imagesPolicy = {
  type: 'object',
  additionalProperties: false,
  description: 'Which images a message may carry.',
  properties: {
    allowUrl: { type: 'boolean', description: 'Accept remote `http(s)` image URLs in messages (otherwise only `data:` URIs).' },
  },
} as const;

export const agentsSchema = {
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
} as const;
