import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const STDERR_TAIL_BYTES = 4096;
const SETPRIV = '/usr/bin/setpriv';

export interface StdioServerParams {
  command: string;
  args: string[];
  /** The child's whole environment (the caller decides what goes in; nothing is inherited here). */
  env: Record<string, string>;
  cwd?: string;
}

/**
 * The stdio side of MCP for a child the gateway owns. Unlike the SDK's own stdio transport, which
 * adds some of the parent's variables to the child's environment, the child gets exactly `env`,
 * and it is made so that it cannot outlive the gateway:
 *  - it runs in a process group of its own, closed as a group (its own children with it);
 *  - on Linux it is started through setpriv with a parent-death signal, so even a gateway killed
 *    with SIGKILL takes it down (elsewhere the end of its stdin is the signal, as MCP specifies);
 *  - `killNow()` is what the gateway's exit hook calls, synchronously.
 * The last few KiB of its stderr are kept for the log when it fails.
 */
export class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  // The SDK's framing (and the zod schemas it validates with, several MB of heap) loads with the
  // first server started, not with every gateway: most run without MCP servers.
  private buffer: ReadBuffer | undefined;
  private serialize: ((message: JSONRPCMessage) => string) | undefined;
  private stderr = '';
  private exited = false;
  private readonly params: StdioServerParams;

  constructor(params: StdioServerParams) {
    this.params = params;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The end of what the child wrote to stderr (at most 4 KiB). */
  stderrTail(): string {
    return this.stderr;
  }

  async start(): Promise<void> {
    const { ReadBuffer, serializeMessage } = await import('@modelcontextprotocol/sdk/shared/stdio.js');
    const buffer = new ReadBuffer();
    this.buffer = buffer;
    this.serialize = serializeMessage;
    const { command, args, env, cwd } = this.params;
    const [file, argv] = process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', command, ...args]] : [command, args];
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
      this.child = child;
      child.once('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.once('spawn', () => resolve());
      child.once('close', () => {
        this.exited = true;
        this.onclose?.();
      });
      child.stdin!.on('error', (error) => this.onerror?.(error));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer.append(chunk);
        for (;;) {
          let message: JSONRPCMessage | null;
          try {
            message = buffer.readMessage();
          } catch (error) {
            this.onerror?.(error as Error);
            continue;
          }
          if (message === null) break;
          this.onmessage?.(message);
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || !this.serialize || this.exited || stdin.destroyed) return reject(new Error('the server process is not running'));
      if (stdin.write(this.serialize(message))) resolve();
      else stdin.once('drain', () => resolve());
    });
  }

  /** Closes stdin (MCP's way of asking a stdio server to stop), then SIGTERM, then SIGKILL, to the whole group. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const within = (ms: number) => Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref())]);
    child.stdin?.end();
    if (await within(2_000)) return;
    this.signalGroup('SIGTERM');
    if (await within(2_000)) return;
    this.signalGroup('SIGKILL');
    await within(1_000);
  }

  /** Synchronous, for process exit: the group gets SIGTERM and nothing is awaited. */
  killNow(): void {
    if (!this.exited) this.signalGroup('SIGTERM');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child?.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}
