// What the tool side shares: the tools it offers, the state of its servers, and how a call fails.

export type ToolServerState = 'connecting' | 'ready' | 'failed' | 'closed';

/** One tool of a connected server, as models are offered it. */
export interface ServerTool {
  /** The function name the model sees: `<server>__<tool>`. */
  readonly name: string;
  readonly server: string;
  /** The tool's own name on its server. */
  readonly tool: string;
  readonly description?: string;
  readonly inputSchema: Record<string, unknown>;
}

export interface ToolServerStatus {
  name: string;
  transport: 'stdio' | 'http';
  state: ToolServerState;
  /** Function names of the tools offered from this server. */
  tools: string[];
  /** Why the last connection attempt failed or the server went away. */
  error?: string;
  /** Tools this server lists that cannot be offered (a name too long, two tools one name). */
  problems: string[];
  /** Times the server was started again after it went away. */
  restarts: number;
}

export interface ToolCallOptions {
  signal: AbortSignal;
  timeoutMs: number;
}

/** The MCP `tools/call` result as the SDK returns it. */
export interface McpToolResult {
  content?: unknown;
  structuredContent?: unknown;
  isError?: boolean;
}

/** Why a tool call got no result from its server. */
export class ToolCallError extends Error {
  readonly kind: 'unavailable' | 'timeout' | 'cancelled' | 'failed';
  constructor(kind: ToolCallError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolCallError';
    this.kind = kind;
  }
}
