// One configured MCP server: its connection (stdio child or streamable HTTP), restarted with
// backoff, and its cached tools.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from 'pino';
import type { McpServerConfig } from '../config/types.ts';
import { FUNCTION_NAME, serverToolName } from './names.ts';
import { ChildStdioTransport } from './stdio-transport.ts';
import { ToolCallError, type McpToolResult, type ServerTool, type ToolCallOptions, type ToolServerState, type ToolServerStatus } from './types.ts';


const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 30_000;
/** A server that stayed up this long starts its backoff from the beginning when it goes away. */
const STABLE_AFTER_MS = 10_000;
const CONNECT_TIMEOUT_MS = 20_000;
const LIST_TIMEOUT_MS = 20_000;

export interface ManagerDeps {
  logger: Logger;
  /** The gateway's environment: only `PATH` is passed on to stdio servers (unless their `env` sets it). */
  env: Record<string, string | undefined>;
  clientName?: string;
}


type SdkErrors = Pick<typeof import('@modelcontextprotocol/sdk/types.js'), 'McpError' | 'ErrorCode'>;

/** One configured server: its connection, restarted with backoff, and its cached tools. */
export class ToolServer {
  readonly name: string;
  readonly configKey: string;
  tools: ServerTool[] = [];
  /** Settles when the first connection attempt has succeeded or failed. */
  readonly firstAttempt: Promise<void>;

  private readonly config: McpServerConfig;
  private readonly deps: ManagerDeps;
  private readonly changed: () => void;
  private state: ToolServerState = 'connecting';
  private client: Client | undefined;
  private transport: Transport | undefined;
  private error: string | undefined;
  private problems: string[] = [];
  private attempts = 0;
  private restarts = 0;
  private connectedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private markFirstAttempt!: () => void;
  /** The SDK's error class and codes, loaded with its client (a call does not await an import for them). */
  private sdk: SdkErrors | undefined;

  constructor(name: string, config: McpServerConfig, deps: ManagerDeps, changed: () => void) {
    this.name = name;
    this.config = config;
    this.configKey = JSON.stringify(config);
    this.deps = deps;
    this.changed = changed;
    this.firstAttempt = new Promise((resolve) => (this.markFirstAttempt = resolve));
  }

  get kind(): 'stdio' | 'http' {
    return this.config.command !== undefined ? 'stdio' : 'http';
  }

  start(): void {
    void this.connect();
  }

  status(): ToolServerStatus {
    const status: ToolServerStatus = { name: this.name, transport: this.kind, state: this.state, tools: this.tools.map((tool) => tool.name), problems: [...this.problems], restarts: this.restarts };
    if (this.error !== undefined) status.error = this.error;
    return status;
  }

