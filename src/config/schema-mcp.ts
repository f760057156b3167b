// `mcp` in the config schema (src/config/schema.ts): the tool servers the gateway connects to.

const mcpServerName = {
  pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*(?<!_)$',
  maxLength: 48,
  'x-expect': 'must be an MCP server name (letters, digits, `-`, single `_` not at either end; at most 48 characters)',
} as const;

export const mcpSchema = {
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
} as const;
