import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { McpServerConfig } from '../config/types.ts';
import { ToolServer, type ManagerDeps } from './tool-server.ts';
import { ToolCallError, type McpToolResult, type ServerTool, type ToolCallOptions, type ToolServerStatus } from './types.ts';

export { ToolCallError, type McpToolResult, type ServerTool, type ToolCallOptions, type ToolServerState, type ToolServerStatus } from './types.ts';

/** What the run core needs from the tool side: the tools there are, and a way to call one. */
export interface ToolSource {
  /** Every tool of every ready server, by function name. Cached: never lists anything itself. */
  catalogue(): ReadonlyMap<string, ServerTool>;
  /** The tool's arguments checked against its input schema: an error message, or undefined when they fit. */
  checkArguments(tool: ServerTool, args: unknown): string | undefined;
  call(tool: ServerTool, args: Record<string, unknown>, options: ToolCallOptions): Promise<McpToolResult>;
}

/**
 * The MCP servers of the gateway, kept across config generations: connected at start, restarted
 * with backoff when they fail or exit, their tool lists cached (refreshed on
 * `notifications/tools/list_changed`), and closed at shutdown. `apply` takes a new config's
 * `mcp.servers` and touches only the entries that changed.
 */
export class ToolManager implements ToolSource {
  private readonly servers = new Map<string, ToolServer>();
  private readonly deps: ManagerDeps;
  private cached: ReadonlyMap<string, ServerTool> | undefined;
  private validators = new WeakMap<ServerTool, ValidateFunction | null>();
  private ajv: { compile(schema: object): ValidateFunction } | undefined;
  private closed = false;
  private readonly onProcessExit = () => {
    for (const server of this.servers.values()) server.killNow();
  };
  private exitHooked = false;

  constructor(deps: ManagerDeps) {
    this.deps = deps;
  }

  /** Starts, restarts and stops servers so that they match `servers`; unchanged entries are left running. */
  apply(servers: Record<string, McpServerConfig>): void {
    if (this.closed) return;
    for (const [name, server] of this.servers) {
      const next = servers[name];
      if (next !== undefined && JSON.stringify(next) === server.configKey) continue;
      this.servers.delete(name);
      this.deps.logger.info({ event: 'mcp.server_stopping', server: name, reason: next === undefined ? 'removed' : 'changed' }, `MCP server ${name} ${next === undefined ? 'removed' : 'changed'}; stopping it`);
      void server.close();
    }
    for (const [name, config] of Object.entries(servers)) {
      if (this.servers.has(name)) continue;
      const server = new ToolServer(name, config, this.deps, () => (this.cached = undefined));
      this.servers.set(name, server);
      server.start();
    }
    this.cached = undefined;
    // Stdio children must not outlive the gateway even when it exits without closing them.
    if (!this.exitHooked && this.servers.size > 0) {
      this.exitHooked = true;
      process.on('exit', this.onProcessExit);
    }
  }

  catalogue(): ReadonlyMap<string, ServerTool> {
    if (this.cached) return this.cached;
    const all = new Map<string, ServerTool>();
    for (const server of this.servers.values()) for (const tool of server.tools) all.set(tool.name, tool);
    this.cached = all;
    return all;
  }

  status(): ToolServerStatus[] {
    return [...this.servers.values()].map((server) => server.status());
  }

  /** Resolves once every server has either connected or failed its first attempt (or after `timeoutMs`). */
  async settled(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.servers.values()].map((server) => server.firstAttempt)), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  checkArguments(tool: ServerTool, args: unknown): string | undefined {
    let validate = this.validators.get(tool);
    if (validate === undefined) {
      validate = this.compile(tool);
      this.validators.set(tool, validate);
    }
    if (validate === null || validate(args)) return undefined;
    return (validate.errors ?? []).map((error) => `${error.instancePath || '(arguments)'} ${error.message ?? 'is invalid'}`).join('; ');
  }

  call(tool: ServerTool, args: Record<string, unknown>, options: ToolCallOptions): Promise<McpToolResult> {
    const server = this.servers.get(tool.server);
    if (!server) return Promise.reject(new ToolCallError('unavailable', `MCP server ${tool.server} is no longer configured.`));
    return server.call(tool.tool, args, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    const servers = [...this.servers.values()];
    this.servers.clear();
    this.cached = undefined;
    await Promise.all(servers.map((server) => server.close()));
    if (this.exitHooked) process.off('exit', this.onProcessExit);
  }

  private compile(tool: ServerTool): ValidateFunction | null {
    try {
      if (!this.ajv) {
        // Loaded on first use: gateways without tool servers never pay for a second ajv.
        const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
        // Servers write draft-07 and 2020-12 alike, with formats of their own: the shape is what is checked.
        this.ajv = new Ajv2020({ strict: false, validateSchema: false, validateFormats: false, allErrors: false });
      }
      return this.ajv.compile(tool.inputSchema);
    } catch (error) {
      this.deps.logger.warn({ event: 'mcp.schema_unusable', server: tool.server, tool: tool.tool, reason: (error as Error).message }, 'a tool input schema could not be compiled; its arguments are not checked');
      return null;
    }
  }
}