  async call(tool: string, args: Record<string, unknown>, options: ToolCallOptions): Promise<McpToolResult> {
    const client = this.client;
    if (this.state !== 'ready' || !client) {
      throw new ToolCallError('unavailable', `MCP server ${this.name} is not available (${this.state}${this.error ? `: ${this.error}` : ''}).`);
    }
    const { McpError, ErrorCode } = this.sdk!;
    // The SDK sends notifications/cancelled to the server when the signal it is given fires or the
    // timeout passes, and it never takes its listener off that signal: given the run's own, the end
    // of the run (which aborts it) would cancel every call the run had made, long answered, one
    // message each to the server. It gets a signal of this call's own, which follows the run's
    // only while the call is out.
    const own = new AbortController();
    const follow = () => own.abort(options.signal.reason);
    if (options.signal.aborted) follow();
    else options.signal.addEventListener('abort', follow, { once: true });
    try {
      return (await client.callTool({ name: tool, arguments: args }, undefined, { signal: own.signal, timeout: options.timeoutMs })) as McpToolResult;
    } catch (error) {
      if (options.signal.aborted) throw new ToolCallError('cancelled', 'The call was cancelled.', { cause: error });
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        throw new ToolCallError('timeout', `The tool did not answer within ${options.timeoutMs / 1000} s (toolTimeoutSeconds).`, { cause: error });
      }
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
        throw new ToolCallError('unavailable', `MCP server ${this.name} went away during the call.`, { cause: error });
      }
      // Over HTTP a lost server shows only as a request that failed below MCP (a refused
      // connection, an unknown session after its restart): connect again, as for an exited child.
      if (this.kind === 'http' && !(error instanceof McpError)) this.wentAway(client);
      throw new ToolCallError('failed', error instanceof McpError ? error.message : `MCP server ${this.name} failed the call: ${(error as Error).message}`, { cause: error });
    } finally {
      options.signal.removeEventListener('abort', follow);
    }
  }

  killNow(): void {
    if (this.transport instanceof ChildStdioTransport) this.transport.killNow();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.state = 'closed';
    this.setTools([]);
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
    if (!client) await this.transport?.close().catch(() => undefined);
    this.markFirstAttempt();
  }

  private async connect(): Promise<void> {
    if (this.closing) return;
    this.state = 'connecting';
    let loaded: [typeof import('@modelcontextprotocol/sdk/client/index.js'), Transport, SdkErrors];
    try {
      loaded = await Promise.all([import('@modelcontextprotocol/sdk/client/index.js'), this.makeTransport(), import('@modelcontextprotocol/sdk/types.js')]);
    } catch (error) {
      // The SDK (loaded on first use) or the transport could not be had: a failed attempt like any
      // other, logged and retried with backoff, never an unhandled rejection.
      this.failed(error, undefined);
      this.markFirstAttempt();
      return;
    }
    const [{ Client }, transport, sdk] = loaded;
    this.sdk = sdk;
    if (this.closing) return;
    const client = new Client(
      { name: this.deps.clientName ?? 'openclaw-gateway', version: '0.1.0' },
      { capabilities: {}, listChanged: { tools: { autoRefresh: false, debounceMs: 50, onChanged: () => void this.refreshTools(client) } } },
    );
    this.transport = transport;
    let connected = false;
    client.onclose = () => {
      if (connected) this.wentAway(client);
    };
    // What a stdio server wrote that is not a message (a line that is not JSON, one past the size
    // limit, an answer to no request): dropped, and said so here rather than nowhere.
    if (transport instanceof ChildStdioTransport) {
      client.onerror = (error) => this.deps.logger.warn({ event: 'mcp.protocol_error', server: this.name, reason: error.message }, `MCP server ${this.name}: ${error.message}`);
    }
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      connected = true;
      const tools = await this.listTools(client);
      if (this.closing) {
        await client.close().catch(() => undefined);
        return;
      }
      this.client = client;
      this.connectedAt = Date.now();
      this.state = 'ready';
      this.error = undefined;
      this.setTools(tools);
      this.deps.logger.info({ event: 'mcp.server_ready', server: this.name, tools: tools.length, pid: transport instanceof ChildStdioTransport ? transport.pid : undefined }, `MCP server ${this.name} ready with ${tools.length} tools`);
    } catch (error) {
      const stderr = transport instanceof ChildStdioTransport ? transport.stderrTail().trim() : undefined;
      client.onclose = undefined;
      await client.close().catch(() => undefined);
      this.failed(error, stderr);
    } finally {
      this.markFirstAttempt();
    }
  }

  private async makeTransport(): Promise<Transport> {
    const config = this.config;
    if (config.command !== undefined) {
      const path = this.deps.env.PATH ?? process.env.PATH;
      const env: Record<string, string> = { ...(path !== undefined ? { PATH: path } : {}), ...(config.env ?? {}) };
      return new ChildStdioTransport({ command: config.command, args: [...(config.args ?? [])], env, cwd: config.cwd });
    }
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    return new StreamableHTTPClientTransport(new URL(config.url!), { requestInit: { headers: { ...(config.headers ?? {}) } } });
  }

  private async listTools(client: Client): Promise<ServerTool[]> {
    const listed: Array<{ name: string; description?: string; inputSchema: Record<string, unknown> }> = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: LIST_TIMEOUT_MS });
      listed.push(...(page.tools as typeof listed));
      cursor = page.nextCursor;
    } while (cursor);
    const problems: string[] = [];
    const byName = new Map<string, ServerTool>();
    const clashing = new Set<string>();
    for (const tool of listed) {
      const name = serverToolName(this.name, tool.name);
      if (!FUNCTION_NAME.test(name)) {
        problems.push(`tool "${tool.name}" is offered as "${name}", longer than the 64 characters a function name may have; it is not offered`);
        continue;
      }
      const other = byName.get(name);
      if (other) {
        problems.push(`tools "${other.tool}" and "${tool.name}" would both be offered as "${name}"; neither is offered`);
        clashing.add(name);
        continue;
      }
      byName.set(name, { name, server: this.name, tool: tool.name, description: tool.description, inputSchema: tool.inputSchema ?? { type: 'object' } });
    }
    for (const name of clashing) byName.delete(name);
    this.problems = problems;
    for (const problem of problems) this.deps.logger.error({ event: 'mcp.tool_refused', server: this.name, problem }, `MCP server ${this.name}: ${problem}`);
    return [...byName.values()];
  }

  private async refreshTools(client: Client): Promise<void> {
    if (client !== this.client || this.closing) return;
    try {
      const tools = await this.listTools(client);
      if (client !== this.client) return;
      this.setTools(tools);
      this.deps.logger.info({ event: 'mcp.tools_changed', server: this.name, tools: tools.length }, `MCP server ${this.name} changed its tools`);
    } catch (error) {
      this.deps.logger.warn({ event: 'mcp.tools_refresh_failed', server: this.name, reason: (error as Error).message }, 'could not refresh a tool list; keeping the previous one');
    }
  }

  private setTools(tools: ServerTool[]): void {
    this.tools = tools;
    this.changed();
  }

  private wentAway(client: Client): void {
    if (this.closing || client !== this.client) return;
    const stderr = this.transport instanceof ChildStdioTransport ? this.transport.stderrTail().trim() : undefined;
    this.client = undefined;
    client.onclose = undefined;
    void client.close().catch(() => undefined);
    this.setTools([]);
    if (Date.now() - this.connectedAt >= STABLE_AFTER_MS) this.attempts = 0;
    this.restarts++;
    this.failed(new Error(this.kind === 'stdio' ? 'the server process exited' : 'the connection closed'), stderr);
  }

  private failed(error: unknown, stderr: string | undefined): void {
    if (this.closing) return;
    this.state = 'failed';
    this.error = (error as Error)?.message ?? String(error);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** this.attempts) * (0.75 + Math.random() / 2);
    this.attempts++;
    this.deps.logger.error(
      { event: 'mcp.server_failed', server: this.name, reason: this.error, stderr: stderr || undefined, attempt: this.attempts, retryInMs: Math.round(delay) },
      `MCP server ${this.name} failed (${this.error}); retrying in ${Math.round(delay)} ms`,
    );
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
